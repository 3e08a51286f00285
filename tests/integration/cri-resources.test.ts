// CRI devices, hugepage limits and Version over a grpc-js client built from the generated types:
// a test-made device node inside a container (ls -l major:minor, "r" only refusing a write),
// hugepage limits on a host without the hugetlb controller, and bad inputs refused with nothing
// left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH_VERSION } from "../../src/sys/version.ts";
import type { RuntimeServiceClient } from "../../src/api/cri/generated/runtime/v1/RuntimeService.ts";
import type { ImageServiceClient } from "../../src/api/cri/generated/runtime/v1/ImageService.ts";
import type { PodSandboxConfig } from "../../src/api/cri/generated/runtime/v1/PodSandboxConfig.ts";
import { CriServer, call, code, startGrpcCri, stopGrpcCri } from "./cri-harness.ts";

let s: CriServer;
let rt: RuntimeServiceClient;
let img: ImageServiceClient;
let devDir: string;

const pod = (name: string): PodSandboxConfig => ({
  metadata: { name, namespace: "res-test", uid: `uid-${name}`, attempt: 0 },
  hostname: name,
  log_directory: join(s.cli.dir, "logs", name),
});
type Exec = { stdout: Buffer; stderr: Buffer; exit_code: number };
const exec = async (id: string, cmd: string[]) => {
  const r = await call<object, Exec>(rt, "ExecSync", { container_id: id, cmd, timeout: 20 });
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code };
};
async function runIn(p: string, podName: string, name: string, extra: object): Promise<string> {
  const config = { metadata: { name }, image: { image: "busybox" }, command: ["sleep", "300"], log_path: `${name}.log`, ...extra };
  const id = (await call<object, { container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: p, config, sandbox_config: pod(podName) })).container_id;
  await call(rt, "StartContainer", { container_id: id });
  return id;
}

/** A pod for one test, removed (with its containers) whatever the test does. */
async function inPod(config: PodSandboxConfig, body: (p: string) => Promise<void>): Promise<void> {
  const p = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config })).pod_sandbox_id;
  try {
    await body(p);
  } finally {
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }
}

beforeAll(async () => {
  devDir = mkdtempSync(join(tmpdir(), "bt-cri-dev-"));
  // A test-made node for an existing, unattached loop device (7:7 is /dev/loop7 here): not one of
  // the default devices, whose rwm rules would hide the permissions under test; opening it reads
  // nothing and writes nothing, and the kernel makes no new loop device for it.
  expect(Bun.spawnSync(["mknod", "-m", "666", join(devDir, "btloop"), "b", "7", "7"]).exitCode).toBe(0);
  writeFileSync(join(devDir, "plain"), "x");
  ({ s, rt, img } = await startGrpcCri("bt-crires-"));
});

afterAll(async () => {
  const left = await stopGrpcCri(s, rt, img);
  rmSync(devDir, { recursive: true, force: true });
  expect(left).toEqual({ mounts: [], cgroups: [], processes: [] });
});

describe("CRI devices, hugepage limits, Version", () => {
  test("Version: runtime_version is berth's own", async () => {
    const v = await call<object, { runtime_version: string; runtime_name: string }>(rt, "Version", { version: "v1" });
    expect([v.runtime_name, v.runtime_version]).toEqual(["berth", BERTH_VERSION]);
  });

  test("devices: a test-made node readable inside with its major:minor; \"r\" only makes a write fail", async () => {
    await inPod(pod("dev"), async (p) => {
      const rw = await runIn(p, "dev", "rw", { devices: [{ host_path: join(devDir, "btloop"), container_path: "/dev/btloop", permissions: "rwm" }] });
      const ro = await runIn(p, "dev", "ro", { devices: [{ host_path: join(devDir, "btloop"), container_path: "/dev/btloop", permissions: "r" }] });
      for (const id of [rw, ro]) {
        const ls = await exec(id, ["ls", "-l", "/dev/btloop"]);
        expect(ls.code).toBe(0);
        expect(ls.out).toMatch(/^brw-rw-rw-\s.*\s7,\s+7\s/);
        expect(await exec(id, ["sh", "-c", "head -c 1 /dev/btloop"])).toMatchObject({ code: 0 });
      }
      expect(await exec(rw, ["sh", "-c", ": > /dev/btloop"])).toMatchObject({ code: 0 });
      const w = await exec(ro, ["sh", "-c", ": > /dev/btloop"]);
      expect(w.code).not.toBe(0);
      expect(w.err).toMatch(/not permitted/i);
    });
  }, 60_000);

  test("seccomp: RuntimeDefault and a Localhost profile filter the container and its execs; Unconfined and unset do not", async () => {
    const profile = join(devDir, "no-mkdir.json");
    writeFileSync(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] }));
    await inPod(pod("sec"), async (p) => {
      const sc = (seccomp?: object) => (seccomp ? { linux: { security_context: { seccomp } } } : {});
      const mode = async (id: string) => /^Seccomp:\s*(\d)/m.exec((await exec(id, ["cat", "/proc/self/status"])).out)?.[1];
      const dflt = await runIn(p, "sec", "default", sc({ profile_type: "RuntimeDefault" }));
      const local = await runIn(p, "sec", "local", sc({ profile_type: "Localhost", localhost_ref: profile }));
      const unconfined = await runIn(p, "sec", "unconfined", sc({ profile_type: "Unconfined" }));
      const unset = await runIn(p, "sec", "unset", {});
      expect([await mode(dflt), await mode(local), await mode(unconfined), await mode(unset)]).toEqual(["2", "2", "0", "0"]);
      expect((await exec(dflt, ["mkdir", "/tmp/d"])).code).toBe(0);
      const m = await exec(local, ["mkdir", "/tmp/d"]);
      expect(m.code).not.toBe(0);
      expect(m.err).toMatch(/not permitted/i);
      expect((await exec(unconfined, ["mkdir", "/tmp/d"])).code).toBe(0);
    });
  }, 60_000);

  test("security context: run_as_user/group, supplemental_groups (kubelet's fsGroup), readonly_rootfs, no_new_privs, masked and readonly paths — for the container and its execs", async () => {
    await inPod(pod("sctx"), async (p) => {
      const id = await runIn(p, "sctx", "sctx", { linux: { security_context: {
        run_as_user: { value: 1000 }, run_as_group: { value: 2000 }, supplemental_groups: [3000, 3001],
        readonly_rootfs: true, no_new_privs: true, masked_paths: ["/etc/hostname"], readonly_paths: ["/tmp"],
      } } });
      expect((await exec(id, ["sh", "-c", "id -u; id -g; id -G"])).out).toBe("1000\n2000\n2000 3000 3001\n");
      // The container's process (the pod shares its pid namespace: pid 1 is the pause) and the exec's.
      expect((await exec(id, ["sh", "-c", "cat /proc/$(pidof sleep)/status /proc/self/status | grep -c '^NoNewPrivs:\t1'"])).out).toBe("2\n");
      const ro = await exec(id, ["touch", "/x"]);
      expect(ro.code).not.toBe(0);
      expect(ro.err).toMatch(/read-only/i);
      expect(await exec(id, ["sh", "-c", "wc -c < /etc/hostname"])).toMatchObject({ out: "0\n", code: 0 }); // masked: /dev/null over it
      expect((await exec(id, ["sh", "-c", "grep ' /tmp ' /proc/self/mounts"])).out).toMatch(/\sro[,\s]/);
    });
  }, 60_000);

  test("resources at create: cpu_quota over cpu_period, cpu_shares, cpuset_cpus and cpuset_mems in the container's cgroup", async () => {
    await inPod(pod("cres"), async (p) => {
      const id = await runIn(p, "cres", "cres", { linux: { resources: { cpu_quota: 25_000, cpu_period: 50_000, cpu_shares: 512, cpuset_cpus: "0", cpuset_mems: "0" } } });
      const files = ["cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares", "cpuset/cpuset.cpus", "cpuset/cpuset.mems"].map((f) => `/sys/fs/cgroup/${f}`);
      expect((await exec(id, ["cat", ...files])).out.split("\n")).toEqual(["25000", "50000", "512", "0", "0", ""]); // the period as given
      // This host has one memory node, so the cgroup shows 0 either way: the runtime's config says it was asked for.
      const oci = JSON.parse(readFileSync(join(s.cli.runroot, "containers", id, "config.json"), "utf8"));
      expect(oci.linux.resources.cpu).toMatchObject({ quota: 25_000, period: 50_000, shares: 512, cpus: "0", mems: "0" });
    });
  }, 60_000);

  test("pid TARGET (kubectl debug --target): an ephemeral container in another container's pid namespace; a target outside the pod is NotFound", async () => {
    const cfg: PodSandboxConfig = { ...pod("tgt"), linux: { security_context: { namespace_options: { pid: "CONTAINER" } } } };
    await inPod(cfg, async (p) => {
      const make = async (name: string, extra: object, command = ["sleep", "300"]) => {
        const config = { metadata: { name }, image: { image: "busybox" }, command, log_path: `${name}.log`, ...extra };
        const id = (await call<object, { container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: p, config, sandbox_config: cfg })).container_id;
        await call(rt, "StartContainer", { container_id: id });
        return id;
      };
      const app = await make("app", {});
      const other = await make("other", {});
      const debug = await make("debug", { linux: { security_context: { namespace_options: { pid: "TARGET", target_id: app } } } }, ["sleep", "301"]);
      const comm1 = async (id: string) => (await exec(id, ["cat", "/proc/1/cmdline"])).out.replace(/\0/g, " ").trim();
      expect(await comm1(debug)).toBe("sleep 300"); // app's process is its pid 1
      expect((await exec(debug, ["sh", "-c", "pidof sleep | wc -w"])).out).toBe("2\n"); // app's and its own
      expect((await exec(other, ["sh", "-c", "pidof sleep | wc -w"])).out).toBe("1\n"); // a container of its own
      const before = (await call<object, { containers: unknown[] }>(rt, "ListContainers", {})).containers.length;
      const bad = { metadata: { name: "debug2" }, image: { image: "busybox" }, command: ["true"], log_path: "d2.log", linux: { security_context: { namespace_options: { pid: "TARGET", target_id: "f".repeat(64) } } } };
      expect(await code(call(rt, "CreateContainer", { pod_sandbox_id: p, config: bad, sandbox_config: cfg }))).toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringContaining("target_id") });
      expect((await call<object, { containers: unknown[] }>(rt, "ListContainers", {})).containers.length).toBe(before);
    });
  }, 60_000);

  test("privileged: every host device node is there (containerd's host devices)", async () => {
    await inPod(pod("priv"), async (p) => {
      const id = await runIn(p, "priv", "p", { linux: { security_context: { privileged: true } } });
      const r = await exec(id, ["ls", "-l", "/dev/loop-control", "/dev/loop7"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/10,\s+237 .*\/dev\/loop-control/);
      expect(r.out).toMatch(/7,\s+7 .*\/dev\/loop7/);
    });
  }, 60_000);

  test("pod sysctls: net.* in the pod's (CNI-made) network namespace and kernel.shm* in its IPC one, seen by its containers", async () => {
    const cfg = { ...pod("sysctl"), linux: { sysctls: { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shm_rmid_forced": "1" } } };
    await inPod(cfg, async (p) => {
      const id = await runIn(p, "sysctl", "s", {});
      const r = await exec(id, ["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/kernel/shm_rmid_forced"]);
      expect(r).toEqual({ code: 0, out: "80\n1\n", err: "" });
      expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).not.toBe("80\n");
    });
  }, 60_000);

  test("hugepage limits: the container starts on a host without the hugetlb controller", async () => {
    const p = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("huge") })).pod_sandbox_id;
    const id = await runIn(p, "huge", "h", { linux: { resources: { hugepage_limits: [{ page_size: "2MB", limit: 4194304 }, { page_size: "1GB", limit: 0 }] } } });
    const st = await call<object, { status: { state: string } }>(rt, "ContainerStatus", { container_id: id });
    expect(st.status.state).toBe("CONTAINER_RUNNING");
    expect((await exec(id, ["true"])).code).toBe(0);
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }, 60_000);

  test("userns POD with bad mappings → InvalidArgument naming the field, no pod left", async () => {
    const bad = (userns_options: object, ns: object = {}) => code(call(rt, "RunPodSandbox", { config: { ...pod("unsbad"), linux: { security_context: { namespace_options: { ...ns, userns_options } } } } }));
    const r = { container_id: 0, host_id: 200000, length: 65536 };
    expect(await bad({ mode: "POD", uids: [], gids: [r] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("userns_options.uids") });
    expect(await bad({ mode: "POD", uids: [r, { ...r, container_id: 65536, host_id: 400000 }], gids: [r] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("only one mapping range") });
    expect(await bad({ mode: "POD", uids: [r], gids: [{ ...r, container_id: 5 }] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("gids[0].container_id") });
    // Good mappings with the host's network: refused too (tests/integration/cri-userns.test.ts runs such pods).
    expect(await bad({ mode: "POD", uids: [r], gids: [r] }, { network: "NODE" })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("host's network namespace") });
    expect((await call<object, { items: unknown[] }>(rt, "ListPodSandbox", { filter: { label_selector: {} } })).items.filter((x) => (x as { metadata: { name: string } }).metadata.name === "unsbad")).toEqual([]);
  }, 60_000);

  test("bad devices and page sizes → InvalidArgument naming them, nothing created", async () => {
    const p = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("bad") })).pod_sandbox_id;
    const base = { metadata: { name: "x" }, image: { image: "busybox" }, command: ["true"], log_path: "x.log" };
    const bad = (config: object) => code(call(rt, "CreateContainer", { pod_sandbox_id: p, config: { ...base, ...config }, sandbox_config: pod("bad") }));
    const missing = join(devDir, "absent");
    expect(await bad({ devices: [{ host_path: missing, container_path: "/dev/a", permissions: "rwm" }] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining(missing) });
    expect(await bad({ devices: [{ host_path: join(devDir, "plain"), container_path: "/dev/a", permissions: "rwm" }] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("not a device") });
    expect(await bad({ devices: [{ host_path: "/dev/null", container_path: "/dev/a", permissions: "rwx" }] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("permissions") });
    expect(await bad({ linux: { resources: { hugepage_limits: [{ page_size: "2M", limit: 1 }] } } })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("hugepage_limits[0].page_size") });
    expect((await call<object, { containers: unknown[] }>(rt, "ListContainers", { filter: { pod_sandbox_id: p } })).containers).toEqual([]);
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }, 60_000);
});
