// berth-runtime as an unprivileged user (uid 65534 through setpriv), with `spec --rootless`.
import { afterAll, expect, test } from "bun:test";
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import { BUSYBOX, RUNTIME } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const NOBODY = 65534;
const dir = mkdtempSync("/tmp/bt-rootless-");
chmodSync(dir, 0o755);
chownSync(dir, NOBODY, NOBODY);
const root = join(dir, "state");

afterAll(async () => {
  for (const id of existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith(".")) : []) await asNobody(["--root", root, "delete", "--force", id]);
  rmSync(dir, { recursive: true, force: true });
});

async function asNobody(args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = join(dir, `.out-${Math.random().toString(36).slice(2)}`);
  const p = Bun.spawn(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", RUNTIME, ...args], {
    cwd, stdio: ["ignore", Bun.file(out), Bun.file(`${out}.err`)], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  const code = await p.exited;
  const r = { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(`${out}.err`, "utf8") };
  rmSync(out, { force: true });
  rmSync(`${out}.err`, { force: true });
  return r;
}

function bundle(edit: (s: Spec) => void): string {
  const b = mkdtempSync(join(dir, "bundle-"));
  chmodSync(b, 0o755);
  const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Spec;
  spec.process!.terminal = false;
  spec.root = { path: join(BUSYBOX, "rootfs"), readonly: true };
  edit(spec);
  writeFileSync(join(b, "config.json"), JSON.stringify(spec));
  return b;
}

test("spec --rootless writes what runc spec --rootless writes for the same user", async () => {
  expect((await asNobody(["spec", "--rootless"])).code).toBe(0);
  const runcDir = mkdtempSync(join(dir, "runc-"));
  chownSync(runcDir, NOBODY, NOBODY);
  const r = Bun.spawnSync(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "runc", "spec", "--rootless"], { cwd: runcDir });
  expect(r.exitCode).toBe(0);
  const ours = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const theirs = JSON.parse(readFileSync(join(runcDir, "config.json"), "utf8"));
  expect(ours).toEqual(theirs);
  expect(ours.linux.uidMappings).toEqual([{ containerID: 0, hostID: NOBODY, size: 1 }]);
});

test("an unprivileged user runs a container: root inside a user namespace, own pid namespace", async () => {
  const b = bundle((s) => (s.process!.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; echo $$; ls /dev/null"]));
  const r = await asNobody(["--root", root, "run", "--bundle", b, "rl-run"]);
  expect(r.stderr).toBe("");
  expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual(["0", `0 ${NOBODY} 1`, "1", "/dev/null", ""]);
  expect(r.code).toBe(0);
});

test("rootless create/start/exec/delete", async () => {
  const b = bundle((s) => (s.process!.args = ["sleep", "60"]));
  expect((await asNobody(["--root", root, "create", "--bundle", b, "rl-life"])).code).toBe(0);
  expect((await asNobody(["--root", root, "start", "rl-life"])).code).toBe(0);
  const e = await asNobody(["--root", root, "exec", "rl-life", "sh", "-c", "id -u; cat /proc/1/cmdline"]);
  expect(e.stderr).toBe("");
  expect(e.stdout).toBe("0\nsleep\x0060\x00");
  expect((await asNobody(["--root", root, "delete", "--force", "rl-life"])).code).toBe(0);
  expect(existsSync(join(root, "rl-life"))).toBe(false);
});

test("limits without a delegated cgroup: a clear error naming linux.resources, nothing left", async () => {
  const b = bundle((s) => {
    s.process!.args = ["true"];
    s.linux!.resources = { memory: { limit: 64 << 20 } };
  });
  const r = await asNobody(["--root", root, "create", "--bundle", b, "rl-limits"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("linux.resources: running rootless");
  expect(existsSync(join(root, "rl-limits"))).toBe(false);
});

test("a state root the user cannot write: the error says to pass --root", async () => {
  const b = bundle((s) => (s.process!.args = ["true"]));
  const r = await asNobody(["--root", "/run/berth-rootless-not-allowed/x", "create", "--bundle", b, "rl-root"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("pass --root");
});
