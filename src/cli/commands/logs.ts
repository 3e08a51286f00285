import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { parseTimestamp } from "../../sys/duration.ts";
import { stderr, stdout } from "../stdio.ts";

export default command({
  name: "logs",
  usage: "[OPTIONS] CONTAINER",
  summary: "Fetch the logs of a container",
  flags: {
    follow: { kind: "bool", short: "f", help: "follow log output (until the container stops)" },
    tail: { kind: "string", short: "n", value: "n", help: "number of lines to show from the end of the logs (default \"all\")" },
    since: { kind: "string", help: "show logs since a timestamp (2026-12-02T10:00:00Z) or relative (42m)" },
    until: { kind: "string", help: "show logs before a timestamp or relative (42m)" },
    timestamps: { kind: "bool", short: "t", help: "show timestamps" },
    details: { kind: "bool", help: "accepted for docker compatibility (no extra attributes are logged)" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { getContainer } = await import("../../engine/containers.ts");
    const { readLogs } = await import("../../engine/logs.ts");
    const c = await getContainer(e, ref!);
    if (c.spec.log?.driver === "none") throw new UsageError(`configured logging driver does not support reading: ${c.name} logs with --log-driver none`, "container");
    const tail = p.flags.tail as string | undefined;
    if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) throw new UsageError(`invalid value for --tail: ${JSON.stringify(tail)} (a number or "all")`, "--tail");
    const now = Date.now();
    const since = p.flags.since !== undefined ? parseTimestamp(p.flags.since as string, "--since", now) : undefined;
    const until = p.flags.until !== undefined ? parseTimestamp(p.flags.until as string, "--until", now) : undefined;
    const stillRunning = async () => {
      try {
        const x = await getContainer(e, c.id);
        return x.state === "running" || x.state === "restarting" || x.state === "paused";
      } catch {
        return false;
      }
    };
    const ts = p.flags.timestamps === true;
    for await (const x of readLogs(e, c, {
      ...(tail !== undefined && tail !== "all" ? { tail: Number(tail) } : {}),
      ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}),
      follow: p.flags.follow === true && until === undefined,
    }, stillRunning)) {
      const line = ts ? `${x.time} ${x.text}` : x.text;
      (x.stream === "stderr" ? stderr : stdout).write(line);
    }
    return 0;
  },
});
