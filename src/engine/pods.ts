// Pods (the CRI's pod sandboxes) on the engine's one container model, as containerd and dockershim
// do it: a pod is its infra container — berth-pause from the built-in localhost/berth-pause image
// (no pull) — which is the first process of the pod's network, IPC and UTS namespaces (and PID's
// when the pod shares one) and holds them; the pod's containers join them (spec modes
// container:<infra id>). The infra container's record carries the pod's configuration
// (spec.podSandbox), so pods need no table of their own: they survive a daemon restart and are
// reconciled with their monitors like every container. A pod's id is its infra container's.
//   run:    the infra container is created and started (CNI network with the pod's ports and DNS,
//           hostname, sysctls, cgroup parent); a failure removes it: nothing half-made
//   stop:   its containers are stopped, then the infra container; its cleanup tears the network
//           down (CNI DEL, netns). The pod stays, NOTREADY, until it is removed
//   remove: its containers and the infra container are removed (snapshots, logs, records)
import { hostname as hostHostname } from "node:os";
import { mkdirSync } from "node:fs";
import { dirname, join, isAbsolute } from "node:path";
import { alreadyExists, failedPrecondition, invalidArgument, isBerthError, notFound } from "../sys/errdefs.ts";
import type { Engine } from "./engine.ts";
import { createContainer, getContainer, listContainers, removeContainer, startContainer, stopContainer, type Container } from "./containers.ts";
import { findImage } from "./images.ts";
import { networkView } from "./network.ts";
import type { ContainerSpec, NetworkSpec, PodSandboxSpec } from "./spec.ts";
import { findBinary } from "../monitor/monitor.ts";

export type { PodSandboxSpec };

/** What RunPodSandbox asks for, in the engine's words. */
export interface PodRunSpec {
  pod: PodSandboxSpec;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  /** Published ports; a hostPort of 0 publishes nothing (the CRI's "no host port"). */
  ports?: { containerPort: number; hostPort: number; hostIp?: string; protocol: "tcp" | "udp" | "sctp" }[];
  cgroupParent?: string;
  sysctls?: Record<string, string>;
  privileged?: boolean;
}

export interface Pod {
  id: string;
  pod: PodSandboxSpec;
  state: "ready" | "notready";
  createdAt: Date;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The pod's IPv4 address while it has a network. */
  ip?: string;
  /** The bind-mounted network namespace while it has one. */
  netnsPath?: string;
  infra: Container;
}

/** containerd's default for a sandbox (kubelet's -998 for critical pods), clamped by the engine. */
const SANDBOX_OOM_SCORE_ADJ = -998;
const PAUSE_IMAGE = "localhost/berth-pause:1";

/** dockershim's and containerd's names: k8s_POD_<name>_<namespace>_<uid>_<attempt>. */
export function podContainerName(p: Pick<PodSandboxSpec, "name" | "namespace" | "uid" | "attempt">): string {
  return `k8s_POD_${p.name}_${p.namespace}_${p.uid}_${p.attempt}`;
}
export function memberContainerName(name: string, p: PodSandboxSpec, attempt: number): string {
  return `k8s_${name}_${p.name}_${p.namespace}_${p.uid}_${attempt}`;
}

const NAME_PART = /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/;

function checkPodMetadata(p: PodSandboxSpec): void {
  for (const [field, v] of [["metadata.name", p.name], ["metadata.namespace", p.namespace], ["metadata.uid", p.uid]] as const) {
    if (!v) throw invalidArgument(`pod sandbox config: ${field} is empty; give the pod a name, a namespace and a uid`, field);
    if (!NAME_PART.test(v)) throw invalidArgument(`pod sandbox config: ${field} ${JSON.stringify(v)}: use letters, digits, '.' and '-' (starting with a letter or digit)`, field);
  }
  if (!Number.isInteger(p.attempt) || p.attempt < 0) throw invalidArgument(`pod sandbox config: metadata.attempt ${p.attempt} is not a count`, "metadata.attempt");
}

/** The built-in pause image, installed on first use. */
async function ensurePauseImage(e: Engine): Promise<string> {
  if (await findImage(e, PAUSE_IMAGE)) return PAUSE_IMAGE;
  const { installBuiltinPause } = await import("../image/builtin-pause.ts");
  await installBuiltinPause({ content: e.content, images: e.images, binary: findBinary("berth-pause", "BERTH_PAUSE") });
  return PAUSE_IMAGE;
}

const isPod = (c: Container) => c.spec.podSandbox !== undefined;

async function podView(e: Engine, c: Container, o: { network?: boolean } = {}): Promise<Pod> {
  const ready = c.state === "running";
  let ip: string | undefined;
  let netnsPath: string | undefined;
  if (ready && o.network !== false) {
    const v = await networkView(e, c);
    ip = v?.networks[0]?.address || undefined;
    netnsPath = v?.sandboxKey || undefined;
  }
  return {
    id: c.id, pod: c.spec.podSandbox!, state: ready ? "ready" : "notready", createdAt: c.createdAt,
    labels: { ...(c.spec.labels ?? {}) }, annotations: { ...(c.spec.annotations ?? {}) },
    ...(ip ? { ip } : {}), ...(netnsPath ? { netnsPath } : {}), infra: c,
  };
}

/** The pod `id` names (its id or a unique prefix); NotFound names the id. */
export async function getPod(e: Engine, id: string): Promise<Pod> {
  if (!id) throw invalidArgument("pod sandbox id is empty", "pod_sandbox_id");
  let c: Container;
  try {
    c = await getContainer(e, id);
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw notFound(`pod sandbox ${id} not found`, "pod_sandbox_id");
    throw err;
  }
  if (!isPod(c)) throw notFound(`pod sandbox ${id} not found (${id} is a container, not a pod)`, "pod_sandbox_id");
  return podView(e, c);
}

/** Every pod; `network: false` leaves out the address and netns path (a list needs neither). */
export async function listPods(e: Engine, o: { network?: boolean } = {}): Promise<Pod[]> {
  return Promise.all((await listContainers(e, { all: true, where: isPod })).map((c) => podView(e, c, o)));
}

/** The pod's containers (not its infra container). */
export async function podMembers(e: Engine, podId: string): Promise<Container[]> {
  return listContainers(e, { all: true, where: (c) => c.spec.pod === podId });
}

export async function runPod(e: Engine, r: PodRunSpec): Promise<Pod> {
  const p = r.pod;
  checkPodMetadata(p);
  const name = podContainerName(p);
  const taken = () => {
    const other = e.containers.find(name);
    return alreadyExists(`pod sandbox ${p.namespace}/${p.name} (uid ${p.uid}, attempt ${p.attempt}) already exists as ${other.id}: stop and remove it first, or raise the attempt`, "metadata");
  };
  if (e.containers.nameTaken(name)) throw taken();
  if (r.cgroupParent !== undefined && r.cgroupParent !== "" && r.cgroupParent.split("/").includes("..")) {
    throw invalidArgument(`linux.cgroup_parent ${JSON.stringify(r.cgroupParent)}: '..' is not allowed`, "linux.cgroup_parent");
  }
  if (p.userns) {
    // kubelet's rule for hostUsers: false: a pod user namespace owns the pod's other namespaces.
    const host = (["network", "pid", "ipc"] as const).filter((k) => p[k] === "host");
    if (host.length) throw invalidArgument(`a pod user namespace cannot be used with the host's ${host.join(", ")} namespace${host.length > 1 ? "s" : ""}: use the pod's own`, "userns");
    if (r.privileged) throw invalidArgument("a pod user namespace cannot be used with a privileged pod", "userns");
  }
  const image = await ensurePauseImage(e);
  const hostNet = p.network === "host";
  const network: NetworkSpec = hostNet ? { mode: "host" } : {
    mode: "bridge",
    ports: (r.ports ?? []).filter((x) => x.hostPort > 0).map((x) => ({ containerPort: x.containerPort, hostPort: x.hostPort, protocol: x.protocol, ...(x.hostIp ? { hostIp: x.hostIp } : {}) })),
    ...(r.dns && (r.dns.servers?.length || r.dns.searches?.length || r.dns.options?.length)
      ? { dns: { ...(r.dns.servers?.length ? { servers: r.dns.servers } : {}), ...(r.dns.searches?.length ? { search: r.dns.searches } : {}), ...(r.dns.options?.length ? { options: r.dns.options } : {}) } }
      : {}),
  };
  const spec: ContainerSpec = {
    name, image,
    labels: { ...(r.labels ?? {}) }, annotations: { ...(r.annotations ?? {}) },
    // containerd: an empty hostname is the node's.
    ...(hostNet ? {} : { hostname: p.hostname || hostHostname() }),
    network,
    ...(p.ipc === "host" ? { ipc: "host" } : {}),
    ...(p.pid === "host" ? { pidMode: "host" } : {}),
    ...(r.sysctls && Object.keys(r.sysctls).length ? { sysctls: { ...r.sysctls } } : {}),
    ...(r.cgroupParent ? { cgroupParent: r.cgroupParent } : {}),
    ...(r.privileged ? { privileged: true } : {}),
    oomScoreAdj: SANDBOX_OOM_SCORE_ADJ,
    ...(p.userns ? { userns: { uidMappings: p.userns.uidMappings, gidMappings: p.userns.gidMappings } } : {}),
    readOnly: true,
    stopTimeout: 2,
    log: { driver: "none" },
    podSandbox: { ...p },
  };
  let c: Container;
  try {
    c = await createContainer(e, spec);
  } catch (err) {
    if (isBerthError(err, "AlreadyExists") || isBerthError(err, "Conflict")) throw taken(); // a concurrent twin won
    throw err;
  }
  try {
    await startContainer(e, c.id);
  } catch (err) {
    await removeContainer(e, c.id, { force: true, volumes: true }).catch(() => {});
    throw err;
  }
  e.emit({ type: "pod", action: "start", actor: c.id, attributes: { name: p.name, namespace: p.namespace } });
  return podView(e, await getContainer(e, c.id));
}

/** Stop the pod's containers (no grace: the CRI's "forcibly terminated"), then its infra. Idempotent. */
export async function stopPod(e: Engine, id: string): Promise<void> {
  const pod = await getPod(e, id);
  for (const m of await podMembers(e, pod.id)) {
    await stopContainer(e, m.id, { timeoutSec: 0 }).catch((err: unknown) => {
      if (!isBerthError(err, "NotFound")) throw err;
    });
  }
  await stopContainer(e, pod.id);
  e.emit({ type: "pod", action: "stop", actor: pod.id, attributes: { name: pod.pod.name, namespace: pod.pod.namespace } });
}

/** Remove the pod: its containers (killed if running), the infra container. Idempotent on a gone pod. */
export async function removePod(e: Engine, id: string): Promise<void> {
  let pod: Pod;
  try {
    pod = await getPod(e, id);
  } catch (err) {
    if (isBerthError(err, "NotFound") && !/is a container/.test((err as Error).message)) return;
    throw err;
  }
  for (const m of await podMembers(e, pod.id)) {
    await removeContainer(e, m.id, { force: true, volumes: true }).catch((err: unknown) => {
      if (!isBerthError(err, "NotFound")) throw err;
    });
  }
  await removeContainer(e, pod.id, { force: true, volumes: true });
  e.emit({ type: "pod", action: "remove", actor: pod.id, attributes: { name: pod.pod.name, namespace: pod.pod.namespace } });
}

/**
 * A container of the pod: it joins the pod's network, IPC and UTS namespaces (PID's when the
 * pod shares one), its cgroup parent, and logs in the CRI's format at logDirectory/logPath.
 */
export async function createPodContainer(e: Engine, podId: string, spec: ContainerSpec, o: { name: string; attempt: number; logPath?: string; pidTarget?: string }): Promise<Container> {
  const pod = await getPod(e, podId);
  if (pod.state !== "ready") throw failedPrecondition(`pod sandbox ${pod.id} is not ready (stopped): run a new pod for this container`, "pod_sandbox_id");
  const p = pod.pod;
  const infra = `container:${pod.id}`;
  if (p.userns && spec.privileged) throw invalidArgument("a privileged container cannot run in a pod with a user namespace", "linux.security_context.privileged");
  // An ephemeral container's target: another container of this pod, whose pid namespace it joins.
  let target: Container | undefined;
  if (o.pidTarget) {
    target = await getContainer(e, o.pidTarget).catch(() => undefined);
    if (!target || target.spec.pod !== pod.id) throw notFound(`namespace_options.target_id ${o.pidTarget}: no such container in pod sandbox ${pod.id}`, "linux.security_context.namespace_options.target_id");
  }
  let log: ContainerSpec["log"] = { driver: "none" };
  if (o.logPath) {
    if (!p.logDirectory && !isAbsolute(o.logPath)) throw invalidArgument(`log_path ${JSON.stringify(o.logPath)} is relative and the pod has no log_directory`, "log_path");
    // kubelet rotates CRI logs itself (ReopenContainerLog): the monitor never rotates them.
    log = { driver: "k8s-file", path: p.logDirectory ? join(p.logDirectory, o.logPath) : o.logPath, maxSize: 0, maxFiles: 1 };
    mkdirSync(dirname(log.path!), { recursive: true, mode: 0o755 });
  }
  const full: ContainerSpec = {
    ...spec,
    name: memberContainerName(o.name, p, o.attempt),
    network: { mode: p.network === "host" ? "host" : infra },
    ipc: p.ipc === "host" ? "host" : infra,
    uts: p.network === "host" ? "host" : infra,
    ...(target ? { pidMode: `container:${target.id}` } : p.pid === "pod" ? { pidMode: infra } : p.pid === "host" ? { pidMode: "host" } : {}),
    // The pod's user namespace, held by its infra process like the others.
    ...(p.userns ? { userns: { uidMappings: p.userns.uidMappings, gidMappings: p.userns.gidMappings, join: infra } } : {}),
    ...(pod.infra.spec.cgroupParent ? { cgroupParent: pod.infra.spec.cgroupParent } : {}),
    log,
    pod: pod.id,
  };
  try {
    return await createContainer(e, full);
  } catch (err) {
    if (isBerthError(err, "Conflict") || isBerthError(err, "AlreadyExists")) {
      throw alreadyExists(`container ${o.name} (attempt ${o.attempt}) already exists in pod sandbox ${pod.id}: remove it first, or raise the attempt`, "metadata");
    }
    throw err;
  }
}
