// translate.ts as data: CRI devices (stat of a test-made node and a directory of them) and
// hugepage limits → the engine's ContainerSpec; each bad input → InvalidArgument naming its field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { checkContainerUserns, containerSpec, podRunSpec, podUsernsMappings, resourcesSpec, usernsOptionsOf } from "../../src/api/cri/translate.ts";
import { devMajor, devMinor } from "../../src/engine/devices.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import type { ContainerConfig__Output } from "../../src/api/cri/generated/runtime/v1/ContainerConfig.ts";

let dir: string;
const asRoot = process.getuid?.() === 0;

const cfg = (over: Partial<ContainerConfig__Output>): ContainerConfig__Output =>
  ({ metadata: { name: "c", attempt: 0 }, image: { image: "busybox" }, command: [], args: [], working_dir: "", envs: [], mounts: [], devices: [], labels: {}, annotations: {}, log_path: "", stdin: false, stdin_once: false, tty: false, linux: null, windows: null, CDI_devices: [], ...over }) as unknown as ContainerConfig__Output;

const res = (hugepage_limits: { page_size: string; limit: string }[]) =>
  ({ cpu_period: "0", cpu_quota: "0", cpu_shares: "0", memory_limit_in_bytes: "0", oom_score_adj: "0", cpuset_cpus: "", cpuset_mems: "", hugepage_limits, unified: {}, memory_swap_limit_in_bytes: "0" }) as never;

function refusal(fn: () => unknown): { code: string; field?: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof BerthError) return { code: e.code, field: (e as BerthError & { field?: string }).field, message: e.message };
    throw e;
  }
  throw new Error("no refusal");
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bt-cri-tr-"));
  mkdirSync(join(dir, "devs", "sub"), { recursive: true });
  mkdirSync(join(dir, "devs", "pts"));
  if (asRoot) {
    for (const [p, t, ma, mi] of [["devs/a", "c", 1, 3], ["devs/sub/b", "c", 1, 5], ["devs/pts/x", "c", 1, 7], ["devs/console", "c", 5, 1], ["devs/blk", "b", 7, 200]] as const) {
      expect(spawnSync("mknod", ["-m", "640", join(dir, p), t, String(ma), String(mi)]).status).toBe(0);
    }
  }
  writeFileSync(join(dir, "devs", "plain"), "not a device");
  symlinkSync("/dev/null", join(dir, "null-link"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CRI devices → ContainerSpec.devices", () => {
  test("a device node: its type, major:minor, mode and owner from stat; the permissions as given", () => {
    const st = statSync("/dev/null");
    const { spec } = containerSpec(cfg({ devices: [{ host_path: "/dev/null", container_path: "/dev/mynull", permissions: "r" }] }));
    expect(spec.devices).toEqual([{ path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid, permissions: "r" }]);
    expect([devMajor(st.rdev), devMinor(st.rdev)]).toEqual([1, 3]);
  });

  test("a symlink is followed; an empty container_path is the host path; empty permissions is rwm", () => {
    const { spec } = containerSpec(cfg({ devices: [{ host_path: join(dir, "null-link"), container_path: "", permissions: "" }] }));
    expect(spec.devices?.map((d) => [d.path, d.type, d.major, d.minor, d.permissions])).toEqual([[join(dir, "null-link"), "c", 1, 3, "rwm"]]);
  });

  test.if(asRoot)("a directory adds every device under it, skipping pts and console and non-devices", () => {
    const { spec } = containerSpec(cfg({ devices: [{ host_path: join(dir, "devs"), container_path: "/dev/x", permissions: "rw" }] }));
    expect(spec.devices?.map((d) => [d.path, d.type, d.major, d.minor, d.fileMode, d.permissions])).toEqual([
      ["/dev/x/a", "c", 1, 3, 0o640, "rw"],
      ["/dev/x/blk", "b", 7, 200, 0o640, "rw"],
      ["/dev/x/sub/b", "c", 1, 5, 0o640, "rw"],
    ]);
  });

  test("bad devices → InvalidArgument naming the field and the path", () => {
    const missing = refusal(() => containerSpec(cfg({ devices: [{ host_path: "/dev/null", container_path: "/dev/n", permissions: "rwm" }, { host_path: join(dir, "nope"), container_path: "/dev/n2", permissions: "rwm" }] })));
    expect(missing.code).toBe("InvalidArgument");
    expect(missing.field).toBe("config.devices[1]");
    expect(missing.message).toContain(join(dir, "nope"));
    const plain = refusal(() => containerSpec(cfg({ devices: [{ host_path: join(dir, "devs", "plain"), container_path: "/dev/p", permissions: "rwm" }] })));
    expect([plain.code, plain.field]).toEqual(["InvalidArgument", "config.devices[0]"]);
    expect(plain.message).toContain("not a device node");
    const perm = refusal(() => containerSpec(cfg({ devices: [{ host_path: "/dev/null", container_path: "/dev/n", permissions: "rx" }] })));
    expect([perm.code, perm.field]).toEqual(["InvalidArgument", "config.devices[0].permissions"]);
    const rel = refusal(() => containerSpec(cfg({ devices: [{ host_path: "dev/null", container_path: "/dev/n", permissions: "r" }] })));
    expect([rel.code, rel.field]).toEqual(["InvalidArgument", "config.devices[0]"]);
  });
});

describe("CRI cpu and cpuset resources → ContainerSpec", () => {
  const with_ = (o: object) => ({ ...(res([]) as object), ...o }) as never;
  test("cpu_quota over cpu_period: the period kept unless it is the 100 ms default; cpuset_cpus and cpuset_mems as given", () => {
    expect(resourcesSpec(with_({ cpu_quota: "25000", cpu_period: "50000", cpuset_cpus: "0-1", cpuset_mems: "0" }))).toMatchObject({ cpus: 0.5, cpuPeriod: 50000, cpusetCpus: "0-1", cpusetMems: "0" });
    const dflt = resourcesSpec(with_({ cpu_quota: "50000", cpu_period: "100000" }));
    expect(dflt.cpus).toBe(0.5);
    expect(dflt.cpuPeriod).toBeUndefined();
    expect(resourcesSpec(with_({})).cpusetMems).toBeUndefined();
  });
});

describe("CRI hugepage_limits → ContainerSpec.hugepageLimits", () => {
  test("page sizes kept in the hugetlb form, limits as numbers", () => {
    expect(resourcesSpec(res([{ page_size: "2MB", limit: "4194304" }, { page_size: "1GB", limit: "0" }])).hugepageLimits).toEqual([
      { pageSize: "2MB", limit: 4194304 }, { pageSize: "1GB", limit: 0 },
    ]);
    expect(resourcesSpec(res([])).hugepageLimits).toBeUndefined();
  });

  test("a bad page size → InvalidArgument naming the entry", () => {
    for (const ps of ["2M", "2mb", "", "0MB", "2TB"]) {
      const r = refusal(() => resourcesSpec(res([{ page_size: "2MB", limit: "1" }, { page_size: ps, limit: "1" }])));
      expect([r.code, r.field]).toEqual(["InvalidArgument", "resources.hugepage_limits[1].page_size"]);
    }
  });
});

describe("CRI userns_options (pod user namespaces)", () => {
  const U = "linux.security_context.namespace_options.userns_options";
  const range = (container_id: number, host_id: number, length: number) => ({ container_id, host_id, length });
  const podCfg = (userns_options: object | null) =>
    ({ metadata: { name: "p", uid: "u", namespace: "n", attempt: 0 }, hostname: "", log_directory: "", dns_config: null, port_mappings: [], labels: {}, annotations: {}, linux: { cgroup_parent: "", sysctls: {}, security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD", target_id: "", userns_options }, privileged: false } } }) as never;

  test("kubelet's form (one 65536 range from container id 0) passes the checks", () => {
    expect(podUsernsMappings({ mode: "POD", uids: [range(0, 65536, 65536)], gids: [range(0, 131072, 65536)] })).toEqual({
      uids: [{ containerId: 0, hostId: 65536, size: 65536 }], gids: [{ containerId: 0, hostId: 131072, size: 65536 }],
    });
  });

  test("NODE is today's behaviour: the pod runs in the host's user namespace", () => {
    expect(podRunSpec(podCfg({ mode: "NODE", uids: [], gids: [] }), "").pod.name).toBe("p");
    expect(podRunSpec(podCfg(null), "").pod.name).toBe("p");
  });

  test("bad mappings → InvalidArgument naming the field", () => {
    const cases: [object, string][] = [
      [{ mode: "POD", uids: [], gids: [range(0, 65536, 65536)] }, `${U}.uids`],
      [{ mode: "POD", uids: [range(0, 65536, 65536)], gids: [] }, `${U}.gids`],
      [{ mode: "POD", uids: [range(0, 65536, 1000), range(1000, 70000, 10)], gids: [range(0, 65536, 65536)] }, `${U}.uids`],
      [{ mode: "POD", uids: [range(1, 65536, 65536)], gids: [range(0, 65536, 65536)] }, `${U}.uids[0].container_id`],
      [{ mode: "POD", uids: [range(0, 65536, 65536)], gids: [range(0, 65536, 0)] }, `${U}.gids[0].length`],
      [{ mode: "POD", uids: [range(0, 0, 65536)], gids: [range(0, 65536, 65536)] }, `${U}.uids[0].host_id`],
      [{ mode: "POD", uids: [range(0, 4294967000, 65536)], gids: [range(0, 65536, 65536)] }, `${U}.uids[0]`],
      [{ mode: "CONTAINER", uids: [], gids: [] }, `${U}.mode`],
    ];
    for (const [u, field] of cases) {
      const r = refusal(() => podRunSpec(podCfg(u), ""));
      expect([r.code, r.field]).toEqual(["InvalidArgument", field]);
      expect(r.message).toContain(field);
    }
  });

  test("mode POD with good mappings → the pod's user namespace in OCI terms; NODE and unset → none", () => {
    const r = podRunSpec(podCfg({ mode: "POD", uids: [range(0, 65536, 65536)], gids: [range(0, 131072, 65536)] }), "");
    expect(r.pod.userns).toEqual({ uidMappings: [{ containerID: 0, hostID: 65536, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 131072, size: 65536 }] });
    expect(podRunSpec(podCfg({ mode: "NODE", uids: [], gids: [] }), "").pod.userns).toBeUndefined();
    expect(podRunSpec(podCfg(null), "").pod.userns).toBeUndefined();
  });

  test("PodSandboxStatus's userns_options: POD with the mappings, or NODE", () => {
    expect(usernsOptionsOf({ uidMappings: [{ containerID: 0, hostID: 65536, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 131072, size: 10 }] }))
      .toEqual({ mode: "POD", uids: [range(0, 65536, 65536)], gids: [range(0, 131072, 10)] });
    expect(usernsOptionsOf(undefined)).toEqual({ mode: "NODE", uids: [], gids: [] });
  });

  test("a container's userns_options must agree with its pod's; unset follows the pod", () => {
    const pod = { uidMappings: [{ containerID: 0, hostID: 65536, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 65536, size: 65536 }] };
    const ctr = (userns_options: object | null) => ({ linux: { security_context: { namespace_options: { userns_options } } } }) as never;
    const same = { mode: "POD", uids: [range(0, 65536, 65536)], gids: [range(0, 65536, 65536)] };
    expect(() => checkContainerUserns(ctr(same), pod)).not.toThrow();
    expect(() => checkContainerUserns(ctr(null), pod)).not.toThrow();
    expect(() => checkContainerUserns(ctr(null), undefined)).not.toThrow();
    expect(() => checkContainerUserns(ctr({ mode: "NODE", uids: [], gids: [] }), undefined)).not.toThrow();
    const cases: [object, typeof pod | undefined, string][] = [
      [{ mode: "NODE", uids: [], gids: [] }, pod, `config.${U}.mode`],
      [same, undefined, `config.${U}.mode`],
      [{ ...same, gids: [range(0, 131072, 65536)] }, pod, `config.${U}`],
      [{ ...same, uids: [] }, pod, `${U}.uids`],
    ];
    for (const [u, p, field] of cases) {
      const r = refusal(() => checkContainerUserns(ctr(u), p));
      expect([r.code, r.field]).toEqual(["InvalidArgument", field]);
    }
  });
});
