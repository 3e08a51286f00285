import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";

/** "30s", "500ms", "2m", or plain seconds. */
function parseTimeout(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  const ms = m ? Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1000) : NaN;
  if (!(ms > 0)) throw new UsageError(`invalid argument "${v}" for "--stall-timeout" flag: use a duration such as 30s, 500ms or 2m`, "--stall-timeout");
  return ms;
}

export default command({
  name: "pull",
  usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
  summary: "Download an image from a registry",
  flags: {
    quiet: { kind: "bool", short: "q", help: "suppress verbose output" },
    platform: { kind: "string", help: "os/arch[/variant] to pick from a multi-platform image (default linux/amd64)" },
    "tls-verify": { kind: "bool", help: "use HTTPS (default; =false allows plain HTTP to this registry; loopback always may)" },
    "stall-timeout": { kind: "string", value: "duration", help: "resume a layer download that received nothing for this long (default 30s; 500ms, 2m)" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { pullImage } = await import("../registry.ts");
    await pullImage(e, ref!, {
      quiet: p.flags.quiet === true,
      ...(p.flags["tls-verify"] === false ? { tlsVerify: false } : {}),
      ...(p.flags.platform ? { platform: p.flags.platform as string } : {}),
      ...(p.flags["stall-timeout"] !== undefined ? { stallTimeoutMs: parseTimeout(p.flags["stall-timeout"] as string) } : {}),
    });
    return 0;
  },
});
