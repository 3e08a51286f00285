// /_ping, /version, /info, /events, /system/df and the endpoints berth answers with docker's
// error shape because it does not do them yet (/build, /images/search, swarm, plugins).
import { cpus, hostname, release, totalmem } from "node:os";
import { listContainers } from "../../engine/containers.ts";
import { diskUsage } from "../../engine/disk-usage.ts";
import { readImage, familiarName } from "../../engine/images.ts";
import { dirSize, volumeUsers } from "../../engine/volumes.ts";
import { eventFilter, eventJson, EVENT_FILTER_KEYS } from "../../docker/event-json.ts";
import { volumeJson } from "../../docker/volume-json.ts";
import { readHostCgroups } from "../../cgroups/manager.ts";
import { ApiError, badRequest, jsonBody, qFilters, q, sendJson, startStream, writeChunk, type Ctx } from "./http.ts";
import { isBerthError } from "../../sys/errdefs.ts";
import { API_VERSION, MIN_API_VERSION } from "./version.ts";
import { timeParam } from "./containers.ts";
import { BERTH_VERSION } from "../../sys/version.ts";
const arch = () => (process.arch === "x64" ? "amd64" : process.arch);

export async function ping(c: Ctx): Promise<void> {
  const res = c.res!;
  res.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
  res.setHeader("Pragma", "no-cache");
  res.setHeader("Builder-Version", "");
  res.setHeader("Swarm", "inactive");
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": 2 });
  res.end(c.req.method === "HEAD" ? undefined : "OK");
}

export async function version(c: Ctx): Promise<void> {
  const v = {
    Platform: { Name: "berth" },
    Components: [{ Name: "Engine", Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: "linux", Arch: arch(), KernelVersion: release() } }],
    Version: BERTH_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: "", GoVersion: `bun ${Bun.version}`,
    Os: "linux", Arch: arch(), KernelVersion: release(), BuildTime: "", Experimental: false,
  };
  sendJson(c, 200, v);
}

export async function info(c: Ctx): Promise<void> {
  const e = c.e;
  const cs = await listContainers(e, { all: true });
  const host = readHostCgroups({});
  const count = (s: string[]) => cs.filter((x) => s.includes(x.state)).length;
  sendJson(c, 200, {
    ID: "", Containers: cs.length, ContainersRunning: count(["running", "restarting"]), ContainersPaused: count(["paused"]),
    ContainersStopped: count(["exited", "created", "dead"]), Images: new Set(e.images.list().map((i) => i.target.digest)).size,
    Driver: e.opts.storageDriver, DriverStatus: [], DockerRootDir: e.opts.root, LoggingDriver: "json-file", CgroupDriver: "cgroupfs",
    CgroupVersion: host.layout === "v2" ? "2" : "1", KernelVersion: release(), OperatingSystem: "linux", OSType: "linux", OSVersion: "",
    Architecture: process.arch === "x64" ? "x86_64" : process.arch, NCPU: cpus().length, MemTotal: totalmem(), Name: hostname(),
    ServerVersion: BERTH_VERSION, DefaultRuntime: "berth-runtime", Runtimes: { "berth-runtime": { path: "berth-runtime" } },
    Plugins: { Volume: ["local"], Network: ["bridge", "host", "none"], Log: ["json-file", "k8s-file", "none"] },
    Swarm: { LocalNodeState: "inactive", ControlAvailable: false, NodeID: "", NodeAddr: "" },
    SecurityOptions: ["name=seccomp,profile=builtin"], InitBinary: "tini", LiveRestoreEnabled: true,
    ContainerdCommit: { ID: "" }, RuncCommit: { ID: "" }, InitCommit: { ID: "" },
    RegistryConfig: { InsecureRegistryCIDRs: ["127.0.0.0/8"], IndexConfigs: {}, Mirrors: [] },
    MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
    IPv4Forwarding: true, Debug: false, NFd: 0, NGoroutines: 0, SystemTime: new Date().toISOString(), IndexServerAddress: "https://index.docker.io/v1/",
    Labels: [], ExperimentalBuild: false, HttpProxy: "", HttpsProxy: "", NoProxy: "", Warnings: [],
  });
}

/** The backlog in [since, until], then (without an until in the past) every new event, filtered here. */
export async function events(c: Ctx): Promise<void> {
  const f = qFilters(c, EVENT_FILTER_KEYS);
  const match = eventFilter([...f].flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
  const since = timeParam(q(c, "since"), "since");
  const until = timeParam(q(c, "until"), "until") || undefined; // 0: no end
  const e = c.e;
  const res = startStream(c, "application/json");
  let after = since !== undefined ? 0 : e.eventLog.lastSeq();
  const sinceUs = since !== undefined ? since * 1000 : 0;
  const untilUs = until !== undefined ? until * 1000 : Number.MAX_SAFE_INTEGER;
  // Other berth processes (the CLI, a monitor's exit command) write to the log as well: poll it.
  for (let round = 0; !c.signal.aborted; round++) {
    if (round % 5 === 4) await listContainers(e, { all: false }).catch(() => {}); // record exits nobody collected yet
    for (const ev of e.eventLog.list({ afterSeq: after, sinceUs, untilUs })) {
      after = ev.seq;
      if (match(ev)) await writeChunk(res, `${JSON.stringify(eventJson(ev))}\n`, c.signal);
    }
    if (until !== undefined && Date.now() > until) break;
    // Woken at once by this process's own events; other processes' are seen within 100 ms.
    await new Promise<void>((r) => {
      const done = () => {
        clearTimeout(t);
        queueMicrotask(off); // not while the engine iterates its listeners
        c.signal.removeEventListener("abort", done);
        r();
      };
      const t = setTimeout(done, 100);
      const off = e.onEvent(() => done());
      c.signal.addEventListener("abort", done, { once: true });
    });
  }
  res.end();
}

export async function df(c: Ctx): Promise<void> {
  const e = c.e;
  const types = c.query.getAll("type");
  const want = (t: string) => types.length === 0 || types.includes(t);
  const cs = await listContainers(e, { all: true });
  const sn = await e.snapshotter();
  const out: Record<string, unknown> = { LayersSize: (await diskUsage(e)).images.size, BuilderSize: 0 };
  if (want("image")) {
    const seen = new Map<string, { Id: string; RepoTags: string[]; RepoDigests: string[]; Created: number; Size: number; SharedSize: number; VirtualSize: number; Labels: Record<string, string>; Containers: number; ParentId: string }>();
    for (const rec of e.images.list()) {
      const img = await readImage(e, rec).catch(() => undefined);
      if (!img) continue;
      const row = seen.get(img.id) ?? { Id: img.id, RepoTags: [], RepoDigests: [], Created: Math.floor(Date.parse(img.configDoc.created ?? rec.createdAt.toISOString()) / 1000), Size: img.layers.reduce((a, l) => a + l.size, 0) + img.config.size, SharedSize: 0, VirtualSize: 0, Labels: img.configDoc.config?.Labels ?? {}, Containers: cs.filter((x) => x.imageId === img.id).length, ParentId: "" };
      row.VirtualSize = row.Size;
      row.RepoTags.push(familiarName(rec.name));
      seen.set(img.id, row);
    }
    out.Images = [...seen.values()];
  }
  if (want("container")) {
    const rows = [];
    for (const x of cs) {
      const size = await sn.usage(x.snapshotKey).then((u) => u.size).catch(() => 0);
      rows.push({ Id: x.id, Names: [`/${x.name}`], Image: x.image, ImageID: x.imageId, Command: [x.resolved.path, ...x.resolved.args].join(" "), Created: Math.floor(x.createdAt.getTime() / 1000), State: x.state === "exited" && !x.startedAt ? "created" : x.state, Status: x.state, SizeRw: size, SizeRootFs: size, Labels: x.labels, Mounts: [] });
    }
    out.Containers = rows;
  }
  if (want("volume")) out.Volumes = e.volumes.list().map((v) => ({ ...volumeJson(v), UsageData: { Size: dirSize(v.mountpoint), RefCount: volumeUsers(e, v.name).length } }));
  if (want("build-cache")) out.BuildCache = [];
  sendJson(c, 200, out);
}

/** POST /auth (docker login): berthd checks the credentials against the registry; the CLI keeps them. */
export async function auth(c: Ctx): Promise<void> {
  const b = await jsonBody<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(c);
  if (!b.username || b.password === undefined) throw badRequest("docker login needs a username and a password");
  const { checkLogin } = await import("../../engine/registry.ts");
  try {
    await checkLogin(c.e, b.serveraddress ?? "", { username: b.username, password: b.password });
  } catch (err) {
    if (isBerthError(err, "PermissionDenied")) throw new ApiError(401, `login to ${b.serveraddress ?? "the registry"} failed: ${err.message}`);
    throw err;
  }
  sendJson(c, 200, { Status: "Login Succeeded", IdentityToken: "" });
}

export function notSupported(what: string): (c: Ctx) => Promise<void> {
  return async () => {
    throw new ApiError(501, `${what} is not supported by berth yet`);
  };
}

/** berth keeps no build cache (it does not build yet): a prune of it frees nothing, truly. */
export async function buildPrune(c: Ctx): Promise<void> {
  sendJson(c, 200, { CachesDeleted: null, SpaceReclaimed: 0 });
}

export async function swarmUnavailable(): Promise<void> {
  throw new ApiError(503, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.");
}

export async function noPlugin(c: Ctx): Promise<void> {
  throw new ApiError(404, `plugin "${c.params.name}" not found`);
}

export { badRequest };
