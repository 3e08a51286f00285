import { command, args } from "../command.ts";

export default command({
  name: "pull",
  usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
  summary: "Download an image from a registry",
  flags: {
    quiet: { kind: "bool", short: "q", help: "suppress verbose output" },
    platform: { kind: "string", help: "os/arch[/variant] to pick from a multi-platform image (default linux/amd64)" },
    "tls-verify": { kind: "bool", help: "use HTTPS (default; =false allows plain HTTP to this registry; loopback always may)" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { pullImage } = await import("../registry.ts");
    await pullImage(e, ref!, {
      quiet: p.flags.quiet === true,
      ...(p.flags["tls-verify"] === false ? { tlsVerify: false } : {}),
      ...(p.flags.platform ? { platform: p.flags.platform as string } : {}),
    });
    return 0;
  },
});
