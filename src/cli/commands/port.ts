import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "port",
  usage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
  summary: "List port mappings or a specific mapping for the container",
  flags: {},
  async run(p, e) {
    const [ref, want] = args(p, this, 1, 2);
    const { getContainer } = await import("../../engine/containers.ts");
    const { networkView } = await import("../../engine/network.ts");
    const c = await getContainer(e, ref!);
    const ports = (c.state === "running" || c.state === "paused" ? (await networkView(e, c))?.ports : undefined) ?? [];
    const line = (p: (typeof ports)[number]) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}`;
    if (want !== undefined) {
      const [port, proto] = want.split("/");
      const hit = ports.filter((x) => String(x.containerPort) === port && x.protocol === (proto ?? "tcp"));
      if (!hit.length) throw new UsageError(`no public port '${want}' published for ${ref}`, "port");
      for (const h of hit) stdout.write(`${line(h)}\n`);
      return 0;
    }
    for (const x of ports) stdout.write(`${x.containerPort}/${x.protocol} -> ${line(x)}\n`);
    return 0;
  },
});
