import { command, args } from "../command.ts";
import { UsageError } from "../flags.ts";
import { ago, quoteCommand, shortId, table } from "../format.ts";
import { commandOf, dockerState, statusText } from "../container-view.ts";
import type { Container } from "../../engine/containers.ts";
import { stdout, stderr } from "../stdio.ts";

const FILTERS = ["id", "name", "label", "status", "ancestor", "exited", "before", "since", "health"];

/** docker ps --filter: each key ANDed, several values of one key ORed. */
function matcher(filters: string[], all: Container[]): (c: Container) => boolean {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UsageError(`bad format of filter (expected name=value): ${f}`, "--filter");
    const k = f.slice(0, eq), v = f.slice(eq + 1);
    if (!FILTERS.includes(k)) throw new UsageError(`invalid filter '${k}' (${FILTERS.join(", ")})`, "--filter");
    by.set(k, [...(by.get(k) ?? []), v]);
  }
  const find = (ref: string) => all.find((c) => c.id === ref || c.name === ref || c.id.startsWith(ref));
  const checks: ((c: Container) => boolean)[] = [];
  for (const [k, vs] of by) {
    checks.push((c) => vs.some((v) => {
      switch (k) {
        case "id": return c.id.startsWith(v);
        case "name": return new RegExp(v).test(c.name);
        case "label": {
          const eq = v.indexOf("=");
          return eq < 0 ? v in c.labels : c.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case "status": return dockerState(c) === v;
        case "ancestor": return c.image === v || c.image.replace(/:latest$/, "") === v.replace(/:latest$/, "") || c.imageId.replace("sha256:", "").startsWith(v.replace("sha256:", ""));
        case "exited": return c.state === "exited" && !!c.startedAt && c.exitCode === Number(v);
        case "health": return ((c.health as { status?: string } | undefined)?.status ?? "none") === v;
        case "before": { const o = find(v); return !!o && c.createdAt < o.createdAt; }
        case "since": { const o = find(v); return !!o && c.createdAt > o.createdAt; }
        default: return false;
      }
    }));
  }
  return (c) => checks.every((f) => f(c));
}

/** docker's ContainerContext: its header names and default table (cli/command/formatter/container.go). */
async function psFormat(fmt: string) {
  const { ListFormat, labelMethod } = await import("../formatter.ts");
  const spec = {
    typeName: "*formatter.ContainerContext",
    defaultTable: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    header: {
      ID: "CONTAINER ID", Names: "NAMES", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED",
      Ports: "PORTS", State: "STATE", Status: "STATUS", Size: "SIZE", Labels: "LABELS", Mounts: "MOUNTS",
      LocalVolumes: "LOCAL VOLUMES", Networks: "NETWORKS", Platform: "PLATFORM", HealthStatus: "HEALTH STATUS",
    },
  };
  const empty = Object.fromEntries(Object.keys(spec.header).filter((k) => k !== "Platform" && k !== "HealthStatus").map((k) => [k, ""]));
  ListFormat.precheck(fmt, empty, spec, { Label: labelMethod({}) });
  return ListFormat.parse(fmt, spec);
}

export default command({
  name: "ps",
  usage: "[OPTIONS]",
  summary: "List containers (running ones; -a for all)",
  flags: {
    all: { kind: "bool", short: "a", help: "show all containers (default shows just running)" },
    quiet: { kind: "bool", short: "q", help: "only display container IDs" },
    "no-trunc": { kind: "bool", help: "don't truncate output" },
    last: { kind: "int", short: "n", help: "show n last created containers (includes all states)" },
    latest: { kind: "bool", short: "l", help: "show the latest created container (includes all states)" },
    filter: { kind: "list", short: "f", help: "filter output: id, name, label, status, ancestor, exited, before, since, health" },
    format: { kind: "string", help: "\"json\", a template such as {{.ID}}, or \"table {{.ID}}\\t{{.Names}}\"" },
  },
  async run(p, e) {
    args(p, this, 0);
    const now = Date.now();
    const noTrunc = p.flags["no-trunc"] === true;
    const fmt = p.flags.format as string | undefined;
    // A bad template fails before anything is listed, as docker's ps (even with -q).
    const listFormat = fmt ? await psFormat(fmt) : undefined;
    const { listContainers } = await import("../../engine/containers.ts");
    const every = await listContainers(e, { all: true });
    const last = p.flags.latest ? 1 : (p.flags.last as number | undefined);
    const filters = (p.flags.filter as string[] | undefined) ?? [];
    const match = matcher(filters, every);
    let list = every.filter((c) => (p.flags.all || last !== undefined || filters.some((f) => f.startsWith("status=") || f.startsWith("exited=")) ? true : c.state === "running" || c.state === "paused" || c.state === "restarting") && match(c));
    if (last !== undefined && last >= 0) list = list.slice(0, last);
    if (p.flags.quiet) {
      if (fmt) stderr.write((await import("../formatter.ts")).QUIET_FORMAT_WARNING);
      for (const c of list) stdout.write(`${noTrunc ? c.id : shortId(c.id)}\n`);
      return 0;
    }
    const { networkView, formatPorts } = await import("../../engine/network.ts");
    const views = await Promise.all(list.map((c) => (c.state === "running" || c.state === "paused" ? networkView(e, c) : undefined)));
    const rows = list.map((c, i) => ({
      ID: noTrunc ? c.id : shortId(c.id),
      Image: c.image,
      Command: quoteCommand(commandOf(c), noTrunc),
      CreatedAt: c.createdAt.toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC"),
      RunningFor: ago(c.createdAt, now),
      Status: statusText(c, now),
      State: dockerState(c),
      Ports: formatPorts(views[i]?.ports ?? [], c.state === "running" || c.state === "paused" ? c.resolved.exposedPorts : []),
      Names: c.name,
      Labels: Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(","),
      Mounts: (c.resolved.volumes ?? []).map((v) => v.name.slice(0, 15)).join(","),
      Networks: views[i]?.networks.map((n) => n.name).join(",") ?? c.spec.network?.mode ?? "bridge",
      Size: "",
      LocalVolumes: String((c.resolved.volumes ?? []).length),
    }));
    if (listFormat) {
      const { labelMethod } = await import("../formatter.ts");
      list.forEach((c, i) => listFormat.add(rows[i]!, { Label: labelMethod(c.labels) }));
      stdout.write(listFormat.render());
      return 0;
    }
    stdout.write(table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
      rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names])));
    return 0;
  },
});
