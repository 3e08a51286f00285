// Idmapped bind mounts (config.md "POSIX-platform Mounts": uidMappings, gidMappings, idmap,
// ridmap), checked from inside real containers. berth alone: Debian's runc 1.1.5 ignores a
// mount's mappings (the files show as they are on the host, or as 65534 in a user namespace).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Harness, leftoverCgroups } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const h = new Harness();
const mounted: string[] = [];
afterAll(async () => {
  for (const m of mounted.reverse()) Bun.spawnSync(["umount", "-l", m]);
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

const map = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });

/** A data directory owned by host root (1234 for its sub-directory), with a file. */
function data(): string {
  const d = h.tmpdir();
  chmodSync(d, 0o755);
  writeFileSync(join(d, "f"), "hello\n");
  mkdirSync(join(d, "u"));
  chownSync(join(d, "u"), 1234, 1234);
  return d;
}

/** A new user namespace mapping 0-65535 onto 200000-265535; /sys bound (sysfs needs its own netns owner). */
function userns(s: Spec) {
  s.linux!.namespaces!.push({ type: "user" });
  s.linux!.uidMappings = [map(0, 200000, 65536)];
  s.linux!.gidMappings = [map(0, 200000, 65536)];
  s.mounts = s.mounts!.filter((m) => m.destination !== "/sys/fs/cgroup").map((m) => (m.destination === "/sys" ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] } : m));
}

describe("idmapped bind mounts", () => {
  test("uidMappings/gidMappings without a user namespace: stored ids appear as the mapping's host ids, unmapped ones as the overflow id", async () => {
    const d = data();
    writeFileSync(join(d, "o"), "");
    chownSync(join(d, "o"), 555, 555);
    const r = await h.run(["sh", "-c", "stat -c '%n %u:%g' /data/f /data/u /data /data/o"], (s) => {
      s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["rbind", "idmap"], uidMappings: [map(0, 300000, 10), map(1234, 4321, 1)], gidMappings: [map(0, 300000, 10), map(1234, 4322, 1)] });
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/data/f 300000:300000\n/data/u 4321:4322\n/data 300000:300000\n/data/o 65534:65534\n");
    // The host's files are untouched.
    expect([statSync(join(d, "f")).uid, statSync(join(d, "u")).uid]).toEqual([0, 1234]);
  });

  test("idmap with the container's mapping: host root's files are root's inside; what root writes is host root's on disk", async () => {
    const d = data();
    const r = await h.run(["sh", "-c", "id -u; cat /proc/self/uid_map; stat -c '%u:%g' /data/f; cat /data/f; echo w > /data/new; stat -c '%u:%g' /data/new; ls -ln /etc/passwd | awk '{print $3}'"], (s) => {
      userns(s);
      s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["bind", "idmap"] });
    });
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("0");
    expect(lines[1]!.trim().split(/\s+/)).toEqual(["0", "200000", "65536"]);
    expect(lines.slice(2, 5)).toEqual(["0:0", "hello", "0:0"]);
    // The rootfs is not idmapped (runc's rule: the bundle's rootfs is the caller's business): host root shows as nobody.
    expect(lines[5]).toBe("65534");
    const st = statSync(join(d, "new"));
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  test("explicit mappings in a user namespace: a mapping other than the container's (a helper user namespace made for it)", async () => {
    const d = data();
    // Stored 1234 → host 201234 → 1234 inside; stored 0 → host 200005 → 5 inside.
    const r = await h.run(["sh", "-c", "stat -c '%u:%g' /data/f /data/u"], (s) => {
      userns(s);
      s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["bind", "idmap"], uidMappings: [map(0, 200005, 1), map(1234, 201234, 1)], gidMappings: [map(0, 200006, 1), map(1234, 201234, 1)] });
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("5:6\n1234:1234\n");
  });

  test("ridmap idmaps the submounts of an rbind; idmap only its top mount", async () => {
    const d = data();
    mkdirSync(join(d, "sub"));
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k,mode=755", "bt-idmap", join(d, "sub")]).exitCode).toBe(0);
    mounted.push(join(d, "sub"));
    writeFileSync(join(d, "sub", "g"), "x");
    const look = (opt: string) => h.run(["stat", "-c", "%u", "/data/f", "/data/sub/g"], (s) => {
      s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["rbind", opt], uidMappings: [map(0, 300000, 10)], gidMappings: [map(0, 300000, 10)] });
    });
    const rec = await look("ridmap");
    expect(rec.stderr).toBe("");
    expect(rec.stdout).toBe("300000\n300000\n");
    expect((await look("idmap")).stdout).toBe("300000\n0\n");
  });

  test("read-only and idmapped together", async () => {
    const d = data();
    const r = await h.run(["sh", "-c", "stat -c '%u' /data/f; echo x > /data/f2 || echo refused"], (s) => {
      s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["bind", "ro"], uidMappings: [map(0, 300000, 10)], gidMappings: [map(0, 300000, 10)] });
    });
    expect(r.stdout).toBe("300000\nrefused\n");
    expect(existsSync(join(d, "f2"))).toBe(false);
  });
});

describe("a joined user namespace", () => {
  test("with a network namespace it does not own (this process's, the host's): joined in two passes; its idmapped mounts use it; exec too", async () => {
    const d = data();
    const a = h.bundle((s) => {
      s.process!.args = ["sleep", "300"];
      userns(s);
    });
    expect((await h.rt(["run", "-d", "--bundle", a, "idm-a"])).stderr).toBe("");
    const aPid = JSON.parse((await h.rt(["state", "idm-a"])).stdout).pid as number;
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /data/f; readlink /proc/self/ns/user; readlink /proc/self/ns/net; exec sleep 300"];
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "network").concat({ type: "user", path: `/proc/${aPid}/ns/user` }, { type: "network", path: `/proc/${process.pid}/ns/net` });
      delete s.hostname;
      s.linux!.namespaces = s.linux!.namespaces.filter((n) => n.type !== "uts");
      // The host's netns is not the user namespace's: sysfs cannot be mounted, bind the host's.
      s.mounts = s.mounts!.filter((m) => m.destination !== "/sys/fs/cgroup").map((m) => (m.destination === "/sys" ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] } : m));
      // No mappings: the joined namespace's (read from /proc/PID/uid_map), and so that namespace itself.
      s.mounts.push({ destination: "/data", type: "bind", source: d, options: ["bind", "idmap"] });
    });
    const out = join(h.tmpdir(), "out");
    const p = Bun.spawn(["sh", "-c", `exec "$0" --root "$1" run --bundle "$2" idm-b > "$3" 2>&1`, h.runtime, h.root, b, out], { stdio: ["ignore", "ignore", "inherit"] });
    for (let i = 0; i < 200 && !(existsSync(out) && readFileSync(out, "utf8").split("\n").length > 6); i++) await Bun.sleep(10);
    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines[0]).toBe("0");
    expect(lines[1]!.trim().split(/\s+/)).toEqual(["0", "200000", "65536"]);
    expect(lines[2]).toBe("0");
    expect(lines[3]).toBe(readlinkSync(`/proc/${aPid}/ns/user`));
    expect(lines[4]).toBe(readlinkSync("/proc/self/ns/net"));
    const ex = await h.rt(["exec", "idm-b", "sh", "-c", "id -u; readlink /proc/self/ns/net; stat -c %u /data/f"]);
    expect(ex.stderr).toBe("");
    expect(ex.stdout).toBe(`0\n${readlinkSync("/proc/self/ns/net")}\n0\n`);
    await h.rt(["kill", "idm-b", "KILL"]);
    await p.exited;
    await h.rt(["delete", "-f", "idm-b"]);
    await h.rt(["delete", "-f", "idm-a"]);
  });
});

describe("idmapped mounts: bad input names the mount, nothing is left behind", () => {
  const runBad = async (edit: (s: Spec) => void) => {
    const before = readdirSync(h.root).filter((n) => !n.startsWith("."));
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      edit(s);
    });
    const r = await h.rt(["run", "--bundle", b, "bad-idmap"]);
    expect(r.code).not.toBe(0);
    expect(readdirSync(h.root).filter((n) => !n.startsWith("."))).toEqual(before);
    expect(h.leftoverCgroupsOf(b)).toEqual([]);
    return r.stderr;
  };

  test("idmap without mappings and without a user namespace", async () => {
    const d = data();
    expect(await runBad((s) => s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["bind", "idmap"] })))
      .toMatch(/mounts\[\d+\]\.options: "idmap" without uidMappings\/gidMappings uses the container's user namespace mappings/);
  });

  test("a tmpfs mount cannot be idmapped; uidMappings without gidMappings", async () => {
    expect(await runBad((s) => s.mounts!.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"], uidMappings: [map(0, 1, 1)], gidMappings: [map(0, 1, 1)] })))
      .toMatch(/mounts\[\d+\]\.uidMappings: idmapped mounts are bind mounts only/);
    const d = data();
    expect(await runBad((s) => s.mounts!.push({ destination: "/data", type: "bind", source: d, options: ["bind"], uidMappings: [map(0, 1, 1)] })))
      .toMatch(/mounts\[\d+\]\.gidMappings: uidMappings and gidMappings of a mount go together/);
  });

  test("a source whose file system cannot be idmapped (an overlay mount) fails naming it", async () => {
    const d = h.tmpdir();
    for (const x of ["l", "u", "w", "m"]) mkdirSync(join(d, x));
    expect(Bun.spawnSync(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${d}/l,upperdir=${d}/u,workdir=${d}/w`, join(d, "m")]).exitCode).toBe(0);
    mounted.push(join(d, "m"));
    const err = await runBad((s) => s.mounts!.push({ destination: "/data", type: "bind", source: join(d, "m"), options: ["bind"], uidMappings: [map(0, 300000, 10)], gidMappings: [map(0, 300000, 10)] }));
    expect(err).toMatch(/mounts\[\d+\]: open_tree.*MOUNT_ATTR_IDMAP.*failed: mount_setattr\(MOUNT_ATTR_IDMAP\) .*cannot be idmapped/);
    // The same with the container's own user namespace: made after the clone, the child waiting.
    const own = await runBad((s) => {
      userns(s);
      s.mounts!.push({ destination: "/data", type: "bind", source: join(d, "m"), options: ["bind", "idmap"] });
    });
    expect(own).toMatch(/mounts\[\d+\]: open_tree.*failed: mount_setattr\(MOUNT_ATTR_IDMAP\) .*cannot be idmapped/);
    Bun.spawnSync(["umount", join(d, "m")]);
    mounted.pop();
    rmSync(d, { recursive: true, force: true });
  });
});
