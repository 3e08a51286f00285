// The CRI from a TypeScript gRPC client built from the same generated types berthd serves
// (src/api/cri/generated): what crictl does not show — idempotent stops and removes, list
// filters, status codes and their messages, Status and UpdateRuntimeConfig, an absent image.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeServiceClient } from "../../src/api/cri/generated/runtime/v1/RuntimeService.ts";
import type { ImageServiceClient } from "../../src/api/cri/generated/runtime/v1/ImageService.ts";
import type { PodSandboxConfig } from "../../src/api/cri/generated/runtime/v1/PodSandboxConfig.ts";
import { CriServer, call, code, grpcClients, startGrpcCri, stopGrpcCri } from "./cri-harness.ts";

let s: CriServer;
let rt: RuntimeServiceClient;
let img: ImageServiceClient;

/** A unary call as a promise; a failed call rejects with the ServiceError. */

const pod = (name: string, labels: Record<string, string> = {}): PodSandboxConfig => ({
  metadata: { name, namespace: "grpc-test", uid: `uid-${name}`, attempt: 0 },
  hostname: name,
  log_directory: join(s.cli.dir, "logs", name),
  labels,
});

beforeAll(async () => {
  ({ s, rt, img } = await startGrpcCri("bt-crigrpc-"));
});

afterAll(async () => {
  const left = await stopGrpcCri(s, rt, img);
  expect(left).toEqual({ mounts: [], cgroups: [], processes: [] });
});

describe("CRI over grpc-js with the generated types", () => {
  test("ReopenContainerLog after kubelet-style rotation: new lines go to a new file at the path", async () => {
    const p = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("log") })).pod_sandbox_id;
    const config = { metadata: { name: "tick" }, image: { image: "busybox" }, command: ["sh", "-c", "while true; do echo tick; sleep 0.05; done"], log_path: "tick.log" };
    const id = (await call<object, { container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: p, config, sandbox_config: pod("log") })).container_id;
    await call(rt, "StartContainer", { container_id: id });
    const path = join(s.cli.dir, "logs", "log", "tick.log");
    await Bun.sleep(300);
    renameSync(path, `${path}.1`);
    await call(rt, "ReopenContainerLog", { container_id: id });
    const rotated = readFileSync(`${path}.1`, "utf8");
    await Bun.sleep(400);
    expect(readFileSync(`${path}.1`, "utf8").length - rotated.length).toBeLessThan(200); // at most a line in flight
    expect(readFileSync(path, "utf8")).toMatch(/^\S+ stdout F tick\n/);
    await call(rt, "StopContainer", { container_id: id, timeout: 0 });
    expect(await code(call(rt, "ReopenContainerLog", { container_id: id }))).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: expect.stringContaining("not running") });
    expect(await code(call(rt, "ReopenContainerLog", { container_id: "f".repeat(64) }))).toMatchObject({ code: grpc.status.NOT_FOUND });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }, 60_000);

  test("GetContainerEvents: created, started, stopped, deleted of a pod's container, with its status", async () => {
    const events: { container_id: string; container_event_type: string; containers_statuses: { state: string; exit_code: number }[] }[] = [];
    const stream = (rt as unknown as { GetContainerEvents(r: object): grpc.ClientReadableStream<(typeof events)[number]> }).GetContainerEvents({});
    stream.on("data", (ev) => events.push(ev));
    stream.on("error", () => {});
    await Bun.sleep(300);
    const p = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("ev") })).pod_sandbox_id;
    const config = { metadata: { name: "quick" }, image: { image: "busybox" }, command: ["sh", "-c", "exit 4"], log_path: "q.log" };
    const id = (await call<object, { container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: p, config, sandbox_config: pod("ev") })).container_id;
    await call(rt, "StartContainer", { container_id: id });
    for (let i = 0; i < 100 && !events.some((e) => e.container_id === id && e.container_event_type === "CONTAINER_STOPPED_EVENT"); i++) await Bun.sleep(100);
    await call(rt, "RemoveContainer", { container_id: id });
    for (let i = 0; i < 50 && !events.some((e) => e.container_id === id && e.container_event_type === "CONTAINER_DELETED_EVENT"); i++) await Bun.sleep(100);
    stream.cancel();
    const mine = events.filter((e) => e.container_id === id);
    expect(mine.map((e) => e.container_event_type)).toEqual(["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"]);
    const stopped = mine[2]!.containers_statuses[0]!;
    expect([stopped.state, stopped.exit_code]).toEqual(["CONTAINER_EXITED", 4]);
    expect(events.some((e) => e.container_id === p && e.container_event_type === "CONTAINER_STARTED_EVENT")).toBe(true); // the pod's infra
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }, 60_000);

  test("Version, Status (verbose), UpdateRuntimeConfig", async () => {
    const v = await call<object, { runtime_name: string; runtime_api_version: string }>(rt, "Version", { version: "v1" });
    expect([v.runtime_name, v.runtime_api_version]).toEqual(["berth", "v1"]);
    await call(rt, "UpdateRuntimeConfig", { runtime_config: { network_config: { pod_cidr: "10.88.0.0/16" } } });
    const st = await call<object, { status: { conditions: { type: string; status: boolean }[] }; info: Record<string, string> }>(rt, "Status", { verbose: true });
    expect(st.status.conditions.every((c) => c.status)).toBe(true);
    expect(JSON.parse(st.info.config!).podCidr).toBe("10.88.0.0/16");
  });

  test("pods: filters by id prefix, state and labels; idempotent stop and remove", async () => {
    const a = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("a", { tier: "front" }) })).pod_sandbox_id;
    const b = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("b", { tier: "back" }) })).pod_sandbox_id;
    type List = { items: { id: string; state: string }[] };
    const ids = async (filter: object) => (await call<object, List>(rt, "ListPodSandbox", { filter })).items.map((i) => i.id).sort();
    expect(await ids({})).toEqual([a, b].sort());
    expect(await ids({ label_selector: { tier: "back" } })).toEqual([b]);
    expect(await ids({ id: a.slice(0, 12) })).toEqual([a]);
    await call(rt, "StopPodSandbox", { pod_sandbox_id: a });
    await call(rt, "StopPodSandbox", { pod_sandbox_id: a });
    expect(await ids({ state: { state: "SANDBOX_READY" } })).toEqual([b]);
    expect(await ids({ state: { state: "SANDBOX_NOTREADY" } })).toEqual([a]);
    const st = await call<object, { status: { state: string; network: { ip: string } }; info: Record<string, string> }>(rt, "PodSandboxStatus", { pod_sandbox_id: a, verbose: true });
    expect(st.status.state).toBe("SANDBOX_NOTREADY");
    expect(st.status.network.ip).toBe("");
    expect(JSON.parse(st.info.info!).config.name).toBe("a");

    await call(rt, "RemovePodSandbox", { pod_sandbox_id: a });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: a }); // already gone: no error
    await call(rt, "StopPodSandbox", { pod_sandbox_id: a });
    expect(await code(call(rt, "PodSandboxStatus", { pod_sandbox_id: a }))).toEqual({ code: grpc.status.NOT_FOUND, details: `pod sandbox ${a} not found` });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: b });
    expect(await ids({})).toEqual([]);
  }, 60_000);

  test("containers: bad configs are InvalidArgument naming the field; removes are idempotent", async () => {
    const p = (await call<object, { pod_sandbox_id: string }>(rt, "RunPodSandbox", { config: pod("c") })).pod_sandbox_id;
    const base = { metadata: { name: "x" }, image: { image: "busybox" }, command: ["true"], log_path: "x.log" };
    const bad = async (config: object) => code(call(rt, "CreateContainer", { pod_sandbox_id: p, config, sandbox_config: pod("c") }));
    expect(await bad({ ...base, metadata: { name: "" } })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("metadata.name") });
    expect(await bad({ ...base, mounts: [{ container_path: "/data", host_path: "relative/dir" }] })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("host_path") });
    expect(await bad({ ...base, linux: { resources: { memory_limit_in_bytes: 1024 } } })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("6 MiB") });
    expect(await bad({ ...base, linux: { security_context: { capabilities: { add_capabilities: ["NOT_A_CAP"] } } } })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("NOT_A_CAP") });
    expect(await bad({ ...base, linux: { security_context: { seccomp: { profile_type: "Localhost", localhost_ref: "/nonexistent/profile.json" } } } })).toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringContaining("/nonexistent/profile.json") });
    expect((await call<object, { containers: unknown[] }>(rt, "ListContainers", {})).containers).toEqual([]);

    const id = (await call<object, { container_id: string }>(rt, "CreateContainer", { pod_sandbox_id: p, config: { ...base, labels: { k: "v" } }, sandbox_config: pod("c") })).container_id;
    expect(await code(call(rt, "CreateContainer", { pod_sandbox_id: p, config: base, sandbox_config: pod("c") }))).toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    type CList = { containers: { id: string; state: string }[] };
    expect((await call<object, CList>(rt, "ListContainers", { filter: { label_selector: { k: "v" } } })).containers.map((c) => c.id)).toEqual([id]);
    expect((await call<object, CList>(rt, "ListContainers", { filter: { state: { state: "CONTAINER_RUNNING" } } })).containers).toEqual([]);
    expect((await call<object, CList>(rt, "ListContainers", { filter: { pod_sandbox_id: p.slice(0, 10) } })).containers.map((c) => [c.id, c.state])).toEqual([[id, "CONTAINER_CREATED"]]);
    // The pod's infra container is no CRI container.
    expect(await code(call(rt, "ContainerStatus", { container_id: p }))).toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringContaining("pod sandbox") });
    await call(rt, "RemoveContainer", { container_id: id });
    await call(rt, "RemoveContainer", { container_id: id });
    expect(await code(call(rt, "ExecSync", { container_id: id, cmd: ["true"] }))).toMatchObject({ code: grpc.status.NOT_FOUND });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: p });
  }, 60_000);

  test("images: an absent image is an empty status; remove is idempotent; Unimplemented says what", async () => {
    const st = await call<object, { image: unknown }>(img, "ImageStatus", { image: { image: "127.0.0.1:1/absent:1" } });
    expect(st.image).toBeNull();
    await call(img, "RemoveImage", { image: { image: "127.0.0.1:1/absent:1" } });
    const listed = await call<object, { images: { repo_tags: string[] }[] }>(img, "ListImages", { filter: { image: { image: "busybox" } } });
    expect(listed.images.map((i) => i.repo_tags)).toEqual([["docker.io/library/busybox:latest"]]);
    expect(await code(call(rt, "CheckpointContainer", { container_id: "x" }))).toMatchObject({ code: grpc.status.UNIMPLEMENTED, details: expect.stringContaining("CheckpointContainer") });
  });
});

// berthd loads the CRI front as a bundle of its own (build/berth-cri.js, with its own copy of the
// explain channel): --explain must still show what the front's requests do.
test("berth --explain daemon prints the kernel and network steps of a CRI pod", async () => {
  const x = new CriServer("bt-criexpl-");
  let clients: Awaited<ReturnType<typeof grpcClients>> | undefined;
  try {
    await x.start(["--explain"]);
    clients = await grpcClients(x.socket);
    const config = { metadata: { name: "explained", namespace: "grpc-test", uid: "uid-explained", attempt: 0 }, log_directory: join(x.cli.dir, "logs") };
    const p = (await call<object, { pod_sandbox_id: string }>(clients.rt, "RunPodSandbox", { config })).pod_sandbox_id;
    for (let i = 0; i < 40 && !/bridge ADD/.test(x.log); i++) await Bun.sleep(25);
    expect(x.log).toMatch(/\[explain\] engine +start berth-monitor/);
    expect(x.log).toMatch(/\[explain\] child +pivot_root\(/);
    expect(x.log).toMatch(/\[explain\] network +bridge ADD on network bridge/);
    await call(clients.rt, "StopPodSandbox", { pod_sandbox_id: p });
    await call(clients.rt, "RemovePodSandbox", { pod_sandbox_id: p });
  } finally {
    expect(await stopGrpcCri(x, clients?.rt, clients?.img)).toEqual({ mounts: [], cgroups: [], processes: [] });
  }
}, 60_000);
