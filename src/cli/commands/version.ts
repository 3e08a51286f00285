import { command, args } from "../command.ts";
import { VERSION } from "../version.ts";

export default command({
  name: "version",
  usage: "[OPTIONS]",
  summary: "Show the berth version information",
  flags: { format: { kind: "string", short: "f", help: "json" } },
  async run(p) {
    args(p, this, 0);
    const v = { Client: { Version: VERSION, ApiVersion: "1.47", Os: "linux", Arch: process.arch === "x64" ? "amd64" : process.arch, BunVersion: Bun.version, Daemonless: true } };
    if (p.flags.format === "json") process.stdout.write(`${JSON.stringify(v)}\n`);
    else process.stdout.write(`Client:\n Version:     ${VERSION}\n API version: ${v.Client.ApiVersion}\n Bun version: ${Bun.version}\n OS/Arch:     linux/${v.Client.Arch}\n Mode:        daemonless (engine in process)\n`);
    return 0;
  },
});
