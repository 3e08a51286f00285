import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { forEach } from "../each.ts";

export default command({
  name: "wait",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Block until one or more containers stop, then print their exit codes",
  flags: {
    condition: { kind: "string", help: "not-running (default), next-exit or removed" },
  },
  async run(p, e) {
    const cond = (p.flags.condition as string | undefined) ?? "not-running";
    if (cond !== "not-running" && cond !== "next-exit" && cond !== "removed") throw new UsageError(`--condition ${cond}: use not-running, next-exit or removed`, "--condition");
    const { waitContainer } = await import("../../engine/containers.ts");
    return forEach(args(p, this, 1, Infinity), async (ref) => String((await waitContainer(e, ref, cond)).exitCode));
  },
});
