import { invalidArgument } from "../../sys/errdefs.ts";
import { command, containerId } from "./command.ts";

export default command("events", "container stats and OOM events as JSON lines", "<container-id>", {
  interval: { kind: "string", help: "time between stats events (default 5s)" },
  stats: { kind: "bool", help: "print the container's stats once and exit" },
}, async (p, g) => {
  const id = containerId(p, "events");
  const ops = await import("../../runtime/operations/events.ts");
  const { encodeJson } = await import("../../runtime/operations/stats-json.ts");
  const intervalMs = ops.parseGoDuration((p.flags.interval as string | undefined) ?? "5s");
  if (!(intervalMs > 0)) throw invalidArgument("duration interval must be greater than 0", "--interval");
  if (p.flags.stats) {
    console.log(encodeJson(ops.stats(g.root, id)));
    return 0;
  }
  for await (const e of ops.events(g.root, id, { intervalMs })) console.log(encodeJson(e));
  return 0;
});
