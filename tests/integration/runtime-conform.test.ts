// Conformance with runc (Debian's 1.1.5): corner cases found by outside suites, each run the same
// way against runc and berth-runtime; the outcome must match, or be berth's stricter one where
// runc is weak (said at the case).
import { afterAll, describe, expect, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { Harness, leftoverCgroups, type Result } from "../lib/runtime.ts";
import { defaultSeccomp } from "../../src/seccomp/default-profile.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const RUNC = "/usr/sbin/runc";
const h = new Harness();
afterAll(async () => {
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

type Both = { berth: Result; runc: Result };
/** Run the same bundle under both runtimes. */
async function both(args: string[], edit: (s: Spec) => void = () => {}, opts: { copyRootfs?: boolean } = {}): Promise<Both> {
  const berth = await h.run(args, edit, opts);
  const runc = await h.run(args, edit, { ...opts, runtime: RUNC });
  return { berth, runc };
}

/** A started `sleep` container under one runtime; fn gets its id and the runtime's options. */
async function withContainer<T>(runtime: string | undefined, edit: (s: Spec) => void, fn: (id: string, o: { runtime?: string }) => Promise<T>, args = ["sleep", "60"]): Promise<T> {
  const o = runtime ? { runtime } : {};
  const b = h.bundle((s) => {
    s.process!.args = args;
    edit(s);
  });
  const id = `c${Math.random().toString(36).slice(2, 10)}`;
  const c = await h.rt(["create", "--bundle", b, id], o);
  if (c.code !== 0) throw new Error(`create under ${runtime ?? "berth"}: ${c.stderr}`);
  try {
    const st = await h.rt(["start", id], o);
    if (st.code !== 0) throw new Error(`start under ${runtime ?? "berth"}: ${st.stderr}`);
    return await fn(id, o);
  } finally {
    await h.rt(["delete", "--force", id], o);
  }
}
/** fn under berth, then under runc. */
async function eachRuntime<T>(edit: (s: Spec) => void, fn: (id: string, o: { runtime?: string }) => Promise<T>, args?: string[]): Promise<{ berth: T; runc: T }> {
  const berth = await withContainer(undefined, edit, fn, args);
  const runc = await withContainer(RUNC, edit, fn, args);
  return { berth, runc };
}

const noCloseRange = (nnp: boolean) => (s: Spec) => {
  const p = defaultSeccomp(s.process!.capabilities?.bounding ?? []);
  p.syscalls = p.syscalls!.map((x) => ({ ...x, names: x.names.filter((n) => n !== "close_range") })).filter((x) => x.names.length > 0);
  s.linux!.seccomp = p;
  s.process!.noNewPrivileges = nnp;
};

describe("failures that stopped containers", () => {
  // A whitelist profile from before close_range existed (Docker's before 20.10.x), loaded with and
  // without no_new_privs (without it the filter goes in early, while the runtime still works).
  for (const nnp of [false, true]) {
    test(`a seccomp whitelist without close_range (noNewPrivileges ${nnp})`, async () => {
      const r = await both(["sh", "-c", "echo ok"], noCloseRange(nnp));
      expect(r.runc).toMatchObject({ code: 0, stdout: "ok\n" });
      expect(r.berth).toMatchObject({ code: 0, stdout: "ok\n" });
      const e = await eachRuntime(noCloseRange(nnp), (id, o) => h.rt(["exec", id, "sh", "-c", "echo ok"], o));
      expect(e.runc).toMatchObject({ code: 0, stdout: "ok\n" });
      expect(e.berth).toMatchObject({ code: 0, stdout: "ok\n" });
    });
  }
});

describe("mounts and namespaces", () => {
  test("a read-only /dev: the mounts under it are made, then it is read-only", async () => {
    const r = await both(["sh", "-c", "ls /dev/pts; ls /dev/null; touch /dev/x"], (s) => {
      s.mounts!.find((m) => m.destination === "/dev")!.options!.push("ro");
    });
    for (const x of [r.runc, r.berth]) {
      expect(x.stdout).toBe("ptmx\n/dev/null\n");
      expect(x.stderr).toContain("Read-only file system");
      expect(x.code).toBe(1);
    }
  });

  test("loopback is up in a new network namespace", async () => {
    const r = await both(["sh", "-c", "cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; ip -4 addr show lo | grep -o 'inet [0-9./]*';"]);
    expect(r.runc.code).toBe(0);
    expect(r.runc.stdout).toContain("inet 127.0.0.1/8\n");
    expect(r.berth.stdout).toBe(r.runc.stdout);
  });

  test("a rootfs path that is a symlink is refused", async () => {
    const d = h.tmpdir();
    symlinkSync(`${import.meta.dir}/../../build/busybox/rootfs`, `${d}/link`);
    const r = await both(["true"], (s) => (s.root!.path = `${d}/link`));
    expect(r.runc.code).toBe(1);
    expect(r.runc.stderr).toContain("invalid rootfs: not an absolute path, or a symlink");
    expect(r.berth.code).toBe(1);
    expect(r.berth.stderr).toContain(`root.path: invalid rootfs: ${d}/link is a symlink`);
  });

  test("linux.resources.unified on this v1/hybrid host is an invalid configuration", async () => {
    const r = await both(["true"], (s) => (s.linux!.resources = { unified: { "memory.max": "100000000" } }));
    expect(r.runc.code).toBe(1);
    expect(r.runc.stderr).toContain("invalid configuration: cannot use unified on cgroup v1");
    expect(r.berth.code).toBe(1);
    expect(r.berth.stderr).toContain("invalid configuration: linux.resources.unified needs cgroup v2");
  });
});
