// Layout detection and cgroupsPath resolution as data: fake mountinfo and /proc/self/cgroup text.
import { describe, expect, test } from "bun:test";
import { openCgroupManager } from "../../src/cgroups/manager.ts";
import {
  detectLayout,
  dirChain,
  normalizeCgroupsPath,
  parseMountinfo,
  parseProcCgroup,
  resolveDir,
} from "../../src/cgroups/paths.ts";
import { isBerthError } from "../../src/sys/errdefs.ts";

// This machine's layout: v1 controllers, cpu and cpuacct NOT co-mounted, plus an (almost) empty
// cgroup2 at /sys/fs/cgroup/unified.
const HYBRID_MOUNTINFO = `22 1 8:1 / / rw,relatime - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_SELF = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

// A typical systemd v1 host: cpu,cpuacct co-mounted, optional fields before " - ".
const V1_MOUNTINFO = `25 19 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup rw,xattr,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid shared:12 - cgroup cgroup rw,pids
`;
const V1_SELF = `4:pids:/user.slice/user-1000.slice
3:memory:/user.slice
2:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
`;

const V2_MOUNTINFO = `35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V2_SELF = "0::/user.slice/user-1000.slice/session-2.scope\n";

describe("parse", () => {
  test("mountinfo: controllers, named hierarchies, cgroup2", () => {
    const ms = parseMountinfo(HYBRID_MOUNTINFO);
    expect(ms).toHaveLength(10);
    expect(ms[0]).toEqual({ fsType: "cgroup", mountPoint: "/sys/fs/cgroup/cpu", root: "/", controllers: ["cpu"] });
    expect(ms.find((m) => m.mountPoint.endsWith("systemd"))?.controllers).toEqual(["name=systemd"]);
    expect(ms.at(-1)).toEqual({ fsType: "cgroup2", mountPoint: "/sys/fs/cgroup/unified", root: "/", controllers: [] });
    expect(parseMountinfo(V1_MOUNTINFO)[1]?.controllers).toEqual(["cpu", "cpuacct"]);
  });

  test("mountinfo: octal escapes in paths", () => {
    const ms = parseMountinfo("50 1 0:40 /a\\040b /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n");
    expect(ms[0]?.mountPoint).toBe("/mnt/cg x");
    expect(ms[0]?.root).toBe("/a b");
  });

  test("/proc/self/cgroup", () => {
    const s = parseProcCgroup(V1_SELF);
    expect(s.v1.get("cpu")).toBe("/user.slice");
    expect(s.v1.get("cpuacct")).toBe("/user.slice");
    expect(s.v1.get("name=systemd")).toBe("/user.slice/user-1000.slice/session-2.scope");
    expect(s.unified).toBeUndefined();
    expect(parseProcCgroup(HYBRID_SELF).unified).toBe("/");
  });

  test("layout", () => {
    expect(detectLayout(parseMountinfo(HYBRID_MOUNTINFO))).toBe("hybrid");
    expect(detectLayout(parseMountinfo(V1_MOUNTINFO))).toBe("v1");
    expect(detectLayout(parseMountinfo(V2_MOUNTINFO))).toBe("v2");
    expect(() => detectLayout([])).toThrow(/no cgroup file system/);
  });
});

describe("cgroupsPath", () => {
  test("empty means relative, named after the id", () => {
    expect(normalizeCgroupsPath(undefined, "c1")).toEqual({ path: "c1", absolute: false });
    expect(normalizeCgroupsPath("", "c1")).toEqual({ path: "c1", absolute: false });
  });
  test("absolute and relative are cleaned; .. cannot climb out", () => {
    expect(normalizeCgroupsPath("/berth//x/./y", "c")).toEqual({ path: "/berth/x/y", absolute: true });
    expect(normalizeCgroupsPath("../../etc", "c")).toEqual({ path: "etc", absolute: false });
    expect(normalizeCgroupsPath("/../../x", "c")).toEqual({ path: "/x", absolute: true });
  });
  test("systemd slice:prefix:name is NotImplemented, naming the field", () => {
    try {
      normalizeCgroupsPath("system.slice:docker:abc", "c");
      throw new Error("no throw");
    } catch (e) {
      expect(isBerthError(e, "NotImplemented")).toBe(true);
      expect((e as { field?: string }).field).toBe("linux.cgroupsPath");
    }
    expect(() => normalizeCgroupsPath(":berth:abc", "c")).toThrow(/systemd/);
  });
  test("the root cgroup is refused", () => {
    expect(() => normalizeCgroupsPath("/", "c")).toThrow(/root cgroup/);
    expect(() => normalizeCgroupsPath("..", "c")).toThrow(/root cgroup/);
  });
  test("mount root not / (inside a container) is cut from our own path", () => {
    const m = { fsType: "cgroup2" as const, mountPoint: "/sys/fs/cgroup", root: "/kubepods/pod1", controllers: [] };
    expect(resolveDir(m, { path: "c1", absolute: false }, "/kubepods/pod1/ctr")).toBe("/sys/fs/cgroup/ctr/c1");
    expect(resolveDir(m, { path: "/x", absolute: true }, "/kubepods/pod1")).toBe("/sys/fs/cgroup/x");
  });
  test("dirChain", () => {
    expect(dirChain("/m", "/m/a/b")).toEqual(["/m/a", "/m/a/b"]);
    expect(dirChain("/m", "/m")).toEqual([]);
    expect(dirChain("/m", "/other")).toEqual([]);
  });
});

describe("openCgroupManager (no file system writes)", () => {
  test("hybrid host → v1 driver; relative path under our own cgroup in each hierarchy", () => {
    const m = openCgroupManager({ id: "c1", mountinfo: HYBRID_MOUNTINFO, procSelfCgroup: HYBRID_SELF });
    expect(m.driver).toBe("v1");
    expect(m.layout).toBe("hybrid");
    expect(m.paths.memory).toBe("/sys/fs/cgroup/memory/process_api/abc/c1");
    expect(m.paths.cpu).toBe("/sys/fs/cgroup/cpu/c1");
    expect(m.paths["name=systemd"]).toBe("/sys/fs/cgroup/systemd/c1");
    expect(m.procsFiles()).toContain("/sys/fs/cgroup/memory/process_api/abc/c1/cgroup.procs");
    // …and its directory in the cgroup2 hierarchy, key "" as in runc's cgroup_paths.
    expect(m.paths[""]).toMatch(/^\/sys\/fs\/cgroup\/unified\/.*c1$/);
    expect(m.procsFiles()).toHaveLength(10);
    expect(m.tasksFiles!()).toHaveLength(9);
    expect(m.unifiedDir!()).toBe(m.paths[""]);
  });
  test("v1 host: co-mounted cpu,cpuacct share one directory; absolute path under the mount", () => {
    const rel = openCgroupManager({ id: "c1", cgroupsPath: "berth/c1", mountinfo: V1_MOUNTINFO, procSelfCgroup: V1_SELF });
    expect(rel.layout).toBe("v1");
    expect(rel.paths.cpu).toBe("/sys/fs/cgroup/cpu,cpuacct/user.slice/berth/c1");
    expect(rel.paths.cpuacct).toBe(rel.paths.cpu);
    expect(rel.procsFiles()).toHaveLength(4);
    const abs = openCgroupManager({ id: "c1", cgroupsPath: "/berth/c1", mountinfo: V1_MOUNTINFO, procSelfCgroup: V1_SELF });
    expect(abs.paths.pids).toBe("/sys/fs/cgroup/pids/berth/c1");
  });
  test("pure v2 → v2 driver with the single key ''", () => {
    const m = openCgroupManager({ id: "c1", mountinfo: V2_MOUNTINFO, procSelfCgroup: V2_SELF });
    expect(m.driver).toBe("v2");
    expect(m.paths).toEqual({ "": "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/c1" });
    const abs = openCgroupManager({ id: "c1", cgroupsPath: "/berth/c1", mountinfo: V2_MOUNTINFO, procSelfCgroup: V2_SELF });
    expect(abs.procsFiles()).toEqual(["/sys/fs/cgroup/berth/c1/cgroup.procs"]);
  });
  test("driver v2 forced on hybrid uses the cgroup2 mount", () => {
    const m = openCgroupManager({ id: "c1", driver: "v2", mountinfo: HYBRID_MOUNTINFO, procSelfCgroup: HYBRID_SELF });
    expect(m.paths[""]).toBe("/sys/fs/cgroup/unified/c1");
  });
  test("re-open from saved paths", () => {
    const a = openCgroupManager({ id: "c1", mountinfo: V1_MOUNTINFO, procSelfCgroup: V1_SELF });
    const b = openCgroupManager({ id: "c1", mountinfo: V1_MOUNTINFO, procSelfCgroup: V1_SELF, paths: { ...a.paths } });
    expect(b.paths).toEqual(a.paths);
    expect(b.procsFiles().sort()).toEqual(a.procsFiles().sort());
  });
});
