import { command } from "../command.ts";
import { formatRows } from "../format.ts";
import { DEFAULT_STATS_FORMAT, STATS_HEADERS, statsRow, type StatsRow } from "../stats-view.ts";
import type { StatsSample } from "../../engine/stats.ts";
import type { Engine } from "../../engine/engine.ts";
import { nodeStdout, stdout } from "../stdio.ts";

/** docker's collector samples each container once a second. */
const INTERVAL_MS = 1000;

/** docker's statsContext output (cli/command/container/formatter_stats.go) over the Go template engine. */
function render(fmt: string, rows: StatsRow[]): string {
  return formatRows(fmt, rows as unknown as Record<string, unknown>[], { header: STATS_HEADERS, defaultTable: DEFAULT_STATS_FORMAT, typeName: "*container.statsContext" });
}

async function sample(e: Engine, refs: string[], all: boolean, stream: boolean): Promise<{ ref?: string; s: StatsSample }[]> {
  const { containerStats, statsOf } = await import("../../engine/stats.ts");
  if (refs.length === 0) return (await statsOf(e, [], { all })).map((s) => ({ s }));
  const out: { ref?: string; s: StatsSample }[] = [];
  for (const ref of refs) {
    try {
      out.push({ ref, s: await containerStats(e, ref) });
    } catch (err) {
      // A named container removed while streaming drops out of the table; a wrong name at the
      // first sample is the user's error.
      if (!stream) throw err;
    }
  }
  return out;
}

export default command({
  name: "stats",
  usage: "[OPTIONS] [CONTAINER...]",
  summary: "Display a live stream of container(s) resource usage statistics",
  flags: {
    all: { kind: "bool", short: "a", help: "show all containers (default shows just running)" },
    "no-stream": { kind: "bool", help: "disable streaming stats and only pull the first result" },
    "no-trunc": { kind: "bool", help: "do not truncate output" },
    format: { kind: "string", help: "\"json\", a template such as {{.CPUPerc}}, or \"table {{.ID}}\\t{{.MemUsage}}\"" },
  },
  async run(p, e) {
    const refs = p.rest;
    const all = p.flags.all === true;
    const noTrunc = p.flags["no-trunc"] === true;
    const stream = p.flags["no-stream"] !== true;
    const fmt = (p.flags.format as string | undefined) ?? DEFAULT_STATS_FORMAT;
    // A template that does not parse fails before the first sample.
    render(fmt, []);
    // Fail on a name that is not a container before waiting for the second sample.
    let pre = new Map((await sample(e, refs, all, false)).map((x) => [x.s.id, x.s]));
    const tty = stream && nodeStdout().isTTY === true;
    if (tty) stdout.write("\x1b[2J");
    for (;;) {
      await Bun.sleep(INTERVAL_MS);
      const cur = await sample(e, refs, all, stream);
      const text = render(fmt, cur.map((x) => statsRow(x.s, pre.get(x.s.id), { noTrunc, ...(x.ref !== undefined ? { container: x.ref } : {}) })));
      if (tty) {
        // Redraw in place: home, each line then erase-to-end-of-line, erase what is below.
        stdout.write(`\x1b[H${text.split("\n").slice(0, -1).map((l) => `${l}\x1b[K\n`).join("")}\x1b[J`);
      } else stdout.write(text);
      if (!stream) return 0;
      pre = new Map(cur.map((x) => [x.s.id, x.s]));
    }
  },
});
