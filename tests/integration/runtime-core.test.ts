// berth-runtime on real containers from the busybox bundle, checked from inside.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync, openSync, closeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Harness, leftoverCgroups } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const h = new Harness();
afterAll(async () => {
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

describe("namespaces, checked from inside", () => {
  test("own hostname and domainname; the host's is unchanged", async () => {
    const before = hostname();
    const r = await h.run(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"], (s) => {
      s.hostname = "berth-box";
      s.domainname = "example.test";
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("berth-box\nexample.test\n");
    expect(r.code).toBe(0);
    expect(hostname()).toBe(before);
  });

  test("the container's program is PID 1 and sees only its own processes", async () => {
    const r = await h.run(["sh", "-c", "echo $$; ps -o pid,comm | wc -l"]);
    const [pid, lines] = r.stdout.trim().split("\n");
    expect(pid).toBe("1");
    // header + sh + ps + wc: the host's processes are not visible
    expect(Number(lines)).toBeLessThanOrEqual(4);
  });

  test("a System V message queue made inside is invisible outside (IPC namespace)", async () => {
    // busybox-static has no ipcmk applet: run the host's ipcmk inside the container's IPC
    // namespace (nsenter), then look from inside and from the host.
    const count = () => readFileSync("/proc/sysvipc/msg", "utf8").trim().split("\n").length - 1;
    const before = count();
    const b = h.bundle((s) => (s.process!.args = ["sleep", "30"]));
    expect((await h.rt(["run", "-d", "--bundle", b, "ipc"])).code).toBe(0);
    const { pid } = JSON.parse((await h.rt(["state", "ipc"])).stdout);
    const mk = Bun.spawnSync(["nsenter", `--ipc=/proc/${pid}/ns/ipc`, "ipcmk", "-Q"]);
    expect(mk.exitCode).toBe(0);
    const inside = Bun.spawnSync(["nsenter", `--ipc=/proc/${pid}/ns/ipc`, `--mount=/proc/${pid}/ns/mnt`, "/bin/cat", "/proc/sysvipc/msg"]);
    expect(inside.stdout.toString().trim().split("\n").length - 1).toBe(1);
    expect(count()).toBe(before);
    await h.rt(["delete", "--force", "ipc"]);
  });

  test("a new network namespace has only lo, and it is up (as runc brings it up)", async () => {
    const r = await h.run(["sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/operstate"]);
    expect(r.stdout).toBe("lo\nunknown\n".replace("unknown", r.stdout.split("\n")[1] ?? ""));
    expect(r.stdout.split("\n")[0]).toBe("lo");
    expect(r.stdout.trim().split("\n").length).toBe(2);
    const flags = await h.run(["cat", "/sys/class/net/lo/flags"]);
    expect(Number(flags.stdout.trim()) & 1).toBe(1); // IFF_UP set
  });

  test("uid_map and gid_map are as configured in a user namespace", async () => {
    const r = await h.run(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"], (s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      // sysfs needs a network namespace owned by the user namespace; bind it like rootless runc.
      s.mounts = s.mounts!.filter((m) => m.destination !== "/sys/fs/cgroup").map((m) => (m.destination === "/sys" ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] } : m));
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").map((l) => l.trim().split(/\s+/).join(" "))).toEqual(["0 100000 65536", "0 100000 65536", "0", ""]);
  });

  test("a time namespace applies monotonic offsets", async () => {
    const r = await h.run(["cat", "/proc/uptime"], (s) => {
      s.linux!.namespaces!.push({ type: "time" });
      s.linux!.timeOffsets = { boottime: { secs: 86400 * 365 } };
    });
    expect(Number(r.stdout.split(" ")[0])).toBeGreaterThan(86400 * 365);
  });

  test("a cgroup namespace makes the container's cgroup its root", async () => {
    const r = await h.run(["cat", "/proc/self/cgroup"], (s) => s.linux!.namespaces!.push({ type: "cgroup" }));
    for (const line of r.stdout.trim().split("\n")) expect(line.endsWith(":/")).toBe(true);
  });

  test("joining an existing namespace by path (the uts namespace of a running container)", async () => {
    const b1 = h.bundle((s) => {
      s.process!.args = ["sleep", "30"];
      s.hostname = "first";
    });
    expect((await h.rt(["run", "-d", "--bundle", b1, "ns-owner"])).code).toBe(0);
    const st = JSON.parse((await h.rt(["state", "ns-owner"])).stdout);
    const r = await h.run(["hostname"], (s) => {
      s.hostname = undefined;
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "uts" ? { type: "uts", path: `/proc/${st.pid}/ns/uts` } : n));
    });
    expect(r.stdout.trim()).toBe("first");
    await h.rt(["delete", "--force", "ns-owner"]);
  });
});

describe("root file system and mounts", () => {
  test("after pivot_root the host's root is not visible", async () => {
    expect(existsSync("/work")).toBe(true);
    const r = await h.run(["sh", "-c", `ls /; test -e /work && echo LEAK; awk '$5 == "/"' /proc/self/mountinfo | wc -l`]);
    expect(r.stdout).not.toContain("LEAK");
    expect(r.stdout.split("\n")).toContain("bin");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("1");
  });

  test("--no-pivot also hides the host root (MS_MOVE + chroot)", async () => {
    const b = h.bundle((s) => (s.process!.args = ["sh", "-c", "test -e /work && echo LEAK; echo ok"]));
    const r = await h.rt(["run", "--no-pivot", "--bundle", b, "nopivot"]);
    expect(r.stdout).toBe("ok\n");
  });

  test("a tmpfs /tmp is private to the container", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "echo secret > /tmp/inside && cat /tmp/inside && grep ' /tmp ' /proc/mounts"];
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] });
    }, { copyRootfs: true });
    const r = await h.rt(["run", "--bundle", b, "tmpfs"]);
    expect(r.stdout).toStartWith("secret\ntmpfs /tmp tmpfs rw,nosuid,nodev");
    expect(existsSync(join(b, "rootfs/tmp/inside"))).toBe(false);
  });

  test("tmpcopyup: a tmpfs over a directory starts with its contents (modes, links kept)", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "cat /etc/passwd | head -1; stat -c '%a %U' /etc/sub /etc/sub/secret; readlink /etc/link; echo new > /etc/new && cat /etc/new; grep ' /etc ' /proc/mounts | cut -d' ' -f3"];
      s.mounts!.push({ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "tmpcopyup"] });
    }, { copyRootfs: true });
    mkdirSync(join(b, "rootfs/etc/sub"), { mode: 0o750 });
    writeFileSync(join(b, "rootfs/etc/sub/secret"), "x", { mode: 0o600 });
    symlinkSync("passwd", join(b, "rootfs/etc/link"));
    const r = await h.rt(["run", "--bundle", b, "copyup"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("root:x:0:0:root:/root:/bin/sh\n750 root\n600 root\npasswd\nnew\ntmpfs\n");
    expect(existsSync(join(b, "rootfs/etc/new"))).toBe(false);
  });

  test("the rootfs is read-only when root.readonly is set", async () => {
    const r = await h.run(["sh", "-c", "touch /x 2>&1; echo $?"]);
    expect(r.stdout).toContain("Read-only file system");
  });

  test("bind mounts: read-only, file targets, and rbind", async () => {
    const data = h.tmpdir();
    writeFileSync(join(data, "f"), "from host\n");
    const r = await h.run(["sh", "-c", "cat /data/f /single; (echo x > /data/g) 2>/dev/null || echo readonly"], (s) => {
      s.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["rbind", "ro"] });
      s.mounts!.push({ destination: "/single", type: "bind", source: join(data, "f"), options: ["bind"] });
    }, { copyRootfs: true });
    expect(r.stdout).toBe("from host\nfrom host\nreadonly\n");
  });

  test("masked and read-only paths", async () => {
    const r = await h.run(["sh", "-c", "wc -c < /proc/keys; ls /sys/firmware | wc -l; (echo 1 > /proc/sys/vm/drop_caches) 2>&1"]);
    const [keys, firmware, write] = r.stdout.trim().split("\n");
    expect(keys?.trim()).toBe("0");
    expect(firmware?.trim()).toBe("0");
    expect(write).toContain("Read-only file system");
  });

  test("default devices and /dev links exist and work", async () => {
    const r = await h.run(["sh", "-c", "ls /dev; head -c 4 /dev/zero | wc -c; readlink /dev/fd; readlink /dev/ptmx"]);
    for (const d of ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "stdin", "stdout", "stderr"]) expect(r.stdout.split("\n")).toContain(d);
    expect(r.stdout).toContain("\n4\n/proc/self/fd\npts/ptmx\n");
  });

  test("custom linux.devices are created with their mode and owner", async () => {
    const r = await h.run(["sh", "-c", "stat -c '%t:%T %a %u:%g %F' /dev/berth-null"], (s) => {
      s.linux!.devices = [{ type: "c", path: "/dev/berth-null", major: 1, minor: 3, fileMode: 0o640, uid: 12, gid: 34 }];
    });
    expect(r.stdout.trim()).toBe("1:3 640 12:34 character special file");
  });

  test("sysctl is written inside the container's namespaces only", async () => {
    const host = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const r = await h.run(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/msgmax"], (s) => {
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1", "kernel.msgmax": "12345" };
    });
    expect(r.stdout).toBe("1\n12345\n");
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(host);
  });

  test("net.* sysctls in a joined network namespace that is not the host's (a CRI pod's), as runc; refused in the host's", async () => {
    const ns = join(h.tmpdir(), "netns");
    writeFileSync(ns, "");
    const made = Bun.spawnSync(["unshare", `--net=${ns}`, "true"]);
    expect(made.exitCode).toBe(0);
    const join_ = (path: string) => (s: Spec) => {
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path } : n));
      s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    };
    try {
      for (const runtime of ["berth", "runc"]) {
        const r = await h.run(["cat", "/proc/sys/net/ipv4/ip_forward"], join_(ns), runtime === "runc" ? { runtime: "runc" } : {});
        expect({ runtime, code: r.code, out: r.stdout }).toEqual({ runtime, code: 0, out: "1\n" });
        const host = await h.run(["true"], join_("/proc/self/ns/net"), runtime === "runc" ? { runtime: "runc" } : {});
        expect({ runtime, failed: host.code !== 0 }).toEqual({ runtime, failed: true });
        if (runtime === "berth") expect(host.stderr).toContain("linux.sysctl.net.ipv4.ip_forward: net.* sysctls need a network namespace of the container's own");
      }
    } finally {
      Bun.spawnSync(["umount", ns]);
    }
  });

  test("a mount destination that is a symlink pointing out of the rootfs stays inside (CVE-2021-30465)", async () => {
    // /escape -> <a host directory>: followed on the host, the tmpfs would land in that directory.
    const outside = h.tmpdir();
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", `grep -c ' ${outside}/sub tmpfs' /proc/mounts`];
      s.mounts!.push({ destination: "/escape/sub", type: "tmpfs", source: "tmpfs", options: [] });
    }, { copyRootfs: true });
    symlinkSync(outside, join(b, "rootfs/escape"));
    mkdirSync(join(b, "rootfs", outside), { recursive: true });
    const r = await h.rt(["run", "--bundle", b, "cve-30465"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("1"); // mounted at the symlink's target *inside* the rootfs
    expect(existsSync(join(b, "rootfs", outside, "sub"))).toBe(true);
    // The target resolved inside the rootfs: nothing was made or mounted in the host directory.
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(outside);
  });
});

describe("process", () => {
  test("user, groups, umask and cwd", async () => {
    const r = await h.run(["sh", "-c", "id; umask; pwd"], (s) => {
      s.process!.user = { uid: 1000, gid: 1001, additionalGids: [5, 7], umask: 0o027 };
      s.process!.cwd = "/tmp";
    });
    expect(r.stdout).toBe("uid=1000 gid=1001 groups=5,7\n0027\n/tmp\n");
  });

  test("capabilities: the five sets are as configured", async () => {
    const r = await h.run(["grep", "^Cap", "/proc/self/status"], (s) => {
      s.process!.capabilities = { bounding: ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"], effective: ["CAP_KILL", "CAP_CHOWN"], permitted: ["CAP_KILL", "CAP_CHOWN"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"] };
    });
    const caps = Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split(":\t")).map(([k, v]) => [k, BigInt("0x" + v)]));
    const CHOWN = 1n, KILL = 1n << 5n, NET_RAW = 1n << 13n;
    expect(caps.CapBnd).toBe(CHOWN | KILL | NET_RAW);
    expect(caps.CapEff).toBe(CHOWN | KILL);
    expect(caps.CapPrm).toBe(CHOWN | KILL);
    expect(caps.CapInh).toBe(KILL);
    expect(caps.CapAmb).toBe(KILL);
  });

  test("oomScoreAdj", async () => {
    const r = await h.run(["cat", "/proc/self/oom_score_adj"], (s) => (s.process!.oomScoreAdj = 500));
    expect(r.stdout).toBe("500\n");
  });

  test("rlimits and noNewPrivileges", async () => {
    const r = await h.run(["sh", "-c", "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status"], (s) => {
      s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }];
      s.process!.noNewPrivileges = true;
    });
    expect(r.stdout.split("\n").slice(0, 3).map((l) => l.replace(/\s+/g, " "))).toEqual(["321", "654", "NoNewPrivs: 1"]);
  });

  test("env and args reach the program; the exit status is the container's", async () => {
    const r = await h.run(["sh", "-c", "echo \"$GREETING $0 $1\"; exit 7", "zero", "one"], (s) => s.process!.env!.push("GREETING=hi"));
    expect(r.stdout).toBe("hi zero one\n");
    expect(r.code).toBe(7);
  });

  test("a foreground run whose container is killed exits with 128+signal", async () => {
    const b = h.bundle((s) => (s.process!.args = ["sleep", "30"]));
    const p = h.spawn(["run", "--bundle", b, "killed"]);
    for (let i = 0; i < 200 && JSON.parse((await h.rt(["state", "killed"])).stdout || "{}").status !== "running"; i++) await Bun.sleep(10);
    expect((await h.rt(["kill", "killed", "KILL"])).code).toBe(0);
    expect(await p.exited).toBe(137);
    expect(existsSync(join(h.root, "killed"))).toBe(false);
  });

  test("seccomp: the profile's errno for denied syscalls, others allowed", async () => {
    for (const nnp of [true, false]) {
      const r = await h.run(["sh", "-c", "mkdir /tmp/x 2>&1; echo still running"], (s) => {
        s.process!.noNewPrivileges = nnp;
        s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }] };
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("mkdir: can't create directory '/tmp/x': Function not implemented\nstill running\n");
    }
  });

  test("seccomp: a kill action kills the container with SIGSYS", async () => {
    const r = await h.run(["sh", "-c", "exec mkdir /tmp/x"], (s) => {
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }] };
    });
    expect(r.code).toBe(128 + 31);
  });

  test("no host file descriptor leaks into the container (CVE-2024-21626)", async () => {
    const fd = openSync("/", "r");
    try {
      const b = h.bundle((s) => (s.process!.args = ["sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; readlink /proc/self/cwd"]));
      // The runtime gets an extra open directory fd (as a careless caller would pass it).
      const r = await h.rt(["run", "--bundle", b, "fdleak"], { extraFds: [fd] });
      // 0-2 and the fd `ls` opens for the directory itself; nothing at 3 from the host.
      expect(r.stdout.trim().split("\n")[0]!.trim().split(" ").filter(Boolean).map(Number)).toEqual([0, 1, 2, 3]);
      expect(r.stdout.trim().split("\n")[1]).toBe("/");
    } finally {
      closeSync(fd);
    }
  });

  test("--preserve-fds passes exactly that many fds", async () => {
    const data = h.tmpdir();
    writeFileSync(join(data, "msg"), "passed in\n");
    const fd = openSync(join(data, "msg"), "r");
    try {
      const b = h.bundle((s) => (s.process!.args = ["sh", "-c", "cat <&3"]));
      const r = await h.rt(["run", "--preserve-fds", "1", "--bundle", b, "preserve"], { extraFds: [fd] });
      expect(r.stdout).toBe("passed in\n");
    } finally {
      closeSync(fd);
    }
  });
});

describe("lifecycle", () => {
  test("create blocks before exec; start releases it; state follows; the helper runs sealed (CVE-2019-5736)", async () => {
    const data = h.tmpdir();
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "echo started > /data/mark; sleep 30"];
      s.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["bind"] });
    }, { copyRootfs: true });
    const pidFile = join(data, "pid");
    const c = await h.rt(["create", "--bundle", b, "--pid-file", pidFile, "life"]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    const st1 = JSON.parse((await h.rt(["state", "life"])).stdout);
    expect(st1).toMatchObject({ ociVersion: "1.0.2-dev", id: "life", pid, status: "created", bundle: b });
    await Bun.sleep(100);
    expect(existsSync(join(data, "mark"))).toBe(false);
    // The waiting init is our helper, run from a sealed memfd: the host binary is not its exe.
    const { readlinkSync } = await import("node:fs");
    expect(readlinkSync(`/proc/${pid}/exe`)).toStartWith("/memfd:berth-init");
    expect(() => openSync(`/proc/${pid}/exe`, "w")).toThrow();

    expect((await h.rt(["start", "life"])).code).toBe(0);
    // The shell creates the file, then writes it: wait for the content, not just the file.
    const mark = () => (existsSync(join(data, "mark")) ? readFileSync(join(data, "mark"), "utf8") : "");
    for (let i = 0; i < 100 && mark() !== "started\n"; i++) await Bun.sleep(20);
    expect(mark()).toBe("started\n");
    expect(JSON.parse((await h.rt(["state", "life"])).stdout).status).toBe("running");
    const again = await h.rt(["start", "life"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("running, not created");

    const del = await h.rt(["delete", "life"]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain("--force");

    expect((await h.rt(["kill", "life", "KILL"])).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse((await h.rt(["state", "life"])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
    expect(JSON.parse((await h.rt(["state", "life"])).stdout).status).toBe("stopped");
    expect((await h.rt(["kill", "life", "TERM"])).code).not.toBe(0);
    expect((await h.rt(["delete", "life"])).code).toBe(0);
    expect((await h.rt(["state", "life"])).code).not.toBe(0);
  });

  test("list shows containers in table, json and quiet forms", async () => {
    const b = h.bundle((s) => (s.process!.args = ["sleep", "30"]));
    expect((await h.rt(["create", "--bundle", b, "listed"])).code).toBe(0);
    const table = await h.rt(["list"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table.stdout).toMatch(/listed\s+\d+\s+created/);
    const json = JSON.parse((await h.rt(["list", "--format", "json"])).stdout);
    expect(json.find((c: { id: string }) => c.id === "listed").status).toBe("created");
    expect((await h.rt(["list", "-q"])).stdout.split("\n")).toContain("listed");
    // delete of a created container needs no --force (as runc)
    expect((await h.rt(["delete", "listed"])).code).toBe(0);
  });

  test("kill --all signals every process of the container", async () => {
    const b = h.bundle((s) => (s.process!.args = ["sh", "-c", "sleep 30 & sleep 30 & wait"]));
    expect((await h.rt(["run", "-d", "--bundle", b, "killall"])).code).toBe(0);
    expect((await h.rt(["kill", "--all", "killall", "9"])).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse((await h.rt(["state", "killall"])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
    expect(JSON.parse((await h.rt(["state", "killall"])).stdout).status).toBe("stopped");
    expect((await h.rt(["delete", "killall"])).code).toBe(0);
  });

  test("hooks run in order with the state on stdin", async () => {
    const data = h.tmpdir();
    const log = join(data, "log");
    const hook = join(data, "hook.sh");
    writeFileSync(hook, `#!/bin/sh\nread -r state\necho "$1 $(echo "$state" | grep -o '"id":"[^"]*"') $(echo "$state" | grep -o '"status":"[^"]*"')" >> ${log}\n`, { mode: 0o755 });
    // startContainer hooks run inside the container (after pivot_root): give them a busybox copy.
    const inHook = "/hook.sh";
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      const mk = (name: string) => [{ path: hook, args: ["hook", name] }];
      s.hooks = { prestart: mk("prestart"), createRuntime: mk("createRuntime"), createContainer: mk("createContainer"), startContainer: [{ path: inHook, args: ["hook", "startContainer"] }], poststart: mk("poststart"), poststop: mk("poststop") };
      s.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["bind"] });
    }, { copyRootfs: true });
    writeFileSync(join(b, "rootfs/hook.sh"), `#!/bin/sh\nread -r state\necho "startContainer $(echo "$state" | grep -o '"id":"[^"]*"')" >> /data/log\n`, { mode: 0o755 });
    const r = await h.rt(["run", "--bundle", b, "hooked"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    expect(lines[0]).toContain('"id":"hooked"');
    expect(lines.at(-1)).toContain('"status":"stopped"');
  });

  test("with create and start, poststart still runs after the startContainer hook and the exec", async () => {
    const data = h.tmpdir();
    const log = join(data, "log");
    const hook = join(data, "hook.sh");
    writeFileSync(hook, `#!/bin/sh\necho "$1" >> ${log}\n`, { mode: 0o755 });
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "echo process >> /data/log; sleep 30"];
      s.hooks = { startContainer: [{ path: "/hook.sh", args: ["hook", "startContainer"] }], poststart: [{ path: hook, args: ["hook", "poststart"] }] };
      s.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["bind"] });
    }, { copyRootfs: true });
    writeFileSync(join(b, "rootfs/hook.sh"), `#!/bin/sh\necho "$1" >> /data/log\n`, { mode: 0o755 });
    expect((await h.rt(["create", "--bundle", b, "hooked2"])).code).toBe(0);
    expect((await h.rt(["start", "hooked2"])).code).toBe(0);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines.slice(0, 1)).toEqual(["startContainer"]);
    expect(lines).toContain("poststart");
    await h.rt(["delete", "--force", "hooked2"]);
  });

  test("hook timeouts: a createRuntime hook past its timeout fails create, nothing left behind", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      s.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] };
    });
    const t0 = performance.now();
    const r = await h.rt(["create", "--bundle", b, "slowhook"]);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hooks.createRuntime[0]");
    expect(r.stderr).toContain("timed out after 1s");
    expect(readdirSync(h.root)).not.toContain("slowhook");
    expect(h.leftoverCgroupsOf(b)).toEqual([]);
  });

  test("a poststart hook past its timeout is killed and reported as a warning; the container runs", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "echo ran"];
      s.hooks = { poststart: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] };
    });
    const r = await h.rt(["run", "--bundle", b, "slowpost"]);
    expect(r.stdout).toBe("ran\n");
    expect(r.stderr).toContain("hooks.poststart[0]: hook /bin/sleep timed out after 1s");
    expect(r.code).toBe(0);
  });

  test("a failing createRuntime hook fails create and leaves nothing behind", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      s.hooks = { createRuntime: [{ path: "/bin/false" }] };
    });
    const r = await h.rt(["create", "--bundle", b, "badhook"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hooks.createRuntime[0]");
    expect(readdirSync(h.root)).not.toContain("badhook");
  });
});

describe("cgroups", () => {
  test("a container runs under a 512 KiB memory limit and a pids limit of 1 (runc cannot)", async () => {
    const r = await h.run(["echo", "tiny"], (s) => (s.linux!.resources = { ...s.linux!.resources, memory: { limit: 512 * 1024 }, pids: { limit: 1 } }));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("tiny\n");
  });

  test("limits are applied: memory, pids, cpu read back from inside; a fork loop stops at pids.max", async () => {
    const r = await h.run(["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares; (for i in 1 2 3 4 5 6 7 8; do sleep 5 & done) 2>/dev/null; cat /sys/fs/cgroup/pids/pids.current /sys/fs/cgroup/pids/pids.events"], (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 5 }, cpu: { quota: 50000, period: 100000, shares: 512 } };
    });
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 4)).toEqual([String(64 * 1024 * 1024), "5", "50000", "512"]);
    expect(Number(lines[4])).toBeLessThanOrEqual(5); // never above pids.max: the other forks failed
    expect(Number(lines[5]!.split(" ")[1])).toBeGreaterThan(0); // pids.events: max N
  });
});

describe("why an exec failed, in words", () => {
  const cases: [string, (rootfs: string) => void, string, number][] = [
    ["a script with CRLF line endings", (r) => writeFileSync(join(r, "run.sh"), "#!/bin/sh\r\necho hi\r\n", { mode: 0o755 }), "#! line ends in \\r (Windows CRLF line endings)", 127],
    ["a script whose interpreter is missing", (r) => writeFileSync(join(r, "run.sh"), "#!/usr/bin/python3 -u\nprint(1)\n", { mode: 0o755 }), "its interpreter /usr/bin/python3 is not in the container", 127],
    ["a dynamically linked program without its loader", (r) => writeFileSync(join(r, "run.sh"), readFileSync("/usr/bin/true"), { mode: 0o755 }), "its dynamic loader /lib64/ld-linux-x86-64.so.2 is not in the container", 127],
    ["a file that is not a program", (r) => writeFileSync(join(r, "run.sh"), "just text\n", { mode: 0o755 }), "it is not a program and has no #! line", 126],
    ["a program for another architecture", (r) => {
      const elf = Buffer.alloc(64);
      elf.write("\x7fELF", 0, "latin1");
      elf[4] = 2; elf[5] = 1; elf[6] = 1; elf.writeUInt16LE(2, 16); elf.writeUInt16LE(183, 18); elf.writeUInt32LE(1, 20);
      writeFileSync(join(r, "run.sh"), elf, { mode: 0o755 });
    }, "it is built for another architecture (ELF machine 183; this host's is 62)", 126],
  ];
  for (const [name, make, words, code] of cases) {
    test(name, async () => {
      const b = h.bundle((s) => (s.process!.args = ["/run.sh"]), { copyRootfs: true });
      make(join(b, "rootfs"));
      const r = await h.rt(["run", "--bundle", b, `why-${code}-${name.length}`]);
      expect(r.stderr).toContain(words);
      expect(r.code).toBe(code);
    });
  }

  test("a path that is not executable is refused at create, with its mode", async () => {
    const b = h.bundle((s) => (s.process!.args = ["/etc/passwd"]));
    const r = await h.rt(["create", "--bundle", b, "why-noexec"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("it is not executable (mode 644)");
    expect(existsSync(join(h.root, "why-noexec"))).toBe(false);
  });
});

describe("terminals", () => {
  const receiver = join(import.meta.dir, "../lib/console-receiver.py");
  async function consoleSession(input: string, act: (sock: string) => Promise<void>): Promise<{ out: string; name: string }> {
    const dir = h.tmpdir();
    const sock = join(dir, "console.sock");
    const p = Bun.spawn(["python3", receiver, sock, input], { stdout: "pipe", stderr: "pipe" });
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read(); // "listening"
    expect(new TextDecoder().decode(first.value)).toContain("listening");
    await act(sock);
    let out = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const name = (await new Response(p.stderr as ReadableStream).text()).trim();
    await p.exited;
    return { out, name };
  }

  test("create --console-socket: the pty master reaches the socket and a session through it echoes input", async () => {
    const b = h.bundle((s) => {
      s.process!.terminal = true;
      s.process!.args = ["sh"];
      s.process!.consoleSize = { height: 33, width: 101 };
    });
    const { out, name } = await consoleSession("echo hi-$((6*7)); tty; stty size; ls -l /dev/console\nexit\n", async (sock) => {
      const c = await h.rt(["create", "--bundle", b, "--console-socket", sock, "tty1"]);
      expect(c.stderr).toBe("");
      expect((await h.rt(["start", "tty1"])).code).toBe(0);
    });
    expect(name).toBe("name=/dev/pts/0");
    expect(out).toContain("echo hi-$((6*7))"); // the terminal echoed what was typed
    expect(out).toContain("hi-42\r\n/dev/pts/0\r\n33 101\r\n");
    expect(out).toMatch(/crw--w----\s+1 root\s+5\s+136,\s+0 .* \/dev\/console/);
    await h.rt(["delete", "-f", "tty1"]);
  });

  test("exec -t --console-socket gives the exec'd process its own terminal", async () => {
    const b = h.bundle((s) => (s.process!.args = ["sleep", "60"]));
    expect((await h.rt(["run", "-d", "--bundle", b, "tty2"])).code).toBe(0);
    const { out } = await consoleSession("tty; echo $$\nexit\n", async (sock) => {
      const r = await h.rt(["exec", "-t", "-d", "--console-socket", sock, "tty2", "sh"]);
      expect(r.stderr).toBe("");
    });
    expect(out).toMatch(/\/dev\/pts\/\d+\r\n\d+\r\n/);
    await h.rt(["delete", "-f", "tty2"]);
  });

  test("foreground run with a terminal: berth-init is the console", async () => {
    const b = h.bundle((s) => {
      s.process!.terminal = true;
      s.process!.args = ["sh", "-c", "tty; exit 5"];
    });
    // `script` gives the runtime a terminal of its own, as an interactive user would have.
    const p = Bun.spawnSync(["script", "-qec", `${h.runtime} --root ${h.root} run --bundle ${b} tty3`, "/dev/null"], { stdin: "ignore" });
    expect(p.stdout.toString()).toContain("/dev/pts/0");
    expect(p.exitCode).toBe(5);
  });

  test("a terminal without a console socket is refused unless the runtime stays in the foreground", async () => {
    const b = h.bundle((s) => (s.process!.terminal = true));
    for (const args of [["create"], ["run", "-d"]]) {
      const r = await h.rt([...args, "--bundle", b, "tty4"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("needs --console-socket");
    }
  });
});

describe("bad input: clear errors, non-zero exit, nothing left behind", () => {
  const cases: [string, (s: import("../../src/runtime/spec/types.ts").Spec) => void, string][] = [
    ["unknown namespace", (s) => s.linux!.namespaces!.push({ type: "bogus" as never }), "linux.namespaces[5].type"],
    ["relative cwd", (s) => (s.process!.cwd = "tmp"), "process.cwd"],
    ["unknown capability", (s) => (s.process!.capabilities!.bounding = ["CAP_FLY"]), "process.capabilities.bounding"],
    ["unknown rlimit", (s) => (s.process!.rlimits = [{ type: "RLIMIT_WINGS", soft: 1, hard: 1 }]), "process.rlimits[0].type"],
    ["missing executable", (s) => (s.process!.args = ["no-such-program"]), "executable file not found"],
    ["hostname without uts namespace", (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "uts")), "hostname"],
    ["bind source missing", (s) => s.mounts!.push({ destination: "/x", type: "bind", source: "/nonexistent-berth", options: ["bind"] }), "mounts[7].source"],
    ["impossible rlimit (above the hard limit, no CAP_SYS_RESOURCE)", (s) => (s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1 << 30, hard: 1 << 30 }]), "process.rlimits[0]"],
    ["bad mount type", (s) => s.mounts!.push({ destination: "/x", type: "nosuchfs", source: "x" }), "mounts[7]"],
  ];
  for (const [name, edit, field] of cases) {
    test(name, async () => {
      const b = h.bundle((s) => {
        s.process!.args = ["true"];
        edit(s);
      });
      const id = `bad-${name.replace(/\W+/g, "-").slice(0, 30)}`;
      const r = await h.rt(["create", "--bundle", b, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(field);
      expect(existsSync(join(h.root, id))).toBe(false);
      expect(h.leftoverCgroupsOf(b)).toEqual([]);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(b);
    });
  }

  test("invalid JSON names the file", async () => {
    const b = h.bundle();
    writeFileSync(join(b, "config.json"), "{ nope");
    const r = await h.rt(["create", "--bundle", b, "badjson"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(b, "config.json"));
  });

  test("an id that exists already is refused, the first container is untouched", async () => {
    const b = h.bundle((s) => (s.process!.args = ["sleep", "30"]));
    expect((await h.rt(["create", "--bundle", b, "dup"])).code).toBe(0);
    const r = await h.rt(["create", "--bundle", b, "dup"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already exists");
    expect(JSON.parse((await h.rt(["state", "dup"])).stdout).status).toBe("created");
    await h.rt(["delete", "dup"]);
  });

  test("unknown flags and commands", async () => {
    expect((await h.rt(["create", "--frobnicate", "x"])).stderr).toContain("unknown flag --frobnicate");
    expect((await h.rt(["nosuchverb"])).code).toBe(3); // as runc
    expect((await h.rt(["--systemd-cgroup", "list"])).stderr).toContain("--systemd-cgroup is not supported");
  });
});

describe("--explain", () => {
  test("prints each kernel step with its time", async () => {
    const b = h.bundle((s) => (s.process!.args = ["true"]));
    const r = await h.rt(["--explain", "run", "--bundle", b, "explained"]);
    expect(r.code).toBe(0);
    for (const needle of ["clone3(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET|CLONE_INTO_CGROUP", 'mount("proc", "/proc", "proc")', "pivot_root(", 'sethostname("runc")', "/tasks", "cgroup-mkdir", "phase: create the cgroup"])
      expect(r.stderr).toContain(needle);
    expect(r.stderr).toMatch(/pivot_root\(.*\) \d+\.\d{3} ms/);
  });
});

test("the state directory of a stopped `run --keep` container stays until delete", async () => {
  const b = h.bundle((s) => (s.process!.args = ["true"]));
  expect((await h.rt(["run", "--keep", "--bundle", b, "kept"])).code).toBe(0);
  expect(JSON.parse((await h.rt(["state", "kept"])).stdout).status).toBe("stopped");
  expect((await h.rt(["delete", "kept"])).code).toBe(0);
  mkdirSync(join(h.root, "x-not-a-container"), { recursive: true });
  expect((await h.rt(["list", "-q"])).stdout).not.toContain("x-not-a-container");
});

test("a create interrupted before the state is final: delete --force still removes its process and cgroup", async () => {
  // The runtime is killed while berth-init is being set up: state.json says creating (pid 0).
  const b = h.bundle((s) => {
    s.process!.args = ["sleep", "30"];
    // The hook holds berth-init's parent for a second; it then finds its child gone and exits.
    s.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "1"] }] };
  });
  const p = h.spawn(["create", "--bundle", b, "interrupted"]);
  for (let i = 0; i < 200 && (await h.rt(["state", "interrupted"])).code !== 0; i++) await Bun.sleep(10);
  const st = JSON.parse((await h.rt(["state", "interrupted"])).stdout);
  expect(st.status).toBe("creating");
  await Bun.sleep(100); // berth-init's child is in the cgroup, the parent runs the hook
  process.kill(p.pid, "SIGKILL");
  await p.exited;
  expect((await h.rt(["kill", "interrupted", "KILL"])).stderr).toContain("still being created");
  expect((await h.rt(["delete", "interrupted"])).code).toBe(1);
  expect((await h.rt(["delete", "--force", "interrupted"])).code).toBe(0);
  expect(existsSync(join(h.root, "interrupted"))).toBe(false);
  expect(h.leftoverCgroupsOf(b)).toEqual([]);
});
