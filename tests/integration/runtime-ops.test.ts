// pause/resume, ps, update, events of berth-runtime on real containers, checked from the host's
// cgroup figures and from inside, and side by side with Debian's runc 1.1 on the same bundles.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Harness, leftoverCgroups, RUNTIME, type Result } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const h = new Harness();
const RUNC = "/usr/bin/runc";
const hasRunc = existsSync(RUNC);
afterAll(async () => {
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

const BUSY = ["sh", "-c", "while true; do :; done"];
let seq = 0;
const newId = (what: string) => `ops-${what}-${++seq}`;

/** run -d a container of `args` (own bundle, own cgroup) under berth or runc; returns its id. */
async function detached(args: string[], opts: { runtime?: string; edit?: (s: Spec) => void } = {}): Promise<string> {
  const id = newId(args[0] === "sh" ? "sh" : args[0]!);
  const b = h.bundle((s) => {
    s.process!.args = args;
    opts.edit?.(s);
  });
  const r = await h.rt(["run", "-d", "--bundle", b, id], opts.runtime ? { runtime: opts.runtime } : {});
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return id;
}

async function status(id: string, runtime?: string): Promise<string> {
  return JSON.parse((await h.rt(["state", id], runtime ? { runtime } : {})).stdout).status;
}

async function cpuTotal(id: string): Promise<number> {
  const r = await h.rt(["events", "--stats", id]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).data.cpu.usage.total;
}

/** The container's init PID, then a file read through its mount namespace (what it sees). */
async function readInside(id: string, file: string, runtime?: string): Promise<string> {
  const { pid } = JSON.parse((await h.rt(["state", id], runtime ? { runtime } : {})).stdout);
  const r = Bun.spawnSync(["nsenter", "-t", String(pid), "-m", "/bin/cat", file]);
  expect(r.exitCode).toBe(0);
  return r.stdout.toString().trim();
}

async function waitStopped(id: string, runtime?: string): Promise<void> {
  for (let i = 0; i < 200 && (await status(id, runtime)) !== "stopped"; i++) await Bun.sleep(25);
  expect(await status(id, runtime)).toBe("stopped");
}

describe("pause and resume", () => {
  test("pause stops a busy loop's CPU time, resume restarts it; state says paused/running", async () => {
    const id = await detached(BUSY);
    const t0 = await cpuTotal(id);
    await Bun.sleep(300);
    const t1 = await cpuTotal(id);
    expect(t1).toBeGreaterThan(t0);

    const p = await h.rt(["pause", id]);
    expect(p).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await status(id)).toBe("paused");
    const t2 = await cpuTotal(id);
    await Bun.sleep(400);
    expect(await cpuTotal(id)).toBe(t2);

    const r = await h.rt(["resume", id]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await status(id)).toBe("running");
    await Bun.sleep(300);
    expect(await cpuTotal(id)).toBeGreaterThan(t2);
    await h.rt(["delete", "--force", id]);
  });

  test("pausing twice, resuming a running container, pausing a stopped one: exit 1 with runc's words", async () => {
    const id = await detached(["sleep", "100"]);
    expect((await h.rt(["pause", id])).code).toBe(0);
    const again = await h.rt(["pause", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("container not running");
    expect((await h.rt(["resume", id])).code).toBe(0);
    const notPaused = await h.rt(["resume", id]);
    expect(notPaused.code).toBe(1);
    expect(notPaused.stderr).toContain("container not paused");

    const done = await detached(["true"]);
    await waitStopped(done);
    const p = await h.rt(["pause", done]);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain("container not running");
    expect((await h.rt(["resume", done])).code).toBe(1);
    await h.rt(["delete", "--force", id]);
    await h.rt(["delete", "--force", done]);
  });

  test.skipIf(!hasRunc)("a created container can be paused and resumes to created, as with runc", async () => {
    for (const runtime of [undefined, RUNC]) {
      const id = newId("created");
      const b = h.bundle((s) => (s.process!.args = ["true"]));
      const o = runtime ? { runtime } : {};
      expect((await h.rt(["create", "--bundle", b, id], o)).code).toBe(0);
      expect((await h.rt(["pause", id], o)).code).toBe(0);
      expect((await h.rt(["resume", id], o)).code).toBe(0);
      expect(await status(id, runtime)).toBe("created");
      expect((await h.rt(["delete", "--force", id], o)).code).toBe(0);
    }
  });

  test.skipIf(!hasRunc)("state of a paused created container says paused, as runc's", async () => {
    for (const runtime of [undefined, RUNC]) {
      const id = newId("created-paused");
      const b = h.bundle((s) => (s.process!.args = ["true"]));
      const o = runtime ? { runtime } : {};
      expect((await h.rt(["create", "--bundle", b, id], o)).code).toBe(0);
      expect((await h.rt(["pause", id], o)).code).toBe(0);
      expect(await status(id, runtime)).toBe("paused");
      expect((await h.rt(["resume", id], o)).code).toBe(0);
      expect((await h.rt(["delete", "--force", id], o)).code).toBe(0);
    }
  });
});

describe("ps", () => {
  test("json lists the host PIDs in the container's cgroup; table keeps ps's header", async () => {
    // `; true` keeps sh from exec'ing the last command: sh + two sleeps.
    const id = await detached(["sh", "-c", "sleep 100 & sleep 100; true"]);
    const { pid } = JSON.parse((await h.rt(["state", id])).stdout);
    let pids: number[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await h.rt(["ps", "--format", "json", id]);
      expect(r.code).toBe(0);
      pids = JSON.parse(r.stdout);
      if (pids.length === 3) break;
      await Bun.sleep(20);
    }
    expect(pids.length).toBe(3);
    expect(pids).toContain(pid);

    const table = await h.rt(["ps", id]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(lines.length).toBe(4);
    const rowPids = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[1])).sort((a, b) => a - b);
    expect(rowPids).toEqual(pids);

    // Options after the id go to ps(1).
    const custom = await h.rt(["ps", id, "-o", "pid,comm"]);
    expect(custom.code).toBe(0);
    const c = custom.stdout.trimEnd().split("\n");
    expect(c[0]!.trim()).toBe("PID COMMAND");
    expect(c.slice(1).map((l) => l.trim().split(/\s+/)[1]).sort()).toEqual(["sh", "sleep", "sleep"]);
    await h.rt(["delete", "--force", id]);
  });

  test("a stopped container has no processes: json prints null, table only the header (as runc)", async () => {
    const id = await detached(["true"]);
    await waitStopped(id);
    expect(await h.rt(["ps", "--format", "json", id])).toEqual({ code: 0, stdout: "null\n", stderr: "" });
    const t = await h.rt(["ps", id]);
    expect(t.code).toBe(0);
    expect(t.stdout.trimEnd().split("\n").length).toBe(1);
    await h.rt(["delete", id]);
  });
});

describe("update", () => {
  const MEM = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
  const PIDS = "/sys/fs/cgroup/pids/pids.max";

  test("flags change memory and pids limits, seen from inside; runc does the same", async () => {
    for (const runtime of hasRunc ? [undefined, RUNC] : [undefined]) {
      const o = runtime ? { runtime } : {};
      const id = await detached(["sleep", "100"], o);
      const r = await h.rt(["update", "--memory", "64m", "--memory-reservation", "32M", "--pids-limit", "20", "--cpu-share", "512", id], o);
      expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(await readInside(id, MEM, runtime)).toBe(String(64 * 1024 * 1024));
      expect(await readInside(id, "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes", runtime)).toBe(String(32 * 1024 * 1024));
      expect(await readInside(id, PIDS, runtime)).toBe("20");
      expect(await readInside(id, "/sys/fs/cgroup/cpu/cpu.shares", runtime)).toBe("512");
      // -1 lifts the pids limit; 0 (no flag) leaves memory as it was.
      expect((await h.rt(["update", "--pids-limit", "-1", id], o)).code).toBe(0);
      expect(await readInside(id, PIDS, runtime)).toBe("max");
      expect(await readInside(id, MEM, runtime)).toBe(String(64 * 1024 * 1024));
      await h.rt(["delete", "--force", id], o);
    }
  });

  test("--resources - reads a LinuxResources JSON from stdin (containerd's shim); -r FILE too", async () => {
    const id = await detached(["sleep", "100"]);
    const r = await h.rt(["update", "--resources", "-", id], { stdin: JSON.stringify({ memory: { limit: 32 * 1024 * 1024 }, pids: { limit: 7 }, cpu: { quota: 50000, period: 100000 } }) });
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await readInside(id, MEM)).toBe(String(32 * 1024 * 1024));
    expect(await readInside(id, PIDS)).toBe("7");
    expect(await readInside(id, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")).toBe("50000");
    const file = join(h.tmpdir(), "resources.json");
    writeFileSync(file, JSON.stringify({ memory: { limit: 48 * 1024 * 1024 } }));
    expect((await h.rt(["update", "-r", file, id])).code).toBe(0);
    expect(await readInside(id, MEM)).toBe(String(48 * 1024 * 1024));
    expect(await readInside(id, PIDS)).toBe("7");
    await h.rt(["delete", "--force", id]);
  });

  test("the new pids limit holds: forks beyond it are refused", async () => {
    const id = await detached(["sh", "-c", 'sleep 1; sh -c "for i in 1 2 3 4 5 6; do sleep 100 & done; wait" 2>/dev/null; sleep 100']);
    expect((await h.rt(["update", "--pids-limit", "3", id])).code).toBe(0);
    for (let i = 0; i < 100 && (await readInside(id, "/sys/fs/cgroup/pids/pids.events")) === "max 0"; i++) await Bun.sleep(50);
    // pids.events counts the forks the limit refused (cgroup-v1/pids.rst).
    expect(Number((await readInside(id, "/sys/fs/cgroup/pids/pids.events")).split(" ")[1])).toBeGreaterThan(0);
    const s = JSON.parse((await h.rt(["events", "--stats", id])).stdout);
    expect(s.data.pids.limit).toBe(3);
    expect(s.data.pids.current).toBeLessThanOrEqual(3);
    await h.rt(["delete", "--force", id]);
  });
});

/** Every key path of a JSON value; lists contribute their first element's keys. */
function keyPaths(v: unknown, at = ""): string[] {
  if (Array.isArray(v)) return v.length > 0 && typeof v[0] === "object" ? keyPaths(v[0], `${at}[]`) : [];
  if (v === null || typeof v !== "object") return [];
  return Object.entries(v).flatMap(([k, x]) => (at.endsWith(".raw") ? [] : [`${at}.${k}`, ...keyPaths(x, `${at}.${k}`)]));
}

/** Keys Go leaves out when their value is 0 or empty (omitempty): their presence depends on the figures. */
const OMITEMPTY = /\.(total|percpu|percpu_kernel|percpu_user|periods|throttledPeriods|throttledTime|cpus|mems|cache|usage|max|raw|current|limit|ioServiceBytesRecursive|ioServicedRecursive)$/;

describe("events", () => {
  test.skipIf(!hasRunc)("--stats has runc's key structure on the same kind of container", async () => {
    const berth = await detached(BUSY);
    const runc = await detached(BUSY, { runtime: RUNC });
    await Bun.sleep(200);
    const a = await h.rt(["events", "--stats", berth]);
    const b = await h.rt(["events", "--stats", runc], { runtime: RUNC });
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    // One compact JSON line each, like Go's json.Encoder.
    expect(a.stdout.trimEnd().split("\n").length).toBe(1);
    const ea = JSON.parse(a.stdout);
    const eb = JSON.parse(b.stdout);
    expect(Object.keys(ea)).toEqual(["type", "id", "data"]);
    expect(ea.type).toBe("stats");
    expect(ea.id).toBe(berth);
    const ka = keyPaths(ea.data);
    const kb = keyPaths(eb.data);
    // Same order, same always-present keys; the rest may only differ where runc omits zeros.
    expect(ka.filter((k) => !OMITEMPTY.test(k))).toEqual(kb.filter((k) => !OMITEMPTY.test(k)));
    for (const k of ka.filter((x) => !kb.includes(x))) expect(k).toMatch(OMITEMPTY);
    for (const k of kb.filter((x) => !ka.includes(x))) expect(k).toMatch(OMITEMPTY);
    expect(Object.keys(ea.data.memory.raw)).toEqual(Object.keys(eb.data.memory.raw));
    // An unlimited v1 limit prints exactly, as Go prints the uint64.
    const unlimited = /"limit":(\d{19})/.exec(b.stdout)?.[1];
    if (unlimited) expect(a.stdout).toContain(`"limit":${unlimited}`);
    expect(ea.data.cpu.usage.total).toBeGreaterThan(0);
    expect(ea.data.pids.current).toBe(1);
    await h.rt(["delete", "--force", berth]);
    await h.rt(["delete", "--force", runc], { runtime: RUNC });
  });

  test("without --stats: a stats event every interval", async () => {
    const id = await detached(["sleep", "100"]);
    const p = Bun.spawn([RUNTIME, "--root", h.root, "events", "--interval", "200ms", id], { stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout.getReader();
    let text = "";
    const t0 = Date.now();
    while (text.split("\n").length < 3 && Date.now() - t0 < 5000) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    p.kill();
    await p.exited;
    const events = text.trim().split("\n").slice(0, 2).map((l) => JSON.parse(l));
    expect(events.map((e) => [e.type, e.id])).toEqual([["stats", id], ["stats", id]]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    await h.rt(["delete", "--force", id]);
  });

  test("an OOM kill under a 16 MiB limit is reported, then the stream ends with the container", async () => {
    const id = await detached(["sh", "-c", "sleep 1; x=a; while true; do x=$x$x; done"], {
      edit: (s) => (s.linux!.resources = { ...s.linux!.resources, memory: { limit: 16 * 1024 * 1024 } }),
    });
    const p = Bun.spawn([RUNTIME, "--root", h.root, "events", "--interval", "1s", id], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => p.kill(), 20_000);
    const code = await p.exited;
    clearTimeout(timer);
    const out = await new Response(p.stdout).text();
    expect(code).toBe(0);
    const events = out.trim().split("\n").map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "oom")).toEqual([{ type: "oom", id }]);
    expect(await status(id)).toBe("stopped");
    await h.rt(["delete", id]);
  });
});

describe.skipIf(!hasRunc)("error cases match runc: exit codes and output shapes", () => {
  /** Run the same verb under both runtimes; ids are substituted per runtime. */
  async function both(args: (id: string) => string[], ids: [string, string], stdin?: string): Promise<[Result, Result]> {
    const o = stdin !== undefined ? { stdin } : {};
    return [await h.rt(args(ids[0]), o), await h.rt(args(ids[1]), { ...o, runtime: RUNC })];
  }
  const shape = (r: Result) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr !== "" });
  // Usage errors: runc prints its help text to stdout; berth names the problem on stderr only.
  const usageShape = (r: Result) => ({ code: r.code, stderr: r.stderr !== "" });

  test("unknown id, bad flags, wrong states", async () => {
    const running: [string, string] = [await detached(["sleep", "100"]), await detached(["sleep", "100"], { runtime: RUNC })];
    const stopped: [string, string] = [await detached(["true"]), await detached(["true"], { runtime: RUNC })];
    await waitStopped(stopped[0]);
    await waitStopped(stopped[1], RUNC);
    const none: [string, string] = ["no-such-container", "no-such-container"];
    const cases: [string, (id: string) => string[], [string, string], string?, boolean?][] = [
      ["pause unknown", (id) => ["pause", id], none],
      ["resume unknown", (id) => ["resume", id], none],
      ["ps unknown", (id) => ["ps", id], none],
      ["ps json unknown", (id) => ["ps", "--format", "json", id], none],
      ["events unknown", (id) => ["events", "--stats", id], none],
      ["update unknown", (id) => ["update", "--memory", "64m", id], none],
      ["pause no id", () => ["pause"], none, undefined, true],
      ["ps no id", () => ["ps"], none, undefined, true],
      ["resume running", (id) => ["resume", id], running],
      ["ps bad format", (id) => ["ps", "-f", "yaml", id], running],
      ["events interval 0", (id) => ["events", "--interval", "0s", id], running],
      ["events interval junk", (id) => ["events", "--interval", "soon", id], running, undefined, true],
      ["update bad size", (id) => ["update", "--memory", "lots", id], running],
      ["update junk json", (id) => ["update", "-r", "-", id], running, "garbage"],
      ["update below usage", (id) => ["update", "--memory", "1k", id], running],
      ["pause stopped", (id) => ["pause", id], stopped],
      ["resume stopped", (id) => ["resume", id], stopped],
      ["events stopped", (id) => ["events", "--stats", id], stopped],
      ["update stopped", (id) => ["update", "--pids-limit", "5", id], stopped],
      ["ps json stopped", (id) => ["ps", "--format", "json", id], stopped],
      ["update no flags", (id) => ["update", id], running],
    ];
    const diffs: string[] = [];
    for (const [name, args, ids, stdin, usage] of cases) {
      const [a, b] = await both(args, ids, stdin);
      const f = usage ? usageShape : shape;
      if (JSON.stringify(f(a)) !== JSON.stringify(f(b))) diffs.push(`${name}: berth ${JSON.stringify(f(a))} runc ${JSON.stringify(f(b))}`);
    }
    expect(diffs).toEqual([]);
    for (const id of [running[0], stopped[0]]) await h.rt(["delete", "--force", id]);
    for (const id of [running[1], stopped[1]]) await h.rt(["delete", "--force", id], { runtime: RUNC });
  });
});

describe("a create killed part-way", () => {
  test("SIGKILL at any point of create: delete --force removes the state directory and the cgroup", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["sleep", "60"];
    });
    const cgroup = h.cgroupNames.get(b)!;
    const cgroupDirs = () => leftoverCgroups().filter((d) => d.endsWith(`/${cgroup}`));
    const seen = new Set<string>();
    for (const delay of [0, 1, 2, 3, 4, 6, 8, 11, 15, 20]) {
      const id = newId("killed");
      const p = h.spawn(["create", "--bundle", b, id]);
      await Bun.sleep(delay);
      p.kill("SIGKILL");
      await p.exited;
      // What the kill left: nothing, a bare state directory, a state with its cgroup, a created container.
      seen.add(`${existsSync(join(h.root, id))}/${existsSync(join(h.root, id, "state.json"))}/${cgroupDirs().length > 0}`);
      const r = await h.rt(["delete", "--force", id]);
      expect({ delay, code: r.code, stderr: r.stderr }).toEqual({ delay, code: 0, stderr: "" });
      expect({ delay, dir: existsSync(join(h.root, id)), cgroups: cgroupDirs() }).toEqual({ delay, dir: false, cgroups: [] });
    }
    // The kills landed at more than one point of create.
    expect(seen.size).toBeGreaterThan(1);
  });
});
