// CRI pod user namespaces (userns_options mode POD) over a grpc-js client built from the
// generated types, and crictl when it is there: the infra process and every container of the pod
// in one user namespace with the pod's mappings, root inside and the mapping's host id outside,
// an idmapped rootfs, /etc files and CRI mounts (host root's files are root's inside), logs as
// usual, and RemovePodSandbox leaving nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RuntimeServiceClient } from "../../src/api/cri/generated/runtime/v1/RuntimeService.ts";
import type { ImageServiceClient } from "../../src/api/cri/generated/runtime/v1/ImageService.ts";
import type { PodSandboxConfig } from "../../src/api/cri/generated/runtime/v1/PodSandboxConfig.ts";
import { CriServer, HAVE_CRICTL, call, code, startGrpcCri, stopGrpcCri } from "./cri-harness.ts";

let s: CriServer;
let rt: RuntimeServiceClient;
let img: ImageServiceClient;
let data: string;

// kubelet's shape (KEP-127): container id 0, 65536 ids at a multiple of 65536.
const HOST_ID = 32 * 65536;
const range = { container_id: 0, host_id: HOST_ID, length: 65536 };
const USERNS = { mode: "POD", uids: [range], gids: [range] };

const pod = (name: string, userns: object | null = USERNS, ns: object = {}): PodSandboxConfig => ({
  metadata: { name, namespace: "userns-test", uid: `uid-${name}`, attempt: 0 },
  hostname: name,
  log_directory: join(s.cli.dir, "logs", name),
  linux: { security_context: { namespace_options: { ...ns, ...(userns ? { userns_options: userns } : {}) } } },
});
type Exec = { stdout: Buffer; stderr: Buffer; exit_code: number };
const exec = async (id: string, cmd: string[]) => {
  const r = await call<object, Exec>(rt, "ExecSync", { container_id: id, cmd, timeout: 20 });
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code };
};
const runPod = async (name: string) => (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod(name) })).pod_sandbox_id;
async function runIn(p: string, podName: string, name: string, extra: object = {}): Promise<string> {
  const config = {
    metadata: { name }, image: { image: "busybox" }, command: ["sh", "-c", "echo started as $(id -u); exec sleep 300"], log_path: `${name}.log`,
    linux: { security_context: { namespace_options: { userns_options: USERNS } } }, ...extra,
  };
  const id = (await call<object, { container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: p, config, sandbox_config: pod(podName) })).container_id;
  await call(rt, "StartContainer", { container_id: id });
  return id;
}
const verbose = async (method: "PodSandboxStatus" | "ContainerStatus", req: object) =>
  JSON.parse((await call<object, { info: Record<string, string> }>(rt, method, { ...req, verbose: true })).info.info!) as { pid: number };
/** Uid line of /proc/PID/status: real, effective, saved, fs. */
const hostUids = (pid: number) => /^Uid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!.trim().split(/\s+/).map(Number);
/** Mount points (mountinfo's fifth field) under the server's directory. */
const berthMounts = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((p) => p.startsWith(s.cli.dir));

beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), "bt-cri-userns-"));
  chmodSync(data, 0o755);
  writeFileSync(join(data, "f"), "from the host\n");
  ({ s, rt, img } = await startGrpcCri("bt-criuserns-"));
});

afterAll(async () => {
  const left = await stopGrpcCri(s, rt, img);
  rmSync(data, { recursive: true, force: true });
  expect(left).toEqual({ mounts: [], cgroups: [], processes: [] });
});

describe("CRI pod user namespaces (mode POD)", () => {
  test("infra and containers share one user namespace with the pod's mappings: root inside, the mapping's host id outside; idmapped rootfs, mounts, /etc files; logs; nothing left after RemovePodSandbox", async () => {
    const p = await runPod("uns");
    const st = await call<object, { status: { state: string; linux: { namespaces: { options: { userns_options: { mode: string; uids: { host_id: number; length: number }[] } } } } } }>(rt, "PodSandboxStatus", { pod_sandbox_id: p });
    expect(st.status.state).toBe("SANDBOX_READY");
    expect(st.status.linux.namespaces.options.userns_options).toMatchObject({ mode: "POD", uids: [{ host_id: HOST_ID, length: 65536 }] });
    const infraPid = (await verbose("PodSandboxStatus", { pod_sandbox_id: p })).pid;
    expect(readFileSync(`/proc/${infraPid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", String(HOST_ID), "65536"]);
    expect(readFileSync(`/proc/${infraPid}/gid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", String(HOST_ID), "65536"]);
    // berth-pause runs as the pod's root: the mapping's host id on the host.
    expect(hostUids(infraPid)).toEqual([HOST_ID, HOST_ID, HOST_ID, HOST_ID]);

    const c = await runIn(p, "uns", "app", { mounts: [{ container_path: "/data", host_path: data }] });
    const cpid = (await verbose("ContainerStatus", { container_id: c })).pid;
    expect(readlinkSync(`/proc/${cpid}/ns/user`)).toBe(readlinkSync(`/proc/${infraPid}/ns/user`));
    for (const n of ["net", "ipc", "uts"]) expect(readlinkSync(`/proc/${cpid}/ns/${n}`)).toBe(readlinkSync(`/proc/${infraPid}/ns/${n}`));
    expect(hostUids(cpid)[0]).toBe(HOST_ID);
    const ps = Bun.spawnSync(["ps", "-o", "uid=", "-p", String(cpid)]).stdout.toString().trim();
    expect(ps).toBe(String(HOST_ID));

    const r = await exec(c, ["sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox /etc /data/f /etc/hosts /etc/resolv.conf; cat /data/f; echo w > /data/w && echo img > /etc/img && echo ok"]);
    expect(r.err).toBe("");
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("0");
    expect(lines[1]!.trim().split(/\s+/)).toEqual(["0", String(HOST_ID), "65536"]);
    expect(lines.slice(2)).toEqual(["0:0", "0:0", "0:0", "0:0", "0:0", "from the host", "ok"]);
    // What the pod's root wrote is host root's on disk (the idmapped mount maps it back).
    const w = statSync(join(data, "w"));
    expect([w.uid, w.gid]).toEqual([0, 0]);

    // An exec'd process is the pod's root too: every process of the container's cgroup has the
    // mapping's host uid on the host.
    expect((await exec(c, ["sh", "-c", "sleep 60 >/dev/null 2>&1 &"])).code).toBe(0);
    const cg = readFileSync(`/proc/${cpid}/cgroup`, "utf8");
    const v1 = /^\d+:memory:(.*)$/m.exec(cg)?.[1];
    const procsFile = v1 !== undefined ? `/sys/fs/cgroup/memory${v1}/cgroup.procs` : `/sys/fs/cgroup${/^0::(.*)$/m.exec(cg)![1]}/cgroup.procs`;
    const procs = readFileSync(procsFile, "utf8").trim().split("\n").map(Number);
    expect(procs.length).toBeGreaterThan(1);
    for (const pid of procs) expect(hostUids(pid)).toEqual([HOST_ID, HOST_ID, HOST_ID, HOST_ID]);

    // A second container sees the first one's writes to the shared mount, as root.
    const c2 = await runIn(p, "uns", "two", { mounts: [{ container_path: "/data", host_path: data, readonly: true }] });
    expect((await exec(c2, ["stat", "-c", "%u", "/data/w"])).out.trim()).toBe("0");
    expect((await exec(c2, ["sh", "-c", "echo x > /data/x 2>/dev/null || echo refused"])).out.trim()).toBe("refused");

    // Logs: the CRI log path, written by the monitor on the host.
    const logFile = join(s.cli.dir, "logs", "uns", "app.log");
    for (let i = 0; i < 100 && !(existsSync(logFile) && readFileSync(logFile, "utf8").includes("started")); i++) await Bun.sleep(20);
    expect(readFileSync(logFile, "utf8")).toMatch(/ stdout F started as 0\n/);

    expect(berthMounts().some((l) => l.includes("/idmap/"))).toBe(false); // the layers' temporary mounts went at once
    await call(rt, "StopPodSandbox", { pod_sandbox_id: p });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
    expect(berthMounts()).toEqual([]);
    for (const pid of [infraPid, cpid]) expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 120_000);

  test("bad combinations → InvalidArgument naming the field, nothing left", async () => {
    const pods = async () => (await call<object, { items: { metadata: { name: string } }[] }>(rt, "ListPodSandbox", {})).items.map((x) => x.metadata.name);
    const before = await pods();
    expect(await code(call(rt, "RunPodSandbox", { config: pod("unshost", USERNS, { network: "NODE" }) }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("host's network namespace") });
    const priv = pod("unspriv");
    priv.linux!.security_context!.privileged = true;
    expect(await code(call(rt, "RunPodSandbox", { config: priv }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("privileged pod") });
    expect(await pods()).toEqual(before);
    const p = await runPod("unsbadc");
    const bad = (userns: object) =>
      code(call(rt, "CreateContainer", { pod_sandbox_id: p, config: { metadata: { name: "x" }, image: { image: "busybox" }, command: ["true"], linux: { security_context: { namespace_options: { userns_options: userns } } } }, sandbox_config: pod("unsbadc") }));
    expect(await bad({ mode: "NODE" })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("userns_options.mode NODE") });
    expect(await bad({ mode: "POD", uids: [{ ...range, host_id: 2 * HOST_ID }], gids: [range] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("differ from the pod sandbox's") });
    expect(await code(call(rt, "CreateContainer", { pod_sandbox_id: p, config: { metadata: { name: "x" }, image: { image: "busybox" }, command: ["true"], log_path: "x.log", linux: { security_context: { privileged: true } } }, sandbox_config: pod("unsbadc") })))
      .toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("privileged container") });
    expect(existsSync(join(s.cli.dir, "logs", "unsbadc", "x.log"))).toBe(false);
    const list = await call<object, { containers: unknown[] }>(rt, "ListContainers", { filter: { pod_sandbox_id: p } });
    expect(list.containers).toEqual([]);
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }, 60_000);

  test.skipIf(!HAVE_CRICTL)("crictl: runp with userns_options, exec id -u", async () => {
    // crictl's JSON has the enum's number: NamespaceMode POD is 0.
    const USERNS = { mode: 0, uids: [range], gids: [range] };
    const cfg = s.file("uns-pod.json", { metadata: { name: "unscrictl", namespace: "userns-test", uid: "uid-unscrictl", attempt: 0 }, log_directory: join(s.cli.dir, "logs", "unscrictl"), linux: { security_context: { namespace_options: { userns_options: USERNS } } } });
    const ccfg = s.file("uns-ctr.json", { metadata: { name: "c" }, image: { image: "busybox" }, command: ["sleep", "300"], log_path: "c.log", linux: { security_context: { namespace_options: { userns_options: USERNS } } } });
    const p = await s.ok(["runp", cfg]);
    const c = await s.ok(["create", p, ccfg, cfg]);
    await s.ok(["start", c]);
    expect(await s.ok(["exec", c, "sh", "-c", "id -u; cat /proc/self/uid_map"])).toMatch(new RegExp(`^0\\n\\s*0\\s+${HOST_ID}\\s+65536$`));
    await s.ok(["stopp", p]);
    await s.ok(["rmp", p]);
  }, 120_000);
});
