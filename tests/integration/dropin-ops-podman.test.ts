// podman operations with berth-runtime as its OCI runtime, side by side with runc (issue 4):
// pause/unpause, stats --no-stream, an interactive `run -it` and `exec -it` driven through a real
// terminal (`script`). The podman instance (tests/helpers/podman.ts) lives in a temp dir; every
// container is removed by its test and stop() checks for leftovers.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { cgroupDirs } from "../helpers/leftovers.ts";
import { startPodman, type Podman } from "../helpers/podman.ts";
import { runCommand, type CommandResult } from "../helpers/run-command.ts";

const top = join(import.meta.dir, "../..");
const berthRuntime = join(top, "build/berth-runtime");
const runcBinary = "/usr/sbin/runc";
const runtimes = { runc: runcBinary, berth: berthRuntime } as const;
const haveTools = process.getuid?.() === 0 && ["/usr/bin/podman", "/usr/bin/conmon", "/usr/bin/script", runcBinary, "/usr/bin/umoci"].every((f) => fs.existsSync(f));
if (haveTools && !fs.existsSync(berthRuntime)) throw new Error(`${berthRuntime} is missing: run ./scripts/build.sh`);

let p: Podman;

beforeAll(async () => {
  if (!haveTools) return;
  p = await startPodman({ runtimes: [{ binary: berthRuntime, defaultRoot: "/run/berth-runtime" }, { binary: runcBinary, defaultRoot: "/run/runc" }] });
}, 40_000);

afterAll(async () => {
  if (!p) return;
  const left = await p.stop();
  expect(left.containers).toEqual([]);
  expect(left.processes).toEqual([]);
  expect(left.runtimeState).toEqual([]);
  expect(left.mounts).toEqual([]);
  expect(left.hostDirs).toEqual([]);
  expect(cgroupDirs(p.cgroupParent)).toEqual([]);
}, 40_000);

/** A detached container under `name`'s runtime, removed after `fn` whatever happens. */
async function withContainer<T>(name: keyof typeof runtimes, tag: string, cmd: string[], fn: (cname: string) => Promise<T>): Promise<T> {
  const cname = `${tag}-${name}`;
  const run = await p.podman(runtimes[name], ["run", "-d", "--name", cname, ...p.runFlags(), p.image, ...cmd]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  try {
    return await fn(cname);
  } finally {
    await p.podman(runtimes[name], ["rm", "-f", "-t", "0", cname]);
  }
}

/** The container's v1 cgroup directory for `controller`, from its init's /proc/PID/cgroup. */
async function cgroupDir(name: keyof typeof runtimes, cname: string, controller: string): Promise<string> {
  const pid = (await p.podman(runtimes[name], ["inspect", "--format", "{{.State.Pid}}", cname])).stdout.trim();
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.split(":")[1]?.split(",").includes(controller));
  return `/sys/fs/cgroup/${controller}${line!.split(":")[2]}`;
}

/**
 * `podman … ARGS` in a real terminal: util-linux `script` gives podman a pty as its stdin/stdout,
 * and what we write to script's stdin is typed into it. Returns the terminal's output.
 */
async function inTerminal(name: keyof typeof runtimes, args: string[], input: string): Promise<CommandResult> {
  // The helper's exact podman command line (global flags, temp dirs), from a harmless call.
  const probe = await p.podman(runtimes[name], ["version", "--format", "{{.Client.Version}}"]);
  const argv = [...probe.argv.slice(0, probe.argv.indexOf("version")), ...args];
  const line = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return runCommand(["script", "-qec", line, "/dev/null"], { stdin: input, env: { CONTAINERS_CONF: join(p.dir, "containers.conf") }, timeoutMs: 30_000 });
}
const clean = (s: string) => s.replaceAll("\r", "").replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "");

describe.skipIf(!haveTools)("podman operations with berth-runtime, like runc", () => {
  test("podman pause / unpause: the cgroup freezes, inspect and ps -a say paused, then running again", async () => {
    const seen: Record<string, unknown> = {};
    for (const name of ["runc", "berth"] as const) {
      seen[name] = await withContainer(name, "pause", ["sleep", "1000"], async (cname) => {
        const rt = runtimes[name];
        const freezer = join(await cgroupDir(name, cname, "freezer"), "freezer.state");
        const pause = await p.podman(rt, ["pause", cname]);
        const paused = {
          code: pause.code,
          inspect: (await p.podman(rt, ["inspect", "--format", "{{.State.Status}}", cname])).stdout.trim(),
          ps: (await p.podman(rt, ["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).stdout.trim().replace(/ .*/, (s) => (s.includes("Paused") ? " Paused" : s)),
          freezer: fs.readFileSync(freezer, "utf8").trim(),
        };
        const unpause = await p.podman(rt, ["unpause", cname]);
        const resumed = {
          code: unpause.code,
          inspect: (await p.podman(rt, ["inspect", "--format", "{{.State.Status}}", cname])).stdout.trim(),
          freezer: fs.readFileSync(freezer, "utf8").trim(),
        };
        return { paused: { ...paused, ps: paused.ps.replace(name, "NAME") }, resumed };
      });
    }
    expect(seen.runc).toEqual({ paused: { code: 0, inspect: "paused", ps: "pause-NAME Paused", freezer: "FROZEN" }, resumed: { code: 0, inspect: "running", freezer: "THAWED" } });
    expect(seen.berth).toEqual(seen.runc);
  }, 40_000);

  test("podman stats --no-stream: the same fields, the container's own pids and memory", async () => {
    const seen: Record<string, { keys: string[]; pids: string; mem: string; code: number }> = {};
    for (const name of ["runc", "berth"] as const) {
      seen[name] = await withContainer(name, "stats", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"], async (cname) => {
        const r = await p.podman(runtimes[name], ["stats", "--no-stream", "--format", "json", cname]);
        expect(r.stderr).toBe("");
        const [row] = JSON.parse(r.stdout) as Record<string, string>[];
        return { keys: Object.keys(row!).sort(), pids: row!.pids!, mem: row!.mem_usage!, code: r.code };
      });
    }
    expect(seen.runc!.code).toBe(0);
    expect(seen.runc!.pids).toBe("3");
    expect(seen.berth!.keys).toEqual(seen.runc!.keys);
    expect(seen.berth!.pids).toBe(seen.runc!.pids);
    expect(seen.berth!.code).toBe(0);
    expect(seen.berth!.mem).not.toMatch(/^0B /); // read from the container's memory cgroup
  }, 40_000);

  test("podman run -it: an interactive shell on a terminal, exit code passed through, like runc", async () => {
    const out: Record<string, { code: number; lines: string[] }> = {};
    for (const name of ["runc", "berth"] as const) {
      const r = await inTerminal(name, ["run", "-it", "--rm", ...p.runFlags(), p.image, "sh"], "tty; echo hi-$((1+2)); stty size; exit 5\n");
      const text = clean(r.stdout);
      // The shell's answers, not the echo of what was typed.
      out[name] = { code: r.code, lines: text.split("\n").filter((l) => /^(\/dev\/pts\/\d+|hi-3|\d+ \d+)$/.test(l.trim())).map((l) => l.trim()) };
    }
    expect(out.runc!.code).toBe(5);
    expect(out.runc!.lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(out.runc!.lines).toContain("hi-3");
    expect(out.berth).toEqual(out.runc!);
  }, 60_000);

  test("podman exec -it: an interactive shell in a running container, like runc", async () => {
    const out: Record<string, { code: number; lines: string[] }> = {};
    for (const name of ["runc", "berth"] as const) {
      out[name] = await withContainer(name, "exec-it", ["sleep", "1000"], async (cname) => {
        const r = await inTerminal(name, ["exec", "-it", cname, "sh"], "tty; echo in-$((2+2)); tr '\\0' ' ' < /proc/1/cmdline; echo; exit 6\n");
        const text = clean(r.stdout);
        return { code: r.code, lines: text.split("\n").map((l) => l.trim()).filter((l) => /^(\/dev\/pts\/\d+|in-4|sleep 1000)$/.test(l)) };
      });
    }
    expect(out.runc!.code).toBe(6);
    expect(out.runc!.lines).toContain("in-4");
    expect(out.runc!.lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(out.berth).toEqual(out.runc!);
  }, 60_000);
});
