import { command, args } from "../command.ts";
import { VERSION } from "../version.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "version",
  usage: "[OPTIONS]",
  summary: "Show the berth version information",
  flags: { format: { kind: "string", short: "f", help: "json, or a Go template such as {{.Client.Version}}" } },
  async run(p) {
    args(p, this, 0);
    const fmt = p.flags.format as string | undefined;
    const format = fmt ? (await import("../formatter.ts")).ValueFormat.parse(fmt, { name: "version" }) : undefined;
    // Server: nil, as docker's versionInfo when no daemon answers (berth is daemonless).
    const v = { Client: { Version: VERSION, ApiVersion: "1.47", Os: "linux", Arch: process.arch === "x64" ? "amd64" : process.arch, BunVersion: Bun.version, Daemonless: true }, Server: null };
    if (format) {
      // docker prints the template through a tabwriter (minwidth 20, padding 1), then a newline,
      // also after a failure.
      const { FormatError } = await import("../formatter.ts");
      const { tabwrite } = await import("../template/index.ts");
      try {
        stdout.write(tabwrite(`${format.render(v, { struct: "main.versionInfo" })}\n`, { minwidth: 20, padding: 1 }));
      } catch (err) {
        if (err instanceof FormatError) stdout.write(tabwrite(`${err.partial}\n`, { minwidth: 20, padding: 1 }));
        throw err;
      }
    } else stdout.write(`Client:\n Version:     ${VERSION}\n API version: ${v.Client.ApiVersion}\n Bun version: ${Bun.version}\n OS/Arch:     linux/${v.Client.Arch}\n Mode:        daemonless (engine in process)\n`);
    return 0;
  },
});
