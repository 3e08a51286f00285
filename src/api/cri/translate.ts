// The CRI's messages ⇄ the engine's words: PodSandboxConfig → PodRunSpec, ContainerConfig →
// ContainerSpec, and the engine's records → PodSandbox/Container/ContainerStatus. Pure functions
// (no engine calls) except where a file named by the request must be read (a localhost seccomp
// profile). Each refusal names the CRI field.
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { invalidArgument, notFound } from "../../sys/errdefs.ts";
import type { Container } from "../../engine/containers.ts";
import { devicePermissions, devicesFromHost } from "../../engine/devices.ts";
import type { Pod, PodRunSpec, PodSandboxSpec } from "../../engine/pods.ts";
import type { ContainerSpec, MountSpec } from "../../engine/spec.ts";
import type { PodSandboxConfig__Output } from "./generated/runtime/v1/PodSandboxConfig.ts";
import type { ContainerConfig__Output } from "./generated/runtime/v1/ContainerConfig.ts";
import type { PodSandbox } from "./generated/runtime/v1/PodSandbox.ts";
import type { Container as CriContainer } from "./generated/runtime/v1/Container.ts";
import type { ContainerStatus } from "./generated/runtime/v1/ContainerStatus.ts";
import type { NamespaceMode__Output } from "./generated/runtime/v1/NamespaceMode.ts";
import type { UserNamespace__Output } from "./generated/runtime/v1/UserNamespace.ts";
import type { IDMapping__Output } from "./generated/runtime/v1/IDMapping.ts";
import type { SecurityProfile__Output } from "./generated/runtime/v1/SecurityProfile.ts";

/** Labels berth keeps on a CRI container's record besides the CRI's own (hidden from CRI clients). */
export const LABEL_NAME = "io.berth.cri.name";
export const LABEL_ATTEMPT = "io.berth.cri.attempt";
export const LABEL_LOG_PATH = "io.berth.cri.log-path";
const OWN = /^io\.berth\.cri\./;

export const nanos = (d: Date | undefined): string => (d ? (BigInt(d.getTime()) * 1_000_000n).toString() : "0");

const num = (v: string | undefined, field: string): number => {
  if (v === undefined || v === "") return 0;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${field} ${v} is out of range`, field);
  return n;
};

function nsMode(m: NamespaceMode__Output | undefined, field: string, allowed: NamespaceMode__Output[]): NamespaceMode__Output {
  const v = m ?? "POD";
  if (!allowed.includes(v)) throw invalidArgument(`${field} ${v} is not supported for a pod (use ${allowed.join(" or ")})`, field);
  return v;
}

const USERNS = "linux.security_context.namespace_options.userns_options";

/**
 * Checks a mode POD userns_options as containerd 1.7 does (one range each for uids and gids, as
 * its remapped snapshots need) and as kubelet sends them (KEP-127: container_id 0, a 65536-wide
 * range at a multiple of 65536): each bad input is InvalidArgument naming the field.
 */
export function podUsernsMappings(u: UserNamespace__Output): { uids: IdMap[]; gids: IdMap[] } {
  if (u.mode !== "POD") throw invalidArgument(`${USERNS}.mode ${u.mode}: use NODE or POD`, `${USERNS}.mode`);
  const one = (list: IDMapping__Output[], kind: "uids" | "gids"): IdMap[] => {
    const field = `${USERNS}.${kind}`;
    if (list.length === 0) throw invalidArgument(`${field}: mode POD needs a mapping (none given)`, field);
    if (list.length > 1) throw invalidArgument(`${field}: only one mapping range is supported (got ${list.length})`, field);
    const m = list[0]!;
    if (m.container_id !== 0) throw invalidArgument(`${field}[0].container_id ${m.container_id}: the range must start at container id 0`, `${field}[0].container_id`);
    if (!(m.length > 0)) throw invalidArgument(`${field}[0].length ${m.length}: must be at least 1`, `${field}[0].length`);
    if (m.host_id === 0) throw invalidArgument(`${field}[0].host_id 0: mapping onto the host's root ids is no user namespace isolation`, `${field}[0].host_id`);
    if (m.host_id + m.length > 2 ** 32 - 1) throw invalidArgument(`${field}[0]: host_id ${m.host_id} + length ${m.length} is beyond the 32-bit id space`, `${field}[0]`);
    return [{ containerId: 0, hostId: m.host_id, size: m.length }];
  };
  return { uids: one(u.uids, "uids"), gids: one(u.gids, "gids") };
}
type IdMap = { containerId: number; hostId: number; size: number };
const usernsOf = (m: { uids: IdMap[]; gids: IdMap[] }) => {
  const oci = (l: IdMap[]) => l.map((x) => ({ containerID: x.containerId, hostID: x.hostId, size: x.size }));
  return { uidMappings: oci(m.uids), gidMappings: oci(m.gids) };
};

/** The CRI's UserNamespace for a pod's status: POD with its mappings, or NODE. */
export function usernsOptionsOf(u: PodSandboxSpec["userns"]) {
  const cri = (l: { containerID: number; hostID: number; size: number }[]) => l.map((m) => ({ container_id: m.containerID, host_id: m.hostID, length: m.size }));
  return u ? { mode: "POD" as const, uids: cri(u.uidMappings), gids: cri(u.gidMappings) } : { mode: "NODE" as const, uids: [], gids: [] };
}

/**
 * A container's own userns_options against its pod's user namespace (containerd's rule: they
 * must agree; a container shares its pod's namespaces). Unset follows the pod.
 */
export function checkContainerUserns(cfg: ContainerConfig__Output | null, pod: PodSandboxSpec["userns"]): void {
  const u = cfg?.linux?.security_context?.namespace_options?.userns_options;
  if (!u) return;
  const field = `config.${USERNS}`;
  if (u.mode === "NODE") {
    if (pod) throw invalidArgument(`${field}.mode NODE: the pod has its own user namespace, and its containers share it (use POD with the pod's mappings)`, `${field}.mode`);
    return;
  }
  const mine = usernsOf(podUsernsMappings(u));
  if (!pod) throw invalidArgument(`${field}.mode POD: the pod sandbox has no user namespace (it was run with mode NODE)`, `${field}.mode`);
  if (JSON.stringify(mine) !== JSON.stringify({ uidMappings: pod.uidMappings, gidMappings: pod.gidMappings }))
    throw invalidArgument(`${field}: the mappings differ from the pod sandbox's; a container shares its pod's user namespace`, field);
}

export function podRunSpec(cfg: PodSandboxConfig__Output | null, runtimeHandler: string): PodRunSpec {
  if (!cfg) throw invalidArgument("RunPodSandbox: config is missing", "config");
  if (!cfg.metadata) throw invalidArgument("RunPodSandbox: config.metadata is missing (name, uid, namespace, attempt)", "config.metadata");
  if (runtimeHandler && runtimeHandler !== "berth" && runtimeHandler !== "runc") {
    throw invalidArgument(`runtime_handler ${JSON.stringify(runtimeHandler)}: berth has one runtime (leave it empty)`, "runtime_handler");
  }
  const sc = cfg.linux?.security_context;
  const ns = sc?.namespace_options;
  const net = nsMode(ns?.network, "linux.security_context.namespace_options.network", ["POD", "NODE"]);
  const ipc = nsMode(ns?.ipc, "linux.security_context.namespace_options.ipc", ["POD", "NODE"]);
  const pid = nsMode(ns?.pid, "linux.security_context.namespace_options.pid", ["POD", "CONTAINER", "NODE"]);
  const userns = ns?.userns_options && ns.userns_options.mode !== "NODE" ? usernsOf(podUsernsMappings(ns.userns_options)) : undefined;
  const pod: PodSandboxSpec = {
    name: cfg.metadata.name, namespace: cfg.metadata.namespace, uid: cfg.metadata.uid, attempt: cfg.metadata.attempt,
    ...(cfg.hostname ? { hostname: cfg.hostname } : {}),
    ...(cfg.log_directory ? { logDirectory: cfg.log_directory } : {}),
    network: net === "NODE" ? "host" : "pod",
    ipc: ipc === "NODE" ? "host" : "pod",
    pid: pid === "NODE" ? "host" : pid === "CONTAINER" ? "container" : "pod",
    ...(runtimeHandler ? { runtimeHandler } : {}),
    ...(userns ? { userns } : {}),
  };
  if (cfg.log_directory && !isAbsolute(cfg.log_directory)) throw invalidArgument(`log_directory ${JSON.stringify(cfg.log_directory)} must be an absolute path`, "log_directory");
  const ports = cfg.port_mappings.map((p, i) => {
    if (p.container_port <= 0 || p.container_port > 65535) throw invalidArgument(`port_mappings[${i}].container_port ${p.container_port} is not a port`, "port_mappings");
    if (p.host_port < 0 || p.host_port > 65535) throw invalidArgument(`port_mappings[${i}].host_port ${p.host_port} is not a port`, "port_mappings");
    return { containerPort: p.container_port, hostPort: p.host_port, protocol: p.protocol.toLowerCase() as "tcp" | "udp" | "sctp", ...(p.host_ip ? { hostIp: p.host_ip } : {}) };
  });
  return {
    pod,
    labels: { ...cfg.labels }, annotations: { ...cfg.annotations },
    ...(cfg.dns_config ? { dns: { servers: cfg.dns_config.servers, searches: cfg.dns_config.searches, options: cfg.dns_config.options } } : {}),
    ports,
    ...(cfg.linux?.cgroup_parent ? { cgroupParent: cfg.linux.cgroup_parent } : {}),
    ...(cfg.linux && Object.keys(cfg.linux.sysctls).length ? { sysctls: { ...cfg.linux.sysctls } } : {}),
    ...(sc?.privileged ? { privileged: true } : {}),
  };
}

/** The CRI's seccomp (v1 `seccomp` first, then the older `seccomp_profile_path`) → the spec's. */
function seccompOf(profile: SecurityProfile__Output | null | undefined, path: string): ContainerSpec["seccomp"] {
  const local = (p: string): Record<string, unknown> => {
    if (!isAbsolute(p)) throw invalidArgument(`seccomp localhost profile ${JSON.stringify(p)} must be an absolute path`, "seccomp");
    let text: string;
    try {
      text = readFileSync(p, "utf8");
    } catch {
      throw notFound(`seccomp localhost profile ${p} does not exist on this node`, "seccomp");
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw invalidArgument(`seccomp localhost profile ${p} is not JSON: ${(e as Error).message}`, "seccomp");
    }
  };
  if (profile) {
    if (profile.profile_type === "RuntimeDefault") return "default";
    if (profile.profile_type === "Localhost") return local(profile.localhost_ref);
    return "unconfined";
  }
  if (path === "runtime/default" || path === "docker/default") return "default";
  if (path.startsWith("localhost/")) return local(path.slice("localhost/".length));
  if (path === "" || path === "unconfined") return "unconfined";
  throw invalidArgument(`seccomp_profile_path ${JSON.stringify(path)}: use runtime/default, unconfined or localhost/<path>`, "seccomp_profile_path");
}

const PROPAGATION = { PROPAGATION_PRIVATE: "rprivate", PROPAGATION_HOST_TO_CONTAINER: "rslave", PROPAGATION_BIDIRECTIONAL: "rshared" } as const;

export function containerSpec(cfg: ContainerConfig__Output | null): { spec: ContainerSpec; name: string; attempt: number; logPath: string; pidTarget?: string } {
  if (!cfg) throw invalidArgument("CreateContainer: config is missing", "config");
  if (!cfg.metadata?.name) throw invalidArgument("CreateContainer: config.metadata.name is empty", "config.metadata.name");
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(cfg.metadata.name)) throw invalidArgument(`config.metadata.name ${JSON.stringify(cfg.metadata.name)}: use letters, digits, '.' and '-'`, "config.metadata.name");
  if (!cfg.image?.image) throw invalidArgument("CreateContainer: config.image.image is empty", "config.image");
  const devices = cfg.devices.flatMap((d, i) => {
    const field = `config.devices[${i}]`;
    return devicesFromHost(d.host_path, d.container_path, devicePermissions(d.permissions, `${field}.permissions`), field);
  });
  const lx = cfg.linux;
  const sc = lx?.security_context;
  const res = lx?.resources;
  const mounts: MountSpec[] = cfg.mounts.map((m, i) => {
    if (!m.container_path) throw invalidArgument(`mounts[${i}].container_path is empty`, "mounts");
    if (!isAbsolute(m.host_path)) throw invalidArgument(`mounts[${i}].host_path ${JSON.stringify(m.host_path)} must be an absolute path`, "mounts");
    return { type: "bind", source: m.host_path, target: m.container_path, readOnly: m.readonly, propagation: PROPAGATION[m.propagation] ?? "rprivate" };
  });
  let user: string | undefined;
  if (sc?.run_as_username) user = sc.run_as_username;
  else if (sc?.run_as_user) user = sc.run_as_user.value;
  if (sc?.run_as_group) {
    if (user === undefined) throw invalidArgument("linux.security_context.run_as_group needs run_as_user or run_as_username", "run_as_group");
    user = `${user}:${sc.run_as_group.value}`;
  }
  const spec: ContainerSpec = { image: cfg.image.image };
  if (cfg.command.length) spec.entrypoint = [...cfg.command];
  if (cfg.args.length) spec.command = [...cfg.args];
  if (cfg.working_dir) spec.workdir = cfg.working_dir;
  spec.env = cfg.envs.map((kv) => `${kv.key}=${kv.value}`);
  if (user !== undefined) spec.user = user;
  // kubelet's supplementalGroups and fsGroup: gids the process also has (containerd adds them to
  // the user's own additional groups).
  if (sc?.supplemental_groups.length) spec.groupAdd = sc.supplemental_groups.map(String);
  if (cfg.tty) spec.tty = true;
  if (cfg.stdin) spec.stdin = true;
  if (mounts.length) spec.mounts = mounts;
  if (sc?.privileged) spec.privileged = true;
  if (devices.length) spec.devices = devices;
  if (sc?.capabilities?.add_capabilities.length) spec.capAdd = [...sc.capabilities.add_capabilities];
  if (sc?.capabilities?.drop_capabilities.length) spec.capDrop = [...sc.capabilities.drop_capabilities];
  if (sc?.readonly_rootfs) spec.readOnly = true;
  if (sc?.no_new_privs) spec.noNewPrivileges = true;
  spec.seccomp = seccompOf(sc?.seccomp, sc?.seccomp_profile_path ?? "");
  if (sc?.masked_paths.length) spec.maskedPaths = [...sc.masked_paths];
  if (sc?.readonly_paths.length) spec.readonlyPaths = [...sc.readonly_paths];
  if (res) Object.assign(spec, resourcesSpec(res));
  spec.labels = { ...cfg.labels, [LABEL_NAME]: cfg.metadata.name, [LABEL_ATTEMPT]: String(cfg.metadata.attempt), ...(cfg.log_path ? { [LABEL_LOG_PATH]: cfg.log_path } : {}) };
  spec.annotations = { ...cfg.annotations };
  // kubelet's ephemeral containers (kubectl debug --target): the pid namespace of another
  // container of the pod. The pod's own mode (POD, CONTAINER, NODE) applies to the others.
  const cns = sc?.namespace_options;
  let pidTarget: string | undefined;
  if (cns?.pid === "TARGET") {
    if (!cns.target_id) throw invalidArgument("linux.security_context.namespace_options.pid TARGET needs target_id (the container whose pid namespace to join)", "linux.security_context.namespace_options.target_id");
    pidTarget = cns.target_id;
  }
  return { spec, name: cfg.metadata.name, attempt: cfg.metadata.attempt, logPath: cfg.log_path, ...(pidTarget ? { pidTarget } : {}) };
}

/** LinuxContainerResources → the spec's limits (containerd's rules: no swap beyond the memory limit). */
export function resourcesSpec(res: NonNullable<NonNullable<ContainerConfig__Output["linux"]>["resources"]>): Partial<ContainerSpec> {
  const out: Partial<ContainerSpec> = {};
  const shares = num(res.cpu_shares, "resources.cpu_shares");
  const quota = num(res.cpu_quota, "resources.cpu_quota");
  const period = num(res.cpu_period, "resources.cpu_period") || 100_000;
  const memory = num(res.memory_limit_in_bytes, "resources.memory_limit_in_bytes");
  const swap = num(res.memory_swap_limit_in_bytes, "resources.memory_swap_limit_in_bytes");
  const oom = num(res.oom_score_adj, "resources.oom_score_adj");
  if (shares < 0 || quota < -1 || memory < 0) throw invalidArgument(`resources: negative cpu_shares ${shares}, cpu_quota ${quota} or memory_limit_in_bytes ${memory}`, "resources");
  if (oom < -1000 || oom > 1000) throw invalidArgument(`resources.oom_score_adj ${oom} is outside -1000..1000`, "resources.oom_score_adj");
  // containerd's WithResources: one runtime-spec hugepageLimits entry per CRI limit; the page
  // size is the hugetlb file names' form ("2MB", "1GB", "64KB"). Without a hugetlb controller the
  // runtime skips them (as runc), so the container still starts.
  const huge = res.hugepage_limits.map((h, i) => {
    const field = `resources.hugepage_limits[${i}]`;
    if (!/^[1-9]\d*[KMG]B$/.test(h.page_size)) throw invalidArgument(`${field}.page_size ${JSON.stringify(h.page_size)} is not a page size like "2MB" or "1GB"`, `${field}.page_size`);
    const limit = num(h.limit, `${field}.limit`);
    if (limit < 0) throw invalidArgument(`${field}.limit ${limit} is negative`, `${field}.limit`);
    return { pageSize: h.page_size, limit };
  });
  if (huge.length) out.hugepageLimits = huge;
  if (shares > 0) out.cpuShares = shares;
  if (quota > 0) {
    out.cpus = quota / period;
    if (period !== 100_000) out.cpuPeriod = period; // as given, as containerd sets it
  }
  if (memory > 0) {
    out.memory = memory;
    out.memorySwap = swap > 0 ? swap : memory;
  }
  if (res.cpuset_cpus) out.cpusetCpus = res.cpuset_cpus;
  if (res.cpuset_mems) out.cpusetMems = res.cpuset_mems;
  if (res.oom_score_adj !== "" && res.oom_score_adj !== "0") out.oomScoreAdj = oom;
  return out;
}

const criLabels = (l: Record<string, string> | undefined) => Object.fromEntries(Object.entries(l ?? {}).filter(([k]) => !OWN.test(k)));

export function podSandboxOf(p: Pod): PodSandbox {
  return {
    id: p.id,
    metadata: { name: p.pod.name, uid: p.pod.uid, namespace: p.pod.namespace, attempt: p.pod.attempt },
    state: p.state === "ready" ? "SANDBOX_READY" : "SANDBOX_NOTREADY",
    created_at: nanos(p.createdAt),
    labels: p.labels, annotations: p.annotations,
    runtime_handler: p.pod.runtimeHandler ?? "",
  };
}

type CriState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

export function containerState(c: Container): CriState {
  switch (c.state) {
    case "created": return "CONTAINER_CREATED";
    case "running": case "paused": case "restarting": return "CONTAINER_RUNNING";
    case "exited": case "dead": return "CONTAINER_EXITED";
    default: return "CONTAINER_UNKNOWN";
  }
}

const metadataOf = (c: Container) => ({ name: c.spec.labels?.[LABEL_NAME] ?? c.name, attempt: Number(c.spec.labels?.[LABEL_ATTEMPT] ?? 0) });

export function criContainerOf(c: Container): CriContainer {
  return {
    id: c.id, pod_sandbox_id: c.spec.pod ?? "", metadata: metadataOf(c),
    image: { image: c.spec.image }, image_ref: c.imageId, state: containerState(c), created_at: nanos(c.createdAt),
    labels: criLabels(c.spec.labels), annotations: { ...(c.spec.annotations ?? {}) },
  };
}

/** The typed stop record on CRI: OOMKilled, Completed or Error, with the engine's message. */
export function containerStatusOf(c: Container): ContainerStatus {
  const state = containerState(c);
  let reason = "";
  if (state === "CONTAINER_EXITED") reason = c.oomKilled ? "OOMKilled" : c.exitCode === 0 ? "Completed" : "Error";
  return {
    id: c.id, metadata: metadataOf(c), state,
    created_at: nanos(c.createdAt), started_at: nanos(c.startedAt), finished_at: state === "CONTAINER_EXITED" ? nanos(c.finishedAt) : "0",
    exit_code: state === "CONTAINER_EXITED" ? c.exitCode : 0,
    image: { image: c.spec.image }, image_ref: c.imageId, reason, message: c.error ?? "",
    labels: criLabels(c.spec.labels), annotations: { ...(c.spec.annotations ?? {}) },
    mounts: (c.spec.mounts ?? []).filter((m) => m.type === "bind").map((m) => ({
      container_path: m.target, host_path: m.source ?? "", readonly: m.readOnly ?? false, selinux_relabel: false,
      propagation: m.propagation === "rshared" ? "PROPAGATION_BIDIRECTIONAL" : m.propagation === "rslave" ? "PROPAGATION_HOST_TO_CONTAINER" : "PROPAGATION_PRIVATE",
    })),
    log_path: c.spec.log?.path ?? "",
  };
}

export function matchesLabels(have: Record<string, string>, want: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(want ?? {})) if (have[k] !== v) return false;
  return true;
}
