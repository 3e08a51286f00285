// Docker's JSON shapes of the engine's containers (Engine API ContainerInspectResponse and
// ContainerSummary, v1.44+): what `berth inspect`, `berth ps --format` and berthd's Docker API
// all print. A library between the fronts and the engine: the engine itself never names Docker.
import type { Container } from "../engine/containers.ts";
import type { Engine } from "../engine/engine.ts";
import type { MountSpec } from "../engine/spec.ts";
import type { NetworkView } from "../engine/network.ts";

/** docker's State.Status words (a container whose start failed is still "created"). */
export function dockerState(c: Container): string {
  if (c.state === "exited" && !c.startedAt) return "created";
  return c.state;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";
const iso = (d?: Date) => (d ? d.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z") : ZERO_TIME);

export interface DockerMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export function mountsOf(e: Engine, c: Container): DockerMount[] {
  const out: DockerMount[] = [];
  const vols = new Map((c.resolved.volumes ?? []).map((v) => [v.target, v]));
  const seen = new Set<string>();
  for (const m of c.spec.mounts ?? []) {
    const target = m.target.replace(/\/+$/, "") || "/";
    seen.add(target);
    out.push(dockerMount(e, m, vols.get(target)?.name));
  }
  for (const v of c.resolved.volumes ?? []) {
    if (seen.has(v.target)) continue;
    out.push({ Type: "volume", Name: v.name, Source: e.volumes.find(v.name)?.mountpoint ?? "", Destination: v.target, Driver: "local", Mode: "", RW: true, Propagation: "" });
  }
  return out;
}

function dockerMount(e: Engine, m: MountSpec, volumeName?: string): DockerMount {
  if (m.type === "bind") return { Type: "bind", Source: m.source ?? "", Destination: m.target, Mode: m.readOnly ? "ro" : "", RW: !m.readOnly, Propagation: m.propagation ?? "rprivate" };
  if (m.type === "tmpfs") return { Type: "tmpfs", Source: "", Destination: m.target, Mode: "", RW: !m.readOnly, Propagation: "" };
  const name = volumeName ?? m.source ?? "";
  return { Type: "volume", Name: name, Source: e.volumes.find(name)?.mountpoint ?? "", Destination: m.target, Driver: "local", Mode: m.readOnly ? "ro" : "z", RW: !m.readOnly, Propagation: "" };
}

/** docker's NetworkSettings from what the network library holds for the container. */
export function networkSettings(c: Container, view: NetworkView | undefined): Record<string, unknown> {
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const p of c.resolved.exposedPorts) ports[p] = null;
  for (const p of view?.ports ?? []) (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp ?? "0.0.0.0", HostPort: String(p.hostPort) });
  const first = view?.networks[0];
  const networks: Record<string, unknown> = {};
  for (const n of view?.networks ?? []) {
    networks[n.name] = {
      IPAMConfig: null, Links: null, Aliases: n.aliases.length ? n.aliases : null, MacAddress: n.mac, NetworkID: n.id, EndpointID: "",
      Gateway: n.gateway, IPAddress: n.address, IPPrefixLen: n.prefixLen, IPv6Gateway: "", GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0,
      DNSNames: n.name === "bridge" ? null : [c.name, c.id.slice(0, 12), ...n.aliases],
    };
  }
  const mode = c.spec.network?.mode ?? "bridge";
  if (mode === "host" || mode === "none") networks[mode] = { NetworkID: mode, IPAddress: "", Gateway: "", MacAddress: "" };
  return {
    Bridge: "", SandboxID: "", SandboxKey: view?.sandboxKey ?? "", Ports: ports,
    HairpinMode: false, LinkLocalIPv6Address: "", LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: "", Gateway: first?.gateway ?? "", GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0,
    IPAddress: first?.address ?? "", IPPrefixLen: first?.prefixLen ?? 0, IPv6Gateway: "", MacAddress: first?.mac ?? "",
    Networks: networks,
  };
}

/** docker container inspect's document. */
export function containerInspect(e: Engine, c: Container, net?: NetworkView, execIds?: string[]): Record<string, unknown> {
  const s = c.spec;
  const running = c.state === "running" || c.state === "paused" || c.state === "restarting";
  const dir = e.containerDir(c.id);
  const health = c.health as { status: string; failingStreak: number; log: { start: string; end: string; exitCode: number; output: string }[] } | undefined;
  const hc = c.resolved.healthcheck;
  const ns = (ms?: number) => (ms ? ms * 1e6 : 0);
  return {
    Id: c.id,
    Created: iso(c.createdAt),
    Path: c.resolved.path,
    Args: c.resolved.args,
    State: {
      Status: dockerState(c),
      Running: c.state === "running" || c.state === "paused",
      Paused: c.state === "paused",
      Restarting: c.state === "restarting",
      OOMKilled: c.oomKilled,
      Dead: c.state === "dead",
      Pid: running ? c.pid : 0,
      ExitCode: c.exitCode,
      Error: c.error,
      StartedAt: iso(c.startedAt),
      FinishedAt: iso(c.finishedAt),
      ...(health ? { Health: { Status: health.status, FailingStreak: health.failingStreak, Log: health.log.map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exitCode, Output: r.output })) } } : {}),
    },
    Image: c.imageId,
    ResolvConfPath: running ? `${dir}/resolv.conf` : "",
    HostnamePath: running ? `${dir}/hostname` : "",
    HostsPath: running ? `${dir}/hosts` : "",
    LogPath: s.log?.driver === "none" ? "" : c.resolved.logPath,
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: e.opts.storageDriver,
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: running && execIds?.length ? execIds : null,
    HostConfig: {
      Binds: (s.mounts ?? []).filter((m) => m.type !== "tmpfs" && m.source !== undefined).map((m) => `${m.source}:${m.target}${m.readOnly ? ":ro" : ""}`),
      ContainerIDFile: "",
      LogConfig: { Type: s.log?.driver ?? "json-file", Config: { ...(s.log?.maxSize !== undefined ? { "max-size": String(s.log.maxSize) } : {}), ...(s.log?.maxFiles !== undefined ? { "max-file": String(s.log.maxFiles) } : {}) } },
      NetworkMode: s.network?.mode ?? "bridge",
      PortBindings: Object.fromEntries((s.network?.ports ?? []).map((p) => [`${p.containerPort}/${p.protocol}`, [{ HostIp: p.hostIp ?? "", HostPort: p.hostPort ? String(p.hostPort) : "" }]])),
      PublishAllPorts: s.network?.publishAll ?? false,
      RestartPolicy: { Name: s.restart?.name ?? "no", MaximumRetryCount: s.restart?.maximumRetryCount ?? 0 },
      AutoRemove: s.autoRemove ?? false,
      VolumeDriver: "",
      VolumesFrom: null,
      CapAdd: s.capAdd ?? null,
      CapDrop: s.capDrop ?? null,
      GroupAdd: s.groupAdd ?? null,
      Dns: s.network?.dns?.servers ?? [],
      DnsOptions: s.network?.dns?.options ?? [],
      DnsSearch: s.network?.dns?.search ?? [],
      ExtraHosts: s.network?.extraHosts?.length ? s.network.extraHosts.map((h) => `${h.name}:${h.ip}`) : null,
      Init: s.init ?? null,
      OomScoreAdj: s.oomScoreAdj ?? 0,
      Privileged: s.privileged ?? false,
      ReadonlyRootfs: s.readOnly ?? false,
      SecurityOpt: [...(s.seccomp === "unconfined" ? ["seccomp=unconfined"] : []), ...(s.noNewPrivileges ? ["no-new-privileges"] : [])],
      Tmpfs: Object.fromEntries((s.mounts ?? []).filter((m) => m.type === "tmpfs").map((m) => [m.target, (m.options ?? []).join(",")])),
      ShmSize: s.shmSize ?? 64 * 1024 * 1024,
      Runtime: "berth",
      CgroupParent: s.cgroupParent ?? "",
      Memory: s.memory ?? 0,
      MemorySwap: s.memorySwap ?? (s.memory ? s.memory * 2 : 0),
      NanoCpus: s.cpus ? Math.round(s.cpus * 1e9) : 0,
      CpuShares: s.cpuShares ?? 0,
      CpusetCpus: s.cpusetCpus ?? "",
      CpusetMems: s.cpusetMems ?? "",
      CpuPeriod: s.cpuPeriod ?? 0,
      CpuQuota: s.cpuPeriod !== undefined && s.cpus !== undefined ? Math.round(s.cpus * s.cpuPeriod) : 0,
      PidsLimit: s.pidsLimit ?? null,
      Ulimits: (s.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      Sysctls: s.sysctls ?? null,
    },
    GraphDriver: { Name: e.opts.storageDriver, Data: { SnapshotKey: c.snapshotKey } },
    Mounts: mountsOf(e, c),
    Config: {
      Hostname: c.resolved.hostname ?? s.hostname ?? c.id.slice(0, 12),
      Domainname: s.domainname ?? "",
      User: c.resolved.user ?? s.user ?? "",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(c.resolved.exposedPorts.length ? { ExposedPorts: Object.fromEntries(c.resolved.exposedPorts.map((p) => [p, {}])) } : {}),
      Tty: s.tty ?? false,
      OpenStdin: s.stdin ?? false,
      StdinOnce: false,
      Env: c.resolved.env ?? s.env ?? [],
      Cmd: s.command?.length ? s.command : null,
      ...(hc ? { Healthcheck: { Test: hc.test, Interval: ns(hc.intervalMs), Timeout: ns(hc.timeoutMs), StartPeriod: ns(hc.startPeriodMs), ...(hc.startIntervalMs ? { StartInterval: ns(hc.startIntervalMs) } : {}), Retries: hc.retries ?? 0 } } : {}),
      Image: c.image,
      Volumes: c.resolved.volumes.length ? Object.fromEntries(c.resolved.volumes.map((v) => [v.target, {}])) : null,
      WorkingDir: c.resolved.workdir ?? s.workdir ?? "",
      Entrypoint: s.entrypoint ?? null,
      OnBuild: null,
      Labels: c.labels,
      StopSignal: c.resolved.stopSignal,
      ...(s.stopTimeout !== undefined ? { StopTimeout: s.stopTimeout } : {}),
    },
    NetworkSettings: networkSettings(c, running ? net : undefined),
  };
}
