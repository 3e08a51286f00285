// The engine's stats and container-archive calls as a library (what berthd's Docker API serves
// as /containers/{id}/stats and /containers/{id}/archive), on real containers: typed samples
// turned into docker's stats JSON; stat, get and put of a container's files with docker's
// path-stat header; and a container that keeps swapping a directory for a symlink to "/" while
// files are copied in and out, which must never make the engine touch the host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { createContainer, getContainer, removeContainer, startContainer, stopContainer } from "../../src/engine/containers.ts";
import { containerStats, statsFigures } from "../../src/engine/stats.ts";
import { getContainerArchive, pathStatHeader, putContainerArchive, statContainerPath } from "../../src/engine/archive.ts";
import { statsJson } from "../../src/docker/stats-json.ts";
import { TarWriter } from "../../src/image/tar-writer.ts";
import { readTar } from "../../src/image/tar-reader.ts";
import { systemReset } from "../../src/engine/prune.ts";
import { installBuiltinBusybox } from "../../src/image/builtin-busybox.ts";
import { mountsUnder } from "../helpers/leftovers.ts";

const TOP = resolve(import.meta.dir, "../..");
const BERTH = join(TOP, "build/berth");
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(join(TOP, "build/berth-monitor"));
const dir = mkdtempSync("/tmp/bt-engine-sa-");
const root = join(dir, "root"), runroot = join(dir, "run");
const opts: EngineOptions = {
  root, runroot, storageDriver: "overlay",
  berthInit: join(TOP, "build/berth-init"), monitor: join(TOP, "build/berth-monitor"), runtime: join(TOP, "build/berth-runtime"),
  exitCommand: [BERTH, "--root", root, "--runroot", runroot, "container", "cleanup"],
};
let e: Engine;

beforeAll(async () => {
  e = new Engine(opts);
  if (ready) await installBuiltinBusybox({ content: e.content, images: e.images });
});
afterAll(async () => {
  if (ready) await systemReset(e);
  await e.close();
  expect(mountsUnder(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

/** A tar written by the engine into a file, read back. */
async function archiveOf(ref: string, path: string): Promise<{ stat: Awaited<ReturnType<typeof getContainerArchive>>; entries: ReturnType<typeof readTar> extends Generator<infer T> ? T[] : never }> {
  const file = join(dir, `a-${Math.random().toString(36).slice(2)}.tar`);
  const fd = openSync(file, "wx");
  let stat;
  try {
    stat = await getContainerArchive(e, ref, path, new TarWriter(fd));
  } finally {
    closeSync(fd);
  }
  const entries = [...readTar(readFileSync(file))];
  rmSync(file);
  return { stat, entries };
}
function tarOf(files: { name: string; data?: string; type?: "0" | "5" | "2"; linkname?: string }[]): Uint8Array {
  const file = join(dir, `t-${Math.random().toString(36).slice(2)}.tar`);
  const fd = openSync(file, "wx");
  const tw = new TarWriter(fd);
  const src = join(dir, "src-data");
  for (const f of files) {
    if ((f.type ?? "0") === "0") {
      const d = Buffer.from(f.data ?? "");
      writeFileSync(src, d);
      const sfd = openSync(src, "r");
      tw.entry({ name: f.name, type: "0", mode: 0o644, size: d.length, mtime: 1_800_000_000 }, sfd);
      closeSync(sfd);
    } else tw.entry({ name: f.name, type: f.type!, mode: 0o755, mtime: 1_800_000_000, ...(f.linkname ? { linkname: f.linkname } : {}) });
  }
  tw.end();
  closeSync(fd);
  const out = readFileSync(file);
  rmSync(file);
  return out;
}

describe.if(ready)("stats through the engine", () => {
  test("two samples of a busy container: docker's JSON with precpu_stats, and CPU % > 50", async () => {
    const c = await createContainer(e, { image: "busybox", name: "busy", command: ["sh", "-c", "while :; do :; done"], network: { mode: "none" } });
    await startContainer(e, c.id);
    const pid = (await getContainer(e, "busy")).pid;
    await Bun.sleep(200);
    // An independent measure over the same second: the loop's own CPU ticks (utime + stime).
    const ticks = () => {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(f[11]) + Number(f[12]);
    };
    const t0 = performance.now(), k0 = ticks();
    const pre = await containerStats(e, "busy");
    await Bun.sleep(1000);
    const cur = await containerStats(e, "busy");
    const k1 = ticks(), t1 = performance.now();
    const seen = ((k1 - k0) * 10 / (t1 - t0)) * 100; // ticks are 10 ms
    const j = statsJson(cur, pre) as any;
    expect(j.name).toBe("/busy");
    expect(j.id).toBe(c.id);
    expect(Date.parse(j.read) - Date.parse(j.preread)).toBeGreaterThanOrEqual(900);
    expect(j.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(j.precpu_stats.cpu_usage.total_usage);
    expect(j.cpu_stats.system_cpu_usage).toBeGreaterThan(j.precpu_stats.system_cpu_usage);
    expect(j.cpu_stats.online_cpus).toBeGreaterThanOrEqual(1);
    expect(j.memory_stats.usage).toBeGreaterThan(0);
    expect(j.memory_stats.stats.total_inactive_file ?? j.memory_stats.stats.inactive_file).toBeDefined();
    expect(j.pids_stats.current).toBe(1);
    // A full core when the machine is idle; whatever it got when other work shares the cores —
    // docker's formula must agree with the process's own accounting either way.
    const cpu = statsFigures(cur, pre).cpuPercent;
    expect(Math.abs(cpu - seen)).toBeLessThan(10);
    if (seen > 60) expect(cpu).toBeGreaterThan(50);
    expect(cpu).toBeGreaterThan(5);
    await removeContainer(e, "busy", { force: true });
  }, 20_000);
});

describe.if(ready)("container archives through the engine", () => {
  test("stat (docker's header), get and put on a running container; the same on it stopped", async () => {
    const c = await createContainer(e, { image: "busybox", name: "files", command: ["sh", "-c", "mkdir /d; echo hi > /d/a; ln -s a /d/l; echo ok; sleep 300; echo"], network: { mode: "none" } });
    await startContainer(e, c.id);
    for (let i = 0; i < 100; i++) {
      try {
        await statContainerPath(e, "files", "/d/l");
        break;
      } catch {
        await Bun.sleep(50);
      }
    }
    const st = await statContainerPath(e, "files", "/d/l");
    expect(st).toMatchObject({ name: "l", mode: ((1 << 27) | 0o777) >>> 0, linkTarget: "/d/a" });
    expect(JSON.parse(Buffer.from(pathStatHeader(st), "base64").toString())).toMatchObject({ name: "l", linkTarget: "/d/a" });
    const dirStat = await statContainerPath(e, "files", "/d");
    expect(dirStat.mode >>> 31).toBe(1);
    await expect(statContainerPath(e, "files", "/nope")).rejects.toThrow("Could not find the file /nope in container files");

    const { stat, entries } = await archiveOf("files", "/d");
    expect(stat.name).toBe("d");
    expect(entries.map((x) => [x.name, x.type, x.linkname])).toEqual([["d/", "directory", ""], ["d/a", "file", ""], ["d/l", "symlink", "a"]]);
    const contents = await archiveOf("files", "/d/.");
    expect(contents.entries.map((x) => x.name)).toEqual(["./", "./a", "./l"]);

    await putContainerArchive(e, "files", "/d", tarOf([{ name: "new/", type: "5" }, { name: "new/f", data: "put\n" }]), { noOverwriteDirNonDir: true });
    const back = await archiveOf("files", "/d/new/f");
    expect(new TextDecoder().decode(back.entries[0]!.data)).toBe("put\n");
    expect(back.entries[0]!.uid).toBe(0);
    await expect(putContainerArchive(e, "files", "/d/a", tarOf([{ name: "x", data: "" }]))).rejects.toThrow("extraction point is not a directory");
    await expect(putContainerArchive(e, "files", "/d", tarOf([{ name: "a/", type: "5" }]), { noOverwriteDirNonDir: true })).rejects.toThrow("cannot overwrite non-directory");

    await stopContainer(e, "files", { timeoutSec: 0 });
    await putContainerArchive(e, "files", "/d", tarOf([{ name: "stopped", data: "s\n" }]));
    const s = await archiveOf("files", "/d/stopped");
    expect(new TextDecoder().decode(s.entries[0]!.data)).toBe("s\n");
    await removeContainer(e, "files", { force: true });
  }, 30_000);

  test("a container swapping /race/d between a directory and a link to / cannot make a copy touch the host", async () => {
    const marker = `bt-race-${process.pid}`;
    const c = await createContainer(e, {
      image: "busybox", name: "race", network: { mode: "none" },
      // Each state held ~1 ms, with the swaps themselves in between (usleep is busybox's).
      command: ["sh", "-c", "mkdir -p /race /tmp/x; while :; do mkdir /race/d; usleep 1000; rmdir /race/d; ln -s / /race/d; usleep 1000; rm -f /race/d; done"],
    });
    await startContainer(e, c.id);
    let wrote = 0, read = 0;
    const t0 = Date.now();
    for (let i = 0; i < 400 && (i < 60 || wrote === 0 || read === 0) && Date.now() - t0 < 20_000; i++) {
      // Into /race/d/tmp: when d is the link it is the container's /tmp, never the host's.
      try {
        await putContainerArchive(e, "race", "/race/d/tmp", tarOf([{ name: marker, data: "x" }]));
        wrote++;
      } catch {}
      try {
        const a = await archiveOf("race", "/race/d/etc/hostname");
        expect(new TextDecoder().decode(a.entries[0]!.data).trim()).toBe(c.id.slice(0, 12));
        read++;
      } catch (err) {
        if ((err as Error).message.includes("expect")) throw err;
      }
      expect(existsSync(`/tmp/${marker}`)).toBe(false);
    }
    console.log(`race: ${wrote} writes, ${read} reads went through`);
    // Some of each went through the link (or the race left it a directory), none reached the host.
    expect(wrote).toBeGreaterThan(0);
    expect(read).toBeGreaterThan(0);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    await removeContainer(e, "race", { force: true });
  }, 60_000);
});
