// The engine's ContainerSpec → OCI spec, as data: capabilities, privileges, limits, mounts, init.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capabilitySet, toOciSpec, validateSpec, type ContainerSpec, type StartContext } from "../../src/engine/spec.ts";
import { DOCKER_DEFAULT_CAPS } from "../../src/image/config-to-spec.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const rootfs = mkdtempSync("/tmp/bt-unit-spec-");
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));
mkdirSync(join(rootfs, "etc"));
writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
const image = { config: { Cmd: ["sh"], Env: ["PATH=/bin"], StopSignal: "SIGUSR1" } };
const ctx = (o: Partial<StartContext> = {}): StartContext => ({
  id: "a".repeat(64), rootfs, volumePaths: new Map(), cgroupsPath: "berth-x", netns: { kind: "new" },
  etc: { hosts: "/run/h", hostname: "/run/n", resolvConf: "/run/r" }, ...o,
});
const oci = (s: Partial<ContainerSpec>, c?: Partial<StartContext>) => toOciSpec(image, { image: "busybox", ...s }, ctx(c));

describe("capabilities", () => {
  test("docker's defaults, then --cap-add, then --cap-drop; ALL in either", () => {
    expect(capabilitySet({})).toEqual([...DOCKER_DEFAULT_CAPS]);
    expect(capabilitySet({ capAdd: ["NET_ADMIN"] })).toContain("CAP_NET_ADMIN");
    expect(capabilitySet({ capDrop: ["chown", "CAP_KILL"] })).not.toContain("CAP_CHOWN");
    expect(capabilitySet({ capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] })).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(capabilitySet({ capAdd: ["ALL"] }).length).toBeGreaterThan(30);
    expect(() => capabilitySet({ capAdd: ["FLY"] })).toThrow(/--cap-add FLY: unknown capability/);
  });
  test("the process gets the set; privileged gets all, no seccomp, no masks, every device", () => {
    const s = oci({ capAdd: ["SYS_ADMIN"] });
    expect(s.process!.capabilities!.bounding).toContain("CAP_SYS_ADMIN");
    expect(s.linux!.seccomp).toBeDefined();
    const p = oci({ privileged: true });
    expect(p.process!.capabilities!.bounding!.length).toBe(capabilitySet({ privileged: true }).length);
    expect(p.linux!.seccomp).toBeUndefined();
    expect(p.linux!.maskedPaths).toEqual([]);
    expect(p.linux!.resources!.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(p.mounts!.find((m) => m.destination === "/sys")!.options).toContain("rw");
    expect(oci({ seccomp: "unconfined" }).linux!.seccomp).toBeUndefined();
    expect(oci({ noNewPrivileges: true }).process!.noNewPrivileges).toBe(true);
  });
});

describe("limits", () => {
  test("memory with docker's default swap (twice the memory), explicit swap, unlimited", () => {
    expect(oci({ memory: 64 << 20 }).linux!.resources!.memory).toEqual({ limit: 64 << 20, swap: 128 << 20 });
    expect(oci({ memory: 64 << 20, memorySwap: 100 << 20 }).linux!.resources!.memory).toEqual({ limit: 64 << 20, swap: 100 << 20 });
    expect(oci({ memory: 64 << 20, memorySwap: -1 }).linux!.resources!.memory!.swap).toBe(-1);
  });
  test("ulimits, cpu shares and cpuset, sysctls, shm size", () => {
    const s = oci({ ulimits: [{ name: "nofile", soft: 100, hard: 200 }], cpuShares: 512, cpusetCpus: "0", sysctls: { "net.ipv4.ip_forward": "1" }, shmSize: 128 << 20 });
    expect(s.process!.rlimits).toEqual([{ type: "RLIMIT_NOFILE", soft: 100, hard: 200 }]);
    expect(s.linux!.resources!.cpu).toMatchObject({ shares: 512, cpus: "0" });
    expect(s.linux!.sysctl).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(s.mounts!.find((m) => m.destination === "/dev/shm")!.options).toContain("size=131072k");
  });
});

describe("mounts", () => {
  test("binds, volumes (by their prepared path) and tmpfs, parents first, after the /etc files", () => {
    const s = oci({ mounts: [
      { type: "tmpfs", target: "/a/b", tmpfsSize: 1024, tmpfsMode: 0o700 },
      { type: "bind", source: "/tmp", target: "/a", readOnly: true },
      { type: "volume", source: "data", target: "/data" },
    ] }, { volumePaths: new Map([["/data", "/var/lib/berth/volumes/data/_data"]]) });
    const user = s.mounts!.slice(-3);
    expect(user.map((m) => m.destination)).toEqual(["/a", "/data", "/a/b"]);
    expect(user[0]).toEqual({ destination: "/a", type: "bind", source: "/tmp", options: ["rbind", "ro"] });
    expect(user[1]!.source).toBe("/var/lib/berth/volumes/data/_data");
    expect(user[2]!.options).toEqual(["nosuid", "nodev", "rw", "size=1024", "mode=700"]);
    const etc = s.mounts!.filter((m) => m.destination.startsWith("/etc/"));
    expect(etc.map((m) => [m.destination, m.source])).toEqual([["/etc/hostname", "/run/n"], ["/etc/hosts", "/run/h"], ["/etc/resolv.conf", "/run/r"]]);
  });
  test("a user mount on /etc/hosts replaces berth's", () => {
    const s = oci({ mounts: [{ type: "bind", source: "/etc/hosts", target: "/etc/hosts" }] });
    expect(s.mounts!.filter((m) => m.destination === "/etc/hosts").length).toBe(1);
  });
  test("--init runs tini as PID 1 in front of the command", () => {
    process.env.BERTH_INIT_BINARY = "/bin/true";
    const s = oci({ init: true, command: ["sleep", "1"] });
    delete process.env.BERTH_INIT_BINARY;
    expect(s.process!.args).toEqual(["/sbin/docker-init", "--", "sleep", "1"]);
    expect(s.mounts!.find((m) => m.destination === "/sbin/docker-init")!.source).toBe("/bin/true");
  });
  test("network: a new namespace, the host's, or a path", () => {
    expect(oci({}).linux!.namespaces!.find((n) => n.type === "network")).toEqual({ type: "network" });
    expect(oci({ network: { mode: "host" } }, { netns: { kind: "host" } }).linux!.namespaces!.find((n) => n.type === "network")).toBeUndefined();
    expect(oci({}, { netns: { kind: "path", path: "/proc/1/ns/net" } }).linux!.namespaces!.find((n) => n.type === "network")).toEqual({ type: "network", path: "/proc/1/ns/net" });
  });
});

describe("user namespaces", () => {
  const maps = { uidMappings: [{ containerID: 0, hostID: 2097152, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 2097152, size: 65536 }] };
  test("new: the mappings; joined: the path; binds and /etc files idmapped with them, tmpfs not", () => {
    const s = oci({ userns: maps, mounts: [{ type: "bind", source: "/tmp", target: "/data" }, { type: "tmpfs", target: "/scratch" }] }, { userns: { kind: "new" } });
    expect(s.linux!.namespaces!.filter((n) => n.type === "user")).toEqual([{ type: "user" }]);
    expect([s.linux!.uidMappings, s.linux!.gidMappings]).toEqual([maps.uidMappings, maps.gidMappings]);
    const idm = s.mounts!.filter((m) => m.uidMappings).map((m) => [m.destination, m.options!.at(-1)]);
    expect(idm).toEqual([["/etc/hostname", "idmap"], ["/etc/hosts", "idmap"], ["/etc/resolv.conf", "idmap"], ["/data", "idmap"]]);
    expect(s.mounts!.find((m) => m.destination === "/data")!.gidMappings).toEqual(maps.gidMappings);
    // Its own netns: sysfs can be mounted by the namespace's root.
    expect(s.mounts!.find((m) => m.destination === "/sys")!.type).toBe("sysfs");
    const j = oci({ userns: { ...maps, join: "container:x" } }, { userns: { kind: "path", path: "/proc/7/ns/user" }, netns: { kind: "path", path: "/run/netns/x" } });
    expect(j.linux!.namespaces!.filter((n) => n.type === "user")).toEqual([{ type: "user", path: "/proc/7/ns/user" }]);
    expect(j.linux!.uidMappings).toBeUndefined();
    // A netns it does not own (CNI's): the host's /sys, bound read-only, not idmapped.
    expect(j.mounts!.find((m) => m.destination === "/sys")).toEqual({ destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
  });
  test("no userns: no user namespace, nothing idmapped", () => {
    const s = oci({ mounts: [{ type: "bind", source: "/tmp", target: "/data" }] });
    expect(s.linux!.namespaces!.some((n) => n.type === "user")).toBe(false);
    expect(s.mounts!.some((m) => m.uidMappings)).toBe(false);
  });
});

describe("validateSpec names the bad input", () => {
  const bad = (s: Partial<ContainerSpec>, re: RegExp) => {
    let err: unknown;
    try {
      validateSpec({ image: "busybox", ...s });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    expect((err as Error).message).toMatch(re);
  };
  test("each rule", () => {
    bad({ mounts: [{ type: "bind", source: "/tmp", target: "/x" }, { type: "volume", target: "/x" }] }, /duplicate mount point: \/x/);
    bad({ mounts: [{ type: "bind", source: "/no/such/dir", target: "/x" }] }, /does not exist: \/no\/such\/dir/);
    bad({ mounts: [{ type: "bind", source: "/tmp", target: "x" }] }, /absolute path/);
    bad({ memory: 1024 }, /below the minimum of 6 MiB/);
    bad({ memorySwap: 1 << 30 }, /needs --memory/);
    bad({ memory: 64 << 20, memorySwap: 32 << 20 }, /less than --memory/);
    bad({ ulimits: [{ name: "bogus", soft: 1, hard: 1 }] }, /--ulimit bogus: unknown limit/);
    bad({ ulimits: [{ name: "nofile", soft: 10, hard: 1 }] }, /soft limit is above/);
    bad({ stopSignal: "SIGNOPE" }, /--stop-signal SIGNOPE/);
    bad({ restart: { name: "always" }, autoRemove: true }, /--restart and --rm conflict/);
    bad({ restart: { name: "always", maximumRetryCount: 3 } }, /a retry count goes with on-failure/);
    bad({ network: { mode: "container:" } }, /--network "container:"/);
    bad({ network: { mode: "host", ports: [{ hostPort: 80, containerPort: 80, protocol: "tcp" }] } }, /published ports \(-p, -P\) need a bridge network/);
    bad({ network: { mode: "container:web" }, hostname: "x" }, /--hostname, --dns, --add-host/);
    bad({ healthcheck: { test: ["RUN", "x"] } }, /start with CMD, CMD-SHELL or NONE/);
  });
});
