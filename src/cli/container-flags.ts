// The flags `berth run` and `berth create` share (docker's names and forms), and their
// translation into the engine's front-neutral ContainerSpec.
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { parseBytes, UsageError, type FlagTable, type Parsed } from "./flags.ts";
import { parseDuration } from "../sys/duration.ts";
import type { ContainerSpec, HealthcheckSpec, LogSpec, MountSpec, Ulimit } from "../engine/spec.ts";
import { parsePublish } from "../network/ports.ts";
import { parseAddHost } from "../network/etc-files.ts";

export const CONTAINER_FLAGS: FlagTable = {
  name: { kind: "string", help: "assign a name to the container" },
  env: { kind: "list", short: "e", help: "set environment variables (NAME=value, or NAME to copy it from here)" },
  "env-file": { kind: "list", help: "read environment variables from a file (NAME=value lines, # comments)" },
  label: { kind: "list", short: "l", help: "set metadata on the container (key=value)" },
  workdir: { kind: "string", short: "w", help: "working directory inside the container (created if missing)" },
  user: { kind: "string", short: "u", help: "user[:group] or uid[:gid]" },
  entrypoint: { kind: "string", help: "overwrite the image's ENTRYPOINT (\"\" clears it)" },
  hostname: { kind: "string", short: "h", help: "container host name" },
  domainname: { kind: "string", help: "container NIS domain name" },
  interactive: { kind: "bool", short: "i", help: "keep STDIN open even if not attached" },
  tty: { kind: "bool", short: "t", help: "allocate a pseudo-TTY" },
  "read-only": { kind: "bool", help: "mount the container's root filesystem read-only" },
  memory: { kind: "string", short: "m", value: "bytes", help: "memory limit (e.g. 64m)" },
  "memory-swap": { kind: "string", value: "bytes", help: "memory plus swap limit (-1: unlimited swap; default twice --memory)" },
  "pids-limit": { kind: "int", help: "limit the number of processes (-1: unlimited)" },
  cpus: { kind: "string", value: "decimal", help: "number of CPUs (CFS quota), e.g. 0.5" },
  "cpu-shares": { kind: "int", short: "c", help: "CPU shares (relative weight)" },
  "cpu-period": { kind: "int", help: "CFS period in µs (1000-1000000) that --cpu-quota is a share of" },
  "cpu-quota": { kind: "int", help: "CFS quota in µs per period (the CPU time the container may use)" },
  "cpuset-cpus": { kind: "string", value: "list", help: "CPUs in which to allow execution (0-3, 0,1)" },
  "cpuset-mems": { kind: "string", value: "list", help: "memory nodes (NUMA) in which to allow execution (0-3, 0,1)" },
  volume: { kind: "list", short: "v", help: "bind mount a host path (/host:/ctr[:ro]), a named volume (name:/ctr) or an anonymous one (/ctr)" },
  mount: { kind: "list", help: "attach a mount: type=bind|volume|tmpfs,source=…,target=…[,readonly]" },
  tmpfs: { kind: "list", help: "mount a tmpfs: /path[:size=64m,mode=1777,…]" },
  network: { kind: "string", value: "mode", help: "bridge (default), a network's name, none (loopback only), host, or container:<name|id>" },
  net: { kind: "string", value: "mode", help: "alias of --network" },
  publish: { kind: "list", short: "p", help: "publish a container's port(s) to the host: [ip:][hostPort:]containerPort[/tcp|udp]" },
  "publish-all": { kind: "bool", short: "P", help: "publish all exposed ports to random ports" },
  ip: { kind: "string", help: "IPv4 address on the network (e.g. 172.30.100.104)" },
  "mac-address": { kind: "string", help: "container MAC address (e.g. 92:d0:c6:0a:29:33)" },
  "network-alias": { kind: "list", help: "add a network-scoped alias for the container (user networks)" },
  "add-host": { kind: "list", help: "add a custom host-to-IP mapping (host:ip)" },
  dns: { kind: "list", help: "set custom DNS servers" },
  "dns-search": { kind: "list", help: "set custom DNS search domains" },
  "dns-option": { kind: "list", help: "set DNS options" },
  privileged: { kind: "bool", help: "give extended privileges to this container (all capabilities, devices, no seccomp)" },
  "cap-add": { kind: "list", help: "add Linux capabilities (NET_ADMIN, ALL…)" },
  "group-add": { kind: "list", help: "add additional groups to join (names of the image's /etc/group, or gids)" },
  "cap-drop": { kind: "list", help: "drop Linux capabilities" },
  "security-opt": { kind: "list", help: "seccomp=unconfined|PROFILE.json, no-new-privileges[=true]" },
  ulimit: { kind: "list", help: "ulimit options: nofile=1024[:2048]" },
  "shm-size": { kind: "string", value: "bytes", help: "size of /dev/shm (default 64m)" },
  sysctl: { kind: "list", help: "namespaced kernel parameters: net.ipv4.ip_forward=1" },
  "oom-score-adj": { kind: "int", help: "tune the host's OOM preferences (-1000 to 1000)" },
  "cgroup-parent": { kind: "string", value: "path", help: "optional parent cgroup for the container (relative to berth's)" },
  restart: { kind: "string", value: "policy", help: "no (default), always, on-failure[:N], unless-stopped (done by the container's monitor)" },
  rm: { kind: "bool", help: "automatically remove the container (and its anonymous volumes) when it exits" },
  init: { kind: "bool", help: "run an init (tini) inside the container that forwards signals and reaps processes" },
  "stop-signal": { kind: "string", value: "signal", help: "signal to stop the container (default the image's, else SIGTERM)" },
  "stop-timeout": { kind: "int", value: "seconds", help: "seconds to wait before killing the container at stop (default 10)" },
  "health-cmd": { kind: "string", value: "command", help: "command to run to check health (run by sh -c)" },
  "health-interval": { kind: "string", value: "duration", help: "time between running the check (default 30s)" },
  "health-timeout": { kind: "string", value: "duration", help: "maximum time to allow one check to run (default 30s)" },
  "health-retries": { kind: "int", help: "consecutive failures needed to report unhealthy (default 3)" },
  "health-start-period": { kind: "string", value: "duration", help: "start period during which failures do not count (default 0s)" },
  "health-start-interval": { kind: "string", value: "duration", help: "time between running the check during the start period (default 5s)" },
  "no-healthcheck": { kind: "bool", help: "disable any container-specified HEALTHCHECK" },
  "log-driver": { kind: "string", value: "driver", help: "json-file (default, bounded: 10m × 3), k8s-file or none" },
  "log-opt": { kind: "list", help: "log driver options: max-size=10m, max-file=3" },
  pull: { kind: "string", value: "policy", help: "pull the image before running: missing (default), always, never" },
  quiet: { kind: "bool", short: "q", help: "suppress the pull output" },
  platform: { kind: "string", help: "platform to pull if the image is missing (linux/amd64)" },
};

const str = (p: Parsed, k: string) => p.flags[k] as string | undefined;
const list = (p: Parsed, k: string) => (p.flags[k] as string[] | undefined) ?? [];

/** docker's --env-file: NAME=value lines; a bare NAME takes the value from here; # comments. */
export function readEnvFile(path: string, hostEnv: Record<string, string | undefined>): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--env-file ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, "--env-file");
  }
  const out: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/^\s+/, "").replace(/\r$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (name === "" || /\s/.test(name)) throw new UsageError(`--env-file ${path}:${i + 1}: variable ${JSON.stringify(name)} contains whitespaces or is empty`, "--env-file");
    if (eq >= 0) out.push(line);
    else if (hostEnv[name] !== undefined) out.push(`${name}=${hostEnv[name]}`);
  }
  return out;
}

/** -e NAME=value as given, -e NAME from here (dropped when unset, as docker). */
export function envFlags(entries: string[], hostEnv: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const eq = e.indexOf("=");
    const name = eq < 0 ? e : e.slice(0, eq);
    if (name === "") throw new UsageError(`invalid environment variable: ${e}`, "--env");
    if (eq >= 0) out.push(e);
    else if (hostEnv[name] !== undefined) out.push(`${name}=${hostEnv[name]}`);
  }
  return out;
}

function keyValues(entries: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf("=");
    if (eq === 0) throw new UsageError(`invalid argument "${e}" for "${flag}": the key is empty`, flag);
    out[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? "" : e.slice(eq + 1);
  }
  return out;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const BIND_OPTS = new Set(["ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared", "slave", "rslave"]);

/** docker's -v: /host:/ctr[:opts] (bind), name:/ctr[:opts] (volume), /ctr (anonymous volume). */
export function parseVolumeFlag(v: string): MountSpec {
  const parts = v.split(":");
  if (parts.length === 1) {
    if (!v.startsWith("/")) throw new UsageError(`invalid volume specification ${JSON.stringify(v)}: a lone path must be absolute (an anonymous volume at that path)`, "--volume");
    return { type: "volume", target: v };
  }
  if (parts.length > 3 || parts[0] === "" || parts[1] === "") throw new UsageError(`invalid volume specification ${JSON.stringify(v)}: use SOURCE:DESTINATION[:ro]`, "--volume");
  const [src, dst, optText] = parts as [string, string, string | undefined];
  const opts = optText ? optText.split(",") : [];
  for (const o of opts) if (!BIND_OPTS.has(o)) throw new UsageError(`invalid volume specification ${JSON.stringify(v)}: unknown option ${JSON.stringify(o)} (ro, rw, nocopy, rprivate, rshared…)`, "--volume");
  if (!dst.startsWith("/")) throw new UsageError(`invalid volume specification ${JSON.stringify(v)}: the destination ${JSON.stringify(dst)} must be an absolute path`, "--volume");
  const readOnly = opts.includes("ro");
  const propagation = opts.find((o) => /^r?(private|shared|slave)$/.test(o));
  if (src.startsWith("/")) return { type: "bind", source: src, target: dst, readOnly, ...(propagation ? { propagation } : {}) };
  if (!VOLUME_NAME.test(src)) throw new UsageError(`invalid volume specification ${JSON.stringify(v)}: ${JSON.stringify(src)} is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`, "--volume");
  return { type: "volume", source: src, target: dst, readOnly, ...(opts.includes("nocopy") ? { noCopy: true } : {}) };
}

/** docker's --mount type=…,source=…,target=…,readonly,… (csv). */
export function parseMountFlag(v: string): MountSpec {
  const kv: Record<string, string> = {};
  for (const field of v.split(",")) {
    const eq = field.indexOf("=");
    const k = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    kv[k] = eq < 0 ? "true" : field.slice(eq + 1);
  }
  const type = kv.type ?? "volume";
  if (type !== "bind" && type !== "volume" && type !== "tmpfs") throw new UsageError(`--mount ${v}: type ${JSON.stringify(type)} is not supported (bind, volume, tmpfs)`, "--mount");
  const target = kv.target ?? kv.destination ?? kv.dst;
  if (!target) throw new UsageError(`--mount ${v}: target is required (target=/path)`, "--mount");
  const source = kv.source ?? kv.src;
  const ro = kv.readonly ?? kv.ro;
  const readOnly = ro === "true" || ro === "1";
  const known = new Set(["type", "target", "destination", "dst", "source", "src", "readonly", "ro", "bind-propagation", "volume-nocopy", "tmpfs-size", "tmpfs-mode", "consistency"]);
  for (const k of Object.keys(kv)) if (!known.has(k)) throw new UsageError(`--mount ${v}: unexpected key ${JSON.stringify(k)}`, "--mount");
  if (type === "tmpfs") {
    if (source) throw new UsageError(`--mount ${v}: a tmpfs mount takes no source`, "--mount");
    return {
      type, target, readOnly,
      ...(kv["tmpfs-size"] ? { tmpfsSize: parseBytes(kv["tmpfs-size"], "tmpfs-size") } : {}),
      ...(kv["tmpfs-mode"] ? { tmpfsMode: parseInt(kv["tmpfs-mode"], 8) } : {}),
    };
  }
  if (type === "bind") {
    if (!source) throw new UsageError(`--mount ${v}: a bind mount needs source=/host/path`, "--mount");
    return { type, source, target, readOnly, ...(kv["bind-propagation"] ? { propagation: kv["bind-propagation"] } : {}) };
  }
  return { type, ...(source ? { source } : {}), target, readOnly, ...(kv["volume-nocopy"] === "true" ? { noCopy: true } : {}) };
}

/** --tmpfs /path[:opts]: size= and mode= understood, other options passed to mount. */
export function parseTmpfsFlag(v: string): MountSpec {
  const colon = v.indexOf(":");
  const target = colon < 0 ? v : v.slice(0, colon);
  if (!target.startsWith("/")) throw new UsageError(`--tmpfs ${v}: the path must be absolute`, "--tmpfs");
  const m: MountSpec = { type: "tmpfs", target, options: [] };
  for (const o of colon < 0 ? [] : v.slice(colon + 1).split(",").filter(Boolean)) {
    if (o.startsWith("size=")) m.tmpfsSize = parseBytes(o.slice(5), "--tmpfs size");
    else if (o.startsWith("mode=")) m.tmpfsMode = parseInt(o.slice(5), 8);
    else if (o === "ro") m.readOnly = true;
    else if (o === "rw") m.readOnly = false;
    else m.options!.push(o);
  }
  return m;
}

/** --ulimit nofile=1024[:2048] */
export function parseUlimit(v: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
  if (!m) throw new UsageError(`invalid ulimit argument: ${v} (use name=soft[:hard], e.g. nofile=1024:2048)`, "--ulimit");
  const soft = Number(m[2]);
  return { name: m[1]!, soft, hard: m[3] !== undefined ? Number(m[3]) : soft };
}

/** --restart no|always|unless-stopped|on-failure[:N] */
export function parseRestart(v: string): NonNullable<ContainerSpec["restart"]> {
  const [name, n] = v.split(":");
  if (name !== "no" && name !== "always" && name !== "on-failure" && name !== "unless-stopped") {
    throw new UsageError(`invalid restart policy ${JSON.stringify(v)}: use no, always, on-failure[:max-retries] or unless-stopped`, "--restart");
  }
  if (n !== undefined) {
    if (name !== "on-failure") throw new UsageError(`invalid restart policy ${JSON.stringify(v)}: maximum retry count cannot be used with restart policy '${name}'`, "--restart");
    if (!/^\d+$/.test(n)) throw new UsageError(`invalid restart policy ${JSON.stringify(v)}: the retry count must be a number`, "--restart");
    return { name, maximumRetryCount: Number(n) };
  }
  return { name };
}

function logSpec(p: Parsed): LogSpec | undefined {
  const driver = str(p, "log-driver");
  const opts = keyValues(list(p, "log-opt"), "--log-opt");
  if (driver === undefined && Object.keys(opts).length === 0) return undefined;
  if (driver !== undefined && driver !== "json-file" && driver !== "k8s-file" && driver !== "none") {
    throw new UsageError(`--log-driver ${driver}: not supported (json-file, k8s-file, none)`, "--log-driver");
  }
  const spec: LogSpec = { driver: (driver as LogSpec["driver"] | undefined) ?? "json-file" };
  for (const [k, v] of Object.entries(opts)) {
    if (k === "max-size") spec.maxSize = v === "-1" ? 0 : parseBytes(v, "--log-opt max-size");
    else if (k === "max-file") {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--log-opt max-file=${v}: must be a positive number`, "--log-opt");
      spec.maxFiles = Number(v);
    } else throw new UsageError(`--log-opt ${k}: unknown option for ${spec.driver} (max-size, max-file)`, "--log-opt");
  }
  return spec;
}

function healthSpec(p: Parsed): HealthcheckSpec | undefined {
  if (p.flags["no-healthcheck"]) return { test: ["NONE"] };
  const cmd = str(p, "health-cmd");
  const dur = (k: string) => (str(p, k) !== undefined ? parseDuration(str(p, k)!, `--${k}`) : undefined);
  const interval = dur("health-interval"), timeout = dur("health-timeout"), start = dur("health-start-period"), startInterval = dur("health-start-interval");
  const retries = p.flags["health-retries"] as number | undefined;
  if (cmd === undefined) {
    if (interval !== undefined || timeout !== undefined || start !== undefined || startInterval !== undefined || retries !== undefined) {
      throw new UsageError("--health-interval, --health-timeout, --health-retries, --health-start-period and --health-start-interval need --health-cmd (or an image HEALTHCHECK, which these flags cannot change here)", "--health-cmd");
    }
    return undefined;
  }
  return {
    test: ["CMD-SHELL", cmd],
    ...(interval !== undefined ? { intervalMs: interval } : {}),
    ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
    ...(start !== undefined ? { startPeriodMs: start } : {}),
    ...(startInterval !== undefined ? { startIntervalMs: startInterval } : {}),
    ...(retries !== undefined ? { retries } : {}),
  };
}

function securityOpts(entries: string[]): Pick<ContainerSpec, "seccomp" | "noNewPrivileges"> {
  const out: Pick<ContainerSpec, "seccomp" | "noNewPrivileges"> = {};
  for (const e of entries) {
    const sep = e.search(/[=:]/);
    const key = sep < 0 ? e : e.slice(0, sep);
    const val = sep < 0 ? "" : e.slice(sep + 1);
    if (key === "no-new-privileges") out.noNewPrivileges = val === "" || val === "true";
    else if (key === "seccomp") {
      if (val === "unconfined") out.seccomp = "unconfined";
      else if (val === "" ) throw new UsageError("--security-opt seccomp needs a value: unconfined or a profile file", "--security-opt");
      else {
        let text: string;
        try {
          text = readFileSync(val, "utf8");
        } catch (err) {
          throw new UsageError(`--security-opt seccomp=${val}: cannot read the profile: ${(err as Error).message}`, "--security-opt");
        }
        try {
          out.seccomp = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          throw new UsageError(`--security-opt seccomp=${val}: not JSON: ${(err as Error).message}`, "--security-opt");
        }
      }
    } else if (key === "label" || key === "apparmor") {
      // SELinux and AppArmor are not available on this kind of host; docker ignores them too
      // when the host has neither.
    } else throw new UsageError(`invalid --security-opt: ${JSON.stringify(e)} (seccomp=…, no-new-privileges)`, "--security-opt");
  }
  return out;
}

function networkSpec(p: Parsed, mode: string): NonNullable<ContainerSpec["network"]> {
  const ports = list(p, "publish").flatMap((v) => parsePublish(v));
  const dns = {
    ...(list(p, "dns").length ? { servers: list(p, "dns") } : {}),
    ...(list(p, "dns-search").length ? { search: list(p, "dns-search") } : {}),
    ...(list(p, "dns-option").length ? { options: list(p, "dns-option") } : {}),
  };
  const hosts = list(p, "add-host").map(parseAddHost);
  return {
    mode,
    ...(ports.length ? { ports } : {}),
    ...(p.flags["publish-all"] ? { publishAll: true } : {}),
    ...(str(p, "ip") !== undefined ? { ip: str(p, "ip")! } : {}),
    ...(str(p, "mac-address") !== undefined ? { mac: str(p, "mac-address")! } : {}),
    ...(list(p, "network-alias").length ? { aliases: list(p, "network-alias") } : {}),
    ...(Object.keys(dns).length ? { dns } : {}),
    ...(hosts.length ? { extraHosts: hosts } : {}),
  };
}

/** The ContainerSpec for `berth run|create [flags] IMAGE [COMMAND…]`. */
export function specFromFlags(p: Parsed, image: string, command: string[], hostEnv: Record<string, string | undefined>): ContainerSpec {
  const f = p.flags;
  let cpus: number | undefined;
  if (f.cpus !== undefined) {
    cpus = Number(f.cpus);
    if (!Number.isFinite(cpus)) throw new UsageError(`invalid argument "${String(f.cpus)}" for "--cpus" flag: not a number`, "--cpus");
  }
  const period = f["cpu-period"] as number | undefined, quota = f["cpu-quota"] as number | undefined;
  if (cpus !== undefined && (period !== undefined || quota !== undefined)) {
    throw new UsageError("conflicting options: --cpus and --cpu-period/--cpu-quota cannot both be set (use one way of giving the CPU limit)", "--cpus");
  }
  // docker's --cpu-quota over --cpu-period (100 ms when not given); a quota of 0 or -1 is no limit.
  const limited = quota !== undefined && quota > 0;
  if (limited) cpus = quota / (period ?? 100_000);
  const cpuPeriod = limited ? period : undefined;
  const env = [...list(p, "env-file").flatMap((file) => readEnvFile(file, hostEnv)), ...envFlags(list(p, "env"), hostEnv)];
  const mounts: MountSpec[] = [...list(p, "volume").map(parseVolumeFlag), ...list(p, "mount").map(parseMountFlag), ...list(p, "tmpfs").map(parseTmpfsFlag)];
  const network = str(p, "network") ?? str(p, "net");
  const entrypoint = str(p, "entrypoint");
  const memorySwap = str(p, "memory-swap");
  const log = logSpec(p);
  const health = healthSpec(p);
  const sysctls = keyValues(list(p, "sysctl"), "--sysctl");
  const spec: ContainerSpec = {
    image,
    ...(command.length ? { command } : {}),
    ...(entrypoint !== undefined ? { entrypoint: entrypoint === "" ? [] : [entrypoint] } : {}),
    ...(str(p, "name") !== undefined ? { name: str(p, "name")! } : {}),
    env,
    ...(str(p, "workdir") !== undefined ? { workdir: posix.normalize(str(p, "workdir")!) } : {}),
    ...(str(p, "user") !== undefined ? { user: str(p, "user")! } : {}),
    ...(str(p, "hostname") !== undefined ? { hostname: str(p, "hostname")! } : {}),
    ...(str(p, "domainname") !== undefined ? { domainname: str(p, "domainname")! } : {}),
    labels: keyValues(list(p, "label"), "--label"),
    tty: f.tty === true,
    stdin: f.interactive === true,
    readOnly: f["read-only"] === true,
    ...(f.privileged ? { privileged: true } : {}),
    ...(list(p, "cap-add").length ? { capAdd: list(p, "cap-add") } : {}),
    ...(list(p, "group-add").length ? { groupAdd: list(p, "group-add") } : {}),
    ...(list(p, "cap-drop").length ? { capDrop: list(p, "cap-drop") } : {}),
    ...securityOpts(list(p, "security-opt")),
    ...(mounts.length ? { mounts } : {}),
    ...(f.memory !== undefined ? { memory: parseBytes(f.memory as string, "--memory") } : {}),
    ...(memorySwap !== undefined ? { memorySwap: memorySwap === "-1" ? -1 : parseBytes(memorySwap, "--memory-swap") } : {}),
    ...(f["pids-limit"] !== undefined ? { pidsLimit: f["pids-limit"] as number } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(cpuPeriod !== undefined ? { cpuPeriod } : {}),
    ...(f["cpu-shares"] !== undefined ? { cpuShares: f["cpu-shares"] as number } : {}),
    ...(str(p, "cpuset-cpus") !== undefined ? { cpusetCpus: str(p, "cpuset-cpus")! } : {}),
    ...(str(p, "cpuset-mems") !== undefined ? { cpusetMems: str(p, "cpuset-mems")! } : {}),
    ...(list(p, "ulimit").length ? { ulimits: list(p, "ulimit").map(parseUlimit) } : {}),
    ...(str(p, "shm-size") !== undefined ? { shmSize: parseBytes(str(p, "shm-size")!, "--shm-size") } : {}),
    ...(Object.keys(sysctls).length ? { sysctls } : {}),
    ...(f["oom-score-adj"] !== undefined ? { oomScoreAdj: f["oom-score-adj"] as number } : {}),
    ...(str(p, "cgroup-parent") !== undefined ? { cgroupParent: str(p, "cgroup-parent")! } : {}),
    network: networkSpec(p, network ?? "bridge"),
    ...(str(p, "restart") !== undefined ? { restart: parseRestart(str(p, "restart")!) } : {}),
    ...(str(p, "stop-signal") !== undefined ? { stopSignal: str(p, "stop-signal")! } : {}),
    ...(f["stop-timeout"] !== undefined ? { stopTimeout: f["stop-timeout"] as number } : {}),
    ...(f.init ? { init: true } : {}),
    ...(f.rm ? { autoRemove: true } : {}),
    ...(log ? { log } : {}),
    ...(health ? { healthcheck: health } : {}),
  };
  return spec;
}
