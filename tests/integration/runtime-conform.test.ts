// Conformance with runc (Debian's 1.1.5): corner cases found by outside suites, each run the same
// way against runc and berth-runtime; the outcome must match, or be berth's stricter one where
// runc is weak (said at the case).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
  p.syscalls = p.syscalls!.map((x) => ({ ...x, names: x.names.filter((n) => n !== "close_range" && n !== "sendto") })).filter((x) => x.names.length > 0);
  s.linux!.seccomp = p;
  s.process!.noNewPrivileges = nnp;
};

describe("failures that stopped containers", () => {
  // A whitelist profile from before close_range existed (Docker's before 20.10.x), and without sendto
  // (a generated one: runc needs only write for its sync), loaded with and
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

/** The container's cgroup directories (runc's cgroup_paths / berth's cgroupPaths), by state.json. */
function cgroupDirs(id: string, o: { runtime?: string }): string[] {
  const state = JSON.parse(readFileSync(o.runtime ? `${h.root}-runc/${id}/state.json` : `${h.root}/${id}/state.json`, "utf8"));
  return [...new Set(Object.values((o.runtime ? state.cgroup_paths : state.cgroupPaths) as Record<string, string>))];
}
const selfCgroup = (r: Result, id: string) => r.stdout.trim().split("\n").map((l) => l.replace(/:\/.*berth-test-\d+-\d+/, ":/C")).join("\n") + (r.code ? ` (exit ${r.code}) ${id}` : "");

describe("masks and --no-pivot", () => {
  // runc 1.1.5 follows a symlink in maskedPaths (the mask lands on its target, or the path stays
  // visible if the target is elsewhere); berth refuses it, naming the path.
  test("a maskedPaths entry that is a symlink is refused (stricter than runc)", async () => {
    const edit = (s: Spec) => {
      s.process!.args = ["sh", "-c", "readlink /etc/fw"];
      s.linux!.maskedPaths = ["/etc/fw"];
    };
    const out: Record<string, Result> = {};
    for (const runtime of [undefined, RUNC]) {
      const b = h.bundle(edit, { copyRootfs: true });
      symlinkSync("/sys/firmware", `${b}/rootfs/etc/fw`);
      out[runtime ? "runc" : "berth"] = await h.rt(["run", "--bundle", b, `mk${runtime ? "r" : "b"}`], runtime ? { runtime } : {});
    }
    expect(out.runc).toMatchObject({ code: 0, stdout: "/sys/firmware\n" });
    expect(out.berth!.code).toBe(1);
    expect(out.berth!.stderr).toContain("linux.maskedPaths[0]");
    expect(out.berth!.stderr).toContain("/etc/fw is, or passes through, a symlink: refusing to mask through it");
  });

  test("--no-pivot: the host's /proc is not reachable, even with CAP_SYS_ADMIN", async () => {
    const script = "wc -l < /proc/self/mountinfo; mkdir /tmp/p; mount -t proc proc /tmp/p; echo $?; mount -o remount,rw /proc/sys 2>/dev/null; echo $?; umount -l / 2>&1; ls /; ls /proc 2>&1 | head -1";
    const out: Record<string, Result> = {};
    for (const runtime of [undefined, RUNC]) {
      const b = h.bundle((s) => {
        s.process!.args = ["sh", "-c", script];
        s.process!.capabilities = { bounding: ["CAP_SYS_ADMIN"], effective: ["CAP_SYS_ADMIN"], permitted: ["CAP_SYS_ADMIN"] };
        s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: [] });
      });
      out[runtime ? "runc" : "berth"] = await h.rt(["run", "--no-pivot", "--bundle", b, `np${runtime ? "r" : "b"}`], runtime ? { runtime } : {});
    }
    expect(out.runc!.code).toBe(0);
    expect(out.berth).toEqual(out.runc!);
  });
});

describe("exec", () => {
  test("--cgroup: a path leaving the container's cgroup is refused; sub-cgroups work in both forms", async () => {
    const r = await eachRuntime(() => {}, async (id, o) => {
      const escape = await h.rt(["exec", "--cgroup", "..", id, "true"], o);
      const escape2 = await h.rt(["exec", "--cgroup", "memory:../..", id, "true"], o);
      const dirs = cgroupDirs(id, o);
      for (const d of dirs) {
        mkdirSync(join(d, "sub"));
        // A new v1 cpuset starts empty (cpusets.rst); runc copies nothing into it either.
        if (d.includes("/cpuset/")) for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(d, "sub", f), readFileSync(join(d, f)));
      }
      mkdirSync(join(dirs.find((d) => d.includes("/memory/"))!, "msub"));
      const sub = await h.rt(["exec", "--cgroup", "sub", id, "cat", "/proc/self/cgroup"], o);
      const ctl = await h.rt(["exec", "--cgroup", "memory:msub", id, "cat", "/proc/self/cgroup"], o);
      const plain = await h.rt(["exec", id, "cat", "/proc/self/cgroup"], o);
      return { escape: escape.code, escape2: escape2.code, sub: selfCgroup(sub, id), ctl: selfCgroup(ctl, id), plain: selfCgroup(plain, id) };
    });
    expect(r.runc.escape).toBe(255);
    expect(r.runc.plain).toContain("\n0::/C"); // hybrid: the unified hierarchy too
    expect(r.runc.sub).toContain("memory:/C/sub");
    expect(r.runc.ctl).toContain("memory:/C/msub");
    expect(r.berth).toEqual(r.runc);
  });

  test("exit 255 when the process cannot start; kill 0 checks liveness; --pid-file into a missing directory", async () => {
    const r = await eachRuntime(() => {}, async (id, o) => {
      const missing = await h.rt(["exec", id, "no-such-command"], o);
      const alive = await h.rt(["kill", id, "0"], o);
      const pf = await h.rt(["exec", "--pid-file", "/nonexistent-dir/sub/pid", id, "true"], o);
      const procs = (await h.rt(["ps", id], o)).stdout.trim().split("\n").length;
      return { missing: missing.code, alive: alive.code, pf: pf.code, pfErr: pf.stderr, procs };
    });
    expect(r.runc).toMatchObject({ missing: 255, alive: 0, pf: 255 });
    expect(r.berth).toMatchObject({ missing: 255, alive: 0, pf: 255, procs: r.runc.procs });
    // runc names its temp file (/nonexistent-dir/sub/.pid); berth names the path given.
    expect(r.berth.pfErr).toContain("--pid-file /nonexistent-dir/sub/pid: the directory /nonexistent-dir/sub does not exist");
  });

  test("a paused container: exec exits 255, --ignore-paused runs the process once resumed", async () => {
    const r = await eachRuntime(() => {}, async (id, o) => {
      expect((await h.rt(["pause", id], o)).code).toBe(0);
      const refused = await h.rt(["exec", id, "true"], o);
      let done = false;
      const pending = h.rt(["exec", "--ignore-paused", id, "echo", "ran"], o).then((x) => ((done = true), x));
      await Bun.sleep(300);
      const early = done; // frozen with the container until it is resumed
      expect((await h.rt(["resume", id], o)).code).toBe(0);
      const ran = await pending;
      return { refused: refused.code, early, ran: ran.code, out: ran.stdout };
    });
    expect(r.runc).toEqual({ refused: 255, early: false, ran: 0, out: "ran\n" });
    expect(r.berth).toEqual(r.runc);
  });

  test("--process with a partial process JSON (user without gid, no env)", async () => {
    const dir = h.tmpdir();
    writeFileSync(`${dir}/p.json`, JSON.stringify({ args: ["/bin/sh", "-c", "id; pwd"], cwd: "/tmp", user: { uid: 1000 } }));
    const r = await eachRuntime(() => {}, (id, o) => h.rt(["exec", "--process", `${dir}/p.json`, id], o));
    expect(r.runc.code).toBe(0);
    expect(r.berth).toEqual(r.runc);
  });

  // Both write the process's pid; its program comes a moment later (runc's pid names `runc init`
  // until it execs; berth's process execs once the runtime has exited, so that a caller such as
  // containerd's shim knows the pid before it can reap it). Never another process's pid.
  test("-d --pid-file names the process, which then runs the program", async () => {
    const r = await eachRuntime(() => {}, async (id, o) => {
      const out = [];
      for (let i = 0; i < 5; i++) {
        const pf = `${h.tmpdir()}/pid`;
        expect((await h.rt(["exec", "-d", "--pid-file", pf, id, "sleep", "60"], o)).code).toBe(0);
        const pid = Number(readFileSync(pf, "utf8"));
        let cmdline = "";
        for (let t = 0; t < 300 && !(cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8")).startsWith("sleep"); t++) await Bun.sleep(10);
        out.push(cmdline);
        process.kill(pid, "SIGKILL");
      }
      return out;
    });
    expect(r.runc).toEqual(Array(5).fill("sleep\x0060\x00"));
    expect(r.berth).toEqual(r.runc);
  });
});

/**
 * A runtime that runs in a private mount namespace whose /sys/fs/cgroup is the cgroup2 hierarchy
 * alone (this host's unified one): each call gets a fresh such namespace, the state is in --root.
 * The name ends like the runtime's, for the harness's choice of --root.
 */
function cgroup2Only(bin: string): string {
  const wrapper = join(h.tmpdir(), `v2-${bin.split("/").pop()}`);
  writeFileSync(wrapper, `#!/bin/sh\nexec unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$0" "$@"' ${bin} "$@"\n`, { mode: 0o755 });
  return wrapper;
}

describe("cgroups", () => {
  test("cgroup2 alone: devices denied at create stay denied for exec, before and after update", async () => {
    const edit = (s: Spec) => {
      s.linux!.resources = { devices: [{ allow: false, access: "rwm" }] };
      s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11 }];
    };
    const probe = ["sh", "-c", "head -c1 /dev/kmsg >/dev/null && echo opened"];
    const out: Record<string, unknown> = {};
    for (const [name, bin] of [["berth", h.runtime], ["runc", RUNC]] as const) {
      const o = { runtime: cgroup2Only(bin) };
      out[name] = await withContainer(o.runtime, edit, async (id) => {
        const init = await h.rt(["exec", id, "cat", "/proc/self/cgroup"], o);
        const before = await h.rt(["exec", id, ...probe], o);
        const upd = await h.rt(["update", "--pids-limit", "100", id], o);
        const after = await h.rt(["exec", id, ...probe], o);
        return { cgroup: init.stdout.split("\n").find((l) => l.startsWith("0::"))!.replace(/berth-test-\d+-\d+/, "C"), before: [before.code, before.stderr], upd: upd.code, after: [after.code, after.stderr] };
      });
    }
    // This host's cgroup2 has no controllers: the pids update fails under both, and the device
    // rules must survive the failed update.
    expect(out.runc).toEqual({ cgroup: "0::/C", before: [1, "head: /dev/kmsg: Operation not permitted\n"], upd: 1, after: [1, "head: /dev/kmsg: Operation not permitted\n"] });
    expect(out.berth).toEqual(out.runc);
  });

  test("a nested cgroupsPath whose cpuset directories are new: cpus and mems are copied down", async () => {
    const out: Record<string, Result> = {};
    const tops: string[] = [];
    for (const runtime of [undefined, RUNC]) {
      const b = h.bundle((s) => {
        s.process!.args = ["sh", "-c", "cat /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpuset/cpuset.mems"];
        tops.push(s.linux!.cgroupsPath!);
        s.linux!.cgroupsPath = `${s.linux!.cgroupsPath}/mid/leaf`;
      });
      out[runtime ? "runc" : "berth"] = await h.rt(["run", "--bundle", b, `cs${runtime ? "r" : "b"}`], runtime ? { runtime } : {});
    }
    // Both leave the intermediate directories (as runc does); remove them here.
    for (const d of leftoverCgroups().filter((p) => tops.some((t) => p.endsWith(`/${t}`)))) {
      if (existsSync(`${d}/mid`)) rmdirSync(`${d}/mid`);
      rmdirSync(d);
    }
    expect(out.runc!.code).toBe(0);
    expect(out.berth).toEqual(out.runc!);
  });

  test("devices denied at create stay denied for exec, before and after update (v1)", async () => {
    const edit = (s: Spec) => {
      s.linux!.resources = { devices: [{ allow: false, access: "rwm" }] };
      s.linux!.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11 }];
    };
    const probe = ["sh", "-c", "head -c1 /dev/kmsg >/dev/null && echo opened"];
    const r = await eachRuntime(edit, async (id, o) => {
      const before = await h.rt(["exec", id, ...probe], o);
      const upd = await h.rt(["update", "--pids-limit", "100", id], o);
      const after = await h.rt(["exec", id, ...probe], o);
      return { before: [before.code, before.stdout, before.stderr], upd: upd.code, after: [after.code, after.stdout, after.stderr] };
    }, ["sh", "-c", "head -c1 /dev/kmsg >/dev/null 2>&1 || echo denied; sleep 60"]);
    expect(r.runc.before).toEqual([1, "", "head: /dev/kmsg: Operation not permitted\n"]);
    expect(r.runc.upd).toBe(0);
    expect(r.berth).toEqual(r.runc);
  });

  test("a frozen cgroup is refused, with nothing left behind", async () => {
    const out: Record<string, { code: number; left: number }> = {};
    for (const runtime of [undefined, RUNC]) {
      const o = runtime ? { runtime } : {};
      let name = "";
      const b = h.bundle((s) => {
        s.process!.args = ["true"];
        name = s.linux!.cgroupsPath!;
      });
      const fz = `/sys/fs/cgroup/freezer/${name}`;
      mkdirSync(fz);
      writeFileSync(`${fz}/freezer.state`, "FROZEN");
      try {
        const p = Bun.spawn([runtime ?? h.runtime, "--root", runtime ? `${h.root}-runc` : h.root, "run", "--bundle", b, `fz${runtime ? "r" : "b"}`], { stdio: ["ignore", "ignore", "pipe"] });
        const timer = setTimeout(() => p.kill("SIGKILL"), 10000);
        const code = await p.exited;
        clearTimeout(timer);
        out[runtime ? "runc" : "berth"] = { code, left: readFileSync(`${fz}/cgroup.procs`, "utf8").trim().split("\n").filter(Boolean).length };
      } finally {
        writeFileSync(`${fz}/freezer.state`, "THAWED");
        await h.rt(["delete", "--force", `fz${runtime ? "r" : "b"}`], o);
        for (let i = 0; i < 50 && readFileSync(`${fz}/cgroup.procs`, "utf8").trim(); i++) await Bun.sleep(20);
        if (existsSync(fz)) rmdirSync(fz);
      }
    }
    expect(out.runc!.code).not.toBe(0);
    expect(out.runc!.left).toBe(0);
    expect(out.berth).toEqual({ code: out.runc!.code, left: 0 });
  });
});

describe("user namespaces and terminals", () => {
  const userns = (s: Spec) => {
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  /** A directory only host root can enter (0700), as /root or a kubelet's pod dir. */
  const privateDir = () => {
    const d = h.tmpdir();
    chmodSync(d, 0o700);
    return d;
  };

  test("a bind source the namespace's root cannot reach is opened with the runtime's credentials", async () => {
    const d = privateDir();
    mkdirSync(`${d}/src`);
    writeFileSync(`${d}/src/f`, "hi");
    const r = await both(["cat", "/tmp/f"], (s) => {
      userns(s);
      s.mounts!.push({ destination: "/tmp", type: "bind", source: `${d}/src`, options: ["bind", "ro"] });
    });
    expect(r.runc).toMatchObject({ code: 0, stdout: "hi" });
    expect(r.berth).toMatchObject({ code: 0, stdout: "hi" });
  });

  const receiver = join(import.meta.dir, "../lib/console-receiver.py");
  /** A console socket at sock; returns what the terminal showed once the session ends. */
  async function consoleSession(sock: string, input: string, act: () => Promise<Result>): Promise<{ out: string; created: Result }> {
    const p = Bun.spawn(["python3", receiver, sock, input], { stdout: "pipe", stderr: "pipe" });
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("listening");
    const created = await act();
    if (created.code !== 0) p.kill();
    let out = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    await p.exited;
    return { out, created };
  }

  for (const [name, edit] of [["in a user namespace, the console socket is connected from outside", userns], ["the pty belongs to the process's uid", (s: Spec) => (s.process!.user = { uid: 1000, gid: 1000 })]] as const) {
    test(name, async () => {
      const out: Record<string, string> = {};
      for (const runtime of [undefined, RUNC]) {
        const o = runtime ? { runtime } : {};
        const sock = `${privateDir()}/console.sock`;
        const id = `tty${runtime ? "r" : "b"}${name.length}`;
        const b = h.bundle((s) => {
          s.process!.terminal = true;
          s.process!.args = ["sh"];
          edit(s);
        });
        const r = await consoleSession(sock, "stat -c %u:%g $(tty); id -u\nexit\n", async () => {
          const c = await h.rt(["create", "--bundle", b, "--console-socket", sock, id], o);
          if (c.code === 0) await h.rt(["start", id], o);
          return c;
        });
        await h.rt(["delete", "-f", id], o);
        out[runtime ? "runc" : "berth"] = r.created.code ? r.created.stderr : (r.out.match(/\r\n(\d+:\d+\r\n\d+)\r\n/)?.[1] ?? r.out);
      }
      expect(out.runc).toMatch(/^\d+:\d+\r\n\d+$/);
      expect(out.berth).toBe(out.runc!);
    });
  }
});

describe("the command line", () => {
  test("-h on every verb exits 0; an unknown verb says there is no such command", async () => {
    const verbs = ["create", "start", "run", "state", "kill", "delete", "list", "spec", "features", "exec", "ps", "pause", "resume", "update", "events", "checkpoint", "restore"];
    for (const runtime of [undefined, RUNC]) {
      const o = runtime ? { runtime } : {};
      for (const v of verbs) expect([v, (await h.rt([v, "-h"], o)).code]).toEqual([v, 0]);
      const foo = await h.rt(["foo", "-h"], o);
      expect(foo.code).toBe(3);
      expect(foo.stderr).toContain("No help topic for 'foo'");
    }
  });

  test("--debug without --log: logrus-style text lines on stderr", async () => {
    for (const runtime of [undefined, RUNC]) {
      const b = h.bundle((s) => (s.process!.args = ["true"]));
      const r = await h.rt(["--debug", "run", "--bundle", b, `dbg${runtime ? "r" : "b"}`], runtime ? { runtime } : {});
      expect(r.code).toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l).toMatch(/^time="[^"]+" level=debug msg=".*"/);
    }
  });

  // runc 1.2 warns so; Debian's 1.1.5 runs the container without a word. berth warns, and both run.
  test("a cgroup that already has processes: \"container's cgroup is not empty\"", async () => {
    const out: Record<string, Result> = {};
    for (const runtime of [undefined, RUNC]) {
      let name = "";
      const b = h.bundle((s) => {
        s.process!.args = ["true"];
        name = s.linux!.cgroupsPath!;
      });
      const dir = `/sys/fs/cgroup/pids/${name}`;
      mkdirSync(dir);
      const other = Bun.spawn(["sleep", "30"]);
      try {
        writeFileSync(`${dir}/cgroup.procs`, String(other.pid));
        out[runtime ? "runc" : "berth"] = await h.rt(["run", "--bundle", b, `ne${runtime ? "r" : "b"}`], runtime ? { runtime } : {});
      } finally {
        other.kill("SIGKILL");
        await other.exited;
        for (let i = 0; i < 50 && existsSync(dir); i++) {
          try {
            rmdirSync(dir);
          } catch {
            await Bun.sleep(20);
          }
        }
      }
    }
    expect(out.runc!.code).toBe(0);
    expect(out.berth!.code).toBe(0);
    expect(out.berth!.stderr).toContain("warning: container's cgroup is not empty: 1 process(es) found");
  });
});

describe("the foreground console", () => {
  // On a real terminal (a pty, stdin open) the first bytes are the program's. A "^@" seen under
  // `script -c … </dev/null` is script's own echo of the EOF it types, with runc as with berth.
  const PTY = "import os,pty,sys,select\npid,fd=pty.fork()\nif pid==0: os.execvp(sys.argv[1],sys.argv[1:])\nout=b''\nwhile select.select([fd],[],[],10)[0]:\n  try: d=os.read(fd,4096)\n  except OSError: break\n  if not d: break\n  out+=d\nos.waitpid(pid,0)\nsys.stdout.write(out.hex())";
  test("no stray byte before the program's output (run and exec -t)", async () => {
    const out: Record<string, string[]> = {};
    for (const runtime of [undefined, RUNC]) {
      const root = runtime ? `${h.root}-runc` : h.root;
      const bin = runtime ?? h.runtime;
      const tty = (args: string[]) => Buffer.from(Bun.spawnSync(["python3", "-c", PTY, bin, "--root", root, ...args]).stdout.toString(), "hex").toString("latin1");
      const b = h.bundle((s) => {
        s.process!.terminal = true;
        s.process!.args = ["echo", "hello"];
      });
      const run = tty(["run", "--bundle", b, `pty${runtime ? "r" : "b"}`]);
      const id = `ptx${runtime ? "r" : "b"}`;
      const b2 = h.bundle((s) => (s.process!.args = ["sleep", "30"]));
      expect((await h.rt(["run", "-d", "--bundle", b2, id], runtime ? { runtime } : {})).code).toBe(0);
      const ex = tty(["exec", "-t", id, "echo", "hi"]);
      await h.rt(["delete", "-f", id], runtime ? { runtime } : {});
      out[runtime ? "runc" : "berth"] = [run, ex];
    }
    // runc sometimes shows "hi\r\r\n" (output that arrives before it makes the terminal raw).
    expect(out.runc!.map((x) => x.replace(/\r+\n/g, "\r\n"))).toEqual(["hello\r\n", "hi\r\n"]);
    expect(out.berth).toEqual(["hello\r\n", "hi\r\n"]);
  });
});

describe("hooks", () => {
  test("startContainer hooks run under the container's seccomp filter", async () => {
    const r = await both(["true"], (s) => {
      s.process!.noNewPrivileges = true;
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] };
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: [] });
      s.hooks = { startContainer: [{ path: "/bin/mkdir", args: ["mkdir", "/tmp/x"] }] };
    });
    expect(r.runc.code).not.toBe(0);
    expect(r.runc.stderr).toMatch(/error running hook.*bad system call/);
    expect(r.berth.code).not.toBe(0);
    expect(r.berth.stderr).toMatch(/error running hook \/bin\/mkdir: killed by signal 31 \(Bad system call\)/);
  });
});
