// ctr-style plumbing over the engine's stores: content, snapshots, leases, tasks. Tables as ctr
// prints them (its columns and words), or `--format json` (one JSON array) for scripts.
import { command, args, type Command } from "../command.ts";
import { UsageError } from "../flags.ts";
import { humanDuration, table } from "../format.ts";
import { humanSize4 } from "../units.ts";
import { stdout, stderr } from "../stdio.ts";

const labelText = (l: Record<string, string>) => Object.keys(l).sort().map((k) => `${k}=${l[k]}`).join(",") || "-";
const FORMAT = { kind: "string" as const, help: '"json" for a JSON array; a table otherwise' };
function wantJson(p: { flags: Record<string, unknown> }): boolean {
  const f = p.flags.format as string | undefined;
  if (f === undefined || f === "table") return false;
  if (f === "json") return true;
  throw new UsageError(`--format ${f}: use json (or table)`, "--format");
}
const json = (v: unknown) => stdout.write(`${JSON.stringify(v, null, 2)}\n`);

export const contentLs: Command = command({
  name: "content ls",
  usage: "[OPTIONS]",
  summary: "List the blobs in the content store (digest, size, age, labels)",
  flags: { quiet: { kind: "bool", short: "q", help: "print only the digests" }, format: FORMAT },
  async run(p, e) {
    args(p, this, 0);
    const { listContent } = await import("../../engine/plumbing.ts");
    const list = await listContent(e);
    if (p.flags.quiet) {
      for (const i of list) stdout.write(`${i.digest}\n`);
      return 0;
    }
    if (wantJson(p)) {
      json(list.map((i) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt.toISOString(), updatedAt: i.updatedAt.toISOString(), labels: i.labels })));
      return 0;
    }
    const now = Date.now();
    stdout.write(table(["DIGEST", "SIZE", "AGE", "LABELS"], list.map((i) => [i.digest, humanSize4(i.size), humanDuration(now - i.createdAt.getTime()), labelText(i.labels)])));
    return 0;
  },
});

export const contentGet: Command = command({
  name: "content get",
  usage: "DIGEST",
  summary: "Write a blob to standard output",
  flags: {},
  async run(p, e) {
    const [d] = args(p, this, 1);
    const { readContent } = await import("../../engine/plumbing.ts");
    const data = await readContent(e, d!);
    stdout.write(data);
    return 0;
  },
});

export const contentRm: Command = command({
  name: "content rm",
  usage: "DIGEST [DIGEST...]",
  summary: "Remove blobs from the content store (as ctr: an image that needs one is broken; `system prune` frees the space)",
  flags: {},
  async run(p, e) {
    const ds = args(p, this, 1, Infinity);
    const { removeContent } = await import("../../engine/plumbing.ts");
    let status = 0;
    for (const d of ds) {
      try {
        await removeContent(e, d);
        stdout.write(`${d}\n`);
      } catch (err) {
        stderr.write(`berth: ${(err as Error).message}\n`);
        status = 1;
      }
    }
    return status;
  },
});

export const snapshotsLs: Command = command({
  name: "snapshots ls",
  usage: "[OPTIONS]",
  summary: "List snapshots (key, parent, kind)",
  flags: { format: FORMAT },
  async run(p, e) {
    args(p, this, 0);
    const { listSnapshots } = await import("../../engine/plumbing.ts");
    const list = await listSnapshots(e);
    if (wantJson(p)) {
      json(list.map((s) => ({ key: s.name, parent: s.parent ?? "", kind: s.kind, labels: s.labels, created: s.created.toISOString(), ...(s.container ? { container: s.container } : {}) })));
      return 0;
    }
    const kind = (k: string) => k[0]!.toUpperCase() + k.slice(1);
    stdout.write(table(["KEY", "PARENT", "KIND"], list.map((s) => [s.name, s.parent ?? "", kind(s.kind)])));
    return 0;
  },
});

export const snapshotsTree: Command = command({
  name: "snapshots tree",
  usage: "[OPTIONS]",
  summary: "Show snapshots as the tree their parents make (image layers, then containers' roots)",
  flags: { format: FORMAT },
  async run(p, e) {
    args(p, this, 0);
    const { listSnapshots, snapshotTree } = await import("../../engine/plumbing.ts");
    const roots = snapshotTree(await listSnapshots(e));
    type N = (typeof roots)[number];
    if (wantJson(p)) {
      const conv = (n: N): unknown => ({ key: n.info.name, kind: n.info.kind, ...(n.info.container ? { container: n.info.container } : {}), children: n.children.map(conv) });
      json(roots.map(conv));
      return 0;
    }
    // ctr's drawing: each level two spaces deeper, "\_" before a child.
    const out: string[] = [];
    const print = (n: N, level: number) => {
      out.push(`${"  ".repeat(level)}${level > 0 ? "\\_" : ""} ${n.info.name}${n.info.container ? ` (container ${n.info.container.slice(0, 12)})` : ""}`);
      for (const c of n.children) print(c, level + 1);
    };
    for (const r of roots) print(r, 0);
    stdout.write(out.length ? `${out.join("\n")}\n` : "");
    return 0;
  },
});

export const snapshotsUsage: Command = command({
  name: "snapshots usage",
  usage: "[OPTIONS] [KEY...]",
  summary: "Show the disk space and inodes each snapshot's own changes take",
  flags: { format: FORMAT },
  async run(p, e) {
    const { listSnapshots, snapshotUsage, checkSnapshotKeys } = await import("../../engine/plumbing.ts");
    if (p.rest.length) checkSnapshotKeys(await listSnapshots(e), p.rest);
    const list = await snapshotUsage(e, p.rest);
    if (wantJson(p)) {
      json(list.map((u) => ({ key: u.name, size: u.usage.size, inodes: u.usage.inodes })));
      return 0;
    }
    stdout.write(table(["KEY", "SIZE", "INODES"], list.map((u) => [u.name, humanSize4(u.usage.size), String(u.usage.inodes)])));
    return 0;
  },
});

export const leasesLs: Command = command({
  name: "leases ls",
  usage: "[OPTIONS]",
  summary: "List leases (what keeps content and snapshots from GC while a pull or unpack runs)",
  flags: { quiet: { kind: "bool", short: "q", help: "print only the lease ids" }, format: FORMAT },
  async run(p, e) {
    args(p, this, 0);
    const { listLeases } = await import("../../engine/plumbing.ts");
    const list = listLeases(e);
    if (p.flags.quiet) {
      for (const l of list) stdout.write(`${l.id}\n`);
      return 0;
    }
    if (wantJson(p)) {
      json(list.map((l) => ({ id: l.id, createdAt: l.createdAt.toISOString(), labels: l.labels, resources: l.resources })));
      return 0;
    }
    stdout.write(table(["ID", "CREATED AT", "LABELS", "RESOURCES"], list.map((l) => [l.id, l.createdAt.toISOString().replace(/\.\d+Z$/, "Z"), labelText(l.labels), String(l.resources.length)])));
    return 0;
  },
});

export const tasksLs: Command = command({
  name: "tasks ls",
  usage: "[OPTIONS]",
  summary: "List tasks: containers with a live monitor and process (id, pid, status)",
  flags: { quiet: { kind: "bool", short: "q", help: "print only the task ids" }, format: FORMAT },
  async run(p, e) {
    args(p, this, 0);
    const { listTasks } = await import("../../engine/plumbing.ts");
    const list = await listTasks(e);
    if (p.flags.quiet) {
      for (const t of list) stdout.write(`${t.id}\n`);
      return 0;
    }
    if (wantJson(p)) {
      json(list);
      return 0;
    }
    stdout.write(table(["TASK", "PID", "STATUS", "MONITOR PID", "NAME"], list.map((t) => [t.id, String(t.pid), t.status, String(t.monitorPid), t.name])));
    return 0;
  },
});
