import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { parseTimestamp } from "../../sys/duration.ts";
import { eventFilter, eventJson, eventLine, EVENT_FILTER_KEYS } from "../../docker/event-json.ts";
import { stdout } from "../stdio.ts";

/**
 * docker's events.Message as a template sees it: Go field names (Status, ID, From, Type, Action,
 * Actor.ID, Actor.Attributes, Scope, Time, TimeNano); `json` gives the API's JSON names.
 */
function eventStruct(goStruct: typeof import("../template/index.ts").goStruct, ev: Parameters<typeof eventLine>[0] | undefined): unknown {
  const j = ev ? eventJson(ev) : { Type: "", Action: "", Actor: { ID: "", Attributes: {} }, scope: "", time: 0, timeNano: 0 };
  const actor = j.Actor as { ID: string; Attributes: Record<string, string> };
  // Nanoseconds since 1970 pass 2^53: exact as a bigint (the record keeps microseconds).
  const timeNano = ev ? BigInt(ev.time) * 1000n : 0n;
  return goStruct({
    Status: (j.status as string | undefined) ?? "", ID: (j.id as string | undefined) ?? "", From: (j.from as string | undefined) ?? "",
    Type: j.Type, Action: j.Action, Actor: goStruct({ ID: actor.ID, Attributes: actor.Attributes }, "events.Actor"),
    Scope: j.scope, Time: j.time, TimeNano: timeNano,
  }, "*events.Message", undefined, { ...j, timeNano });
}

export default command({
  name: "events",
  usage: "[OPTIONS]",
  summary: "Get real time events from the engine (past ones with --since; stops at --until)",
  flags: {
    since: { kind: "string", help: "show all events created since timestamp (or relative: 10m)" },
    until: { kind: "string", help: "stream events until this timestamp" },
    filter: { kind: "list", short: "f", help: `filter output (${EVENT_FILTER_KEYS.join(", ")})` },
    format: { kind: "string", help: "\"json\" or a Go template such as {{.Action}} {{.Actor.Attributes.name}}" },
  },
  async run(p, e) {
    args(p, this, 0);
    const now = Date.now();
    const since = p.flags.since !== undefined ? parseTimestamp(p.flags.since as string, "--since", now) : undefined;
    const until = p.flags.until !== undefined ? parseTimestamp(p.flags.until as string, "--until", now) : undefined;
    const filters = (p.flags.filter as string[] | undefined) ?? [];
    for (const f of filters) {
      const k = f.slice(0, Math.max(0, f.indexOf("=")));
      if (!EVENT_FILTER_KEYS.includes(k)) throw new UsageError(`invalid filter '${f}' (${EVENT_FILTER_KEYS.join(", ")})`, "--filter");
    }
    const match = eventFilter(filters);
    const fmt = p.flags.format as string | undefined;
    let format: ((ev: Parameters<typeof eventLine>[0]) => string) | undefined;
    if (fmt) {
      const { ValueFormat, FormatError } = await import("../formatter.ts");
      const { goStruct } = await import("../template/index.ts");
      const f = ValueFormat.parse(fmt, { prefix: "Error parsing format: " });
      // docker runs the template once on an empty message, so that {{.badField}} fails up front.
      try {
        f.render(eventStruct(goStruct, undefined));
      } catch (err) {
        if (err instanceof FormatError) throw new FormatError(`Error parsing format: ${err.message}`, 64);
        throw err;
      }
      format = (ev) => {
        try {
          return f.render(eventStruct(goStruct, ev));
        } catch (err) {
          // What the template wrote before failing is printed, then the error ends the stream.
          if (err instanceof FormatError) stdout.write(err.partial);
          throw err;
        }
      };
    }
    const show = (ev: Parameters<typeof eventLine>[0]) => {
      if (!match(ev)) return;
      if (format) stdout.write(`${format(ev)}\n`);
      else stdout.write(`${eventLine(ev)}\n`);
    };
    const { listContainers } = await import("../../engine/containers.ts");
    // Past events first (with --since), then everything after our start.
    let after = since !== undefined ? 0 : e.eventLog.lastSeq();
    const sinceUs = since !== undefined ? since * 1000 : 0;
    const untilUs = until !== undefined ? until * 1000 : Number.MAX_SAFE_INTEGER;
    let stop = false;
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => (stop = true));
    for (let round = 0; !stop; round++) {
      // Containers that ended while nobody watched get their die events recorded here.
      if (round % 3 === 0) await listContainers(e, { all: false });
      for (const ev of e.eventLog.list({ afterSeq: after, sinceUs, untilUs })) {
        show(ev);
        after = ev.seq;
      }
      if (until !== undefined && Date.now() > until) break;
      await Bun.sleep(100);
    }
    return 0;
  },
});
