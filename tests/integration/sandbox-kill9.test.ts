// kill -9 of the process that runs a sandbox, in the middle of a run: the guard it started
// (native/berth-sandbox-guard.c) kills the run's processes — a daemon and a fork bomb among them —
// removes its cgroups and the state directory, and exits. Nothing is left: no process, mount,
// cgroup or file of the run.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BUN, TOP, buildAttack, mountsUnder, ownRunPrefix, processesNamed, runCgroups, runProcesses } from "../helpers/sandbox.ts";

const tmp = mkdtempSync("/tmp/bt-sandbox-kill9-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("kill -9 of the caller mid-run leaves nothing behind", async () => {
  mkdirSync(join(tmp, "bin"));
  await buildAttack(join(tmp, "bin"));
  const name = `btk${process.pid % 100000}`;
  const caller = Bun.spawn([BUN, join(TOP, "tests/fixtures/sandbox/caller.ts"), tmp, join(tmp, "bin"), name], { stdout: "pipe", stderr: "inherit" });
  const reader = caller.stdout.getReader();
  const { value } = await reader.read();
  const { state, guard } = JSON.parse(new TextDecoder().decode(value)) as { state: string; guard: number };
  const prefix = ownRunPrefix(caller.pid);
  try {
    // The run is under way: its daemon exists and its cgroup is full of the fork bomb.
    await until("the daemon", () => processesNamed(name).length > 0);
    await until("the fork bomb", () => runProcesses(prefix).length > 10);
    expect(runCgroups(prefix).length).toBeGreaterThan(0);
    caller.kill("SIGKILL");
    expect(await caller.exited).toBe(137);
    await until("the guard to finish", () => !existsSync(`/proc/${guard}`));
    expect(processesNamed(name)).toEqual([]);
    expect(runProcesses(prefix)).toEqual([]);
    expect(runCgroups(prefix)).toEqual([]);
    expect(mountsUnder(state)).toEqual([]);
    expect(existsSync(state)).toBe(false);
    expect(readdirSync(tmp).sort()).toEqual(["bin"]);
  } finally {
    caller.kill("SIGKILL");
    reader.releaseLock();
  }
});
