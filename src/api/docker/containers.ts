// /containers/*: each handler is a thin call into the engine core (engine/containers.ts,
// engine/logs.ts) and docker's JSON shapes (docker/container-json.ts).
import { BUILTIN_BUSYBOX_NAME } from "../../image/builtin-busybox.ts";
import type { Engine } from "../../engine/engine.ts";
import * as core from "../../engine/containers.ts";
import type { Container } from "../../engine/containers.ts";
import { findImage, normalizeName } from "../../engine/images.ts";
import { readLogs } from "../../engine/logs.ts";
import { networkView } from "../../engine/network.ts";
import { pruneContainers } from "../../engine/prune.ts";
import { containerInspect, dockerState, mountsOf } from "../../docker/container-json.ts";
import { statusText } from "../../docker/status-text.ts";
import { isBerthError } from "../../sys/errdefs.ts";
import { ApiError, badRequest, frame, jsonBody, q, qBool, qFilters, qInt, sendEmpty, sendJson, startStream, writeChunk, type Ctx } from "./http.ts";
import { specFromCreateBody, type CreateBody } from "./create-body.ts";
import { hijackReply, type AttachSession } from "./attach.ts";

const installing = new WeakMap<Engine, Promise<void>>();

/** The built-in busybox is installed on first use, offline, as the berth CLI does; once at a time. */
export async function ensureBuiltin(e: Engine, ref: string): Promise<void> {
  let name: string;
  try {
    name = normalizeName(ref);
  } catch {
    return;
  }
  if (name !== BUILTIN_BUSYBOX_NAME || (await findImage(e, ref))) return;
  let p = installing.get(e);
  if (!p) {
    p = (async () => {
      const { installBuiltinBusybox } = await import("../../image/builtin-busybox.ts");
      if (!(await findImage(e, ref))) await installBuiltinBusybox({ content: e.content, images: e.images });
    })().finally(() => installing.delete(e));
    installing.set(e, p);
  }
  await p;
}

export async function create(c: Ctx): Promise<void> {
  const body = await jsonBody<CreateBody>(c);
  const spec = specFromCreateBody(body, q(c, "name"));
  const platform = q(c, "platform");
  if (platform && !/^linux(\/(amd64|x86_64))?$/.test(platform) && !platform.startsWith(`linux/${process.arch === "x64" ? "amd64" : process.arch}`)) {
    throw badRequest(`platform ${platform} is not supported on this host (linux/${process.arch === "x64" ? "amd64" : process.arch})`);
  }
  await ensureBuiltin(c.e, spec.image);
  const made = await core.createContainer(c.e, spec);
  sendJson(c, 201, { Id: made.id, Warnings: [] });
}

const RUNNING = new Set(["running", "paused", "restarting"]);

/** Inspect's document plus what only this front knows (attach flags the create body had). */
export async function inspect(c: Ctx): Promise<void> {
  const ctr = await core.getContainer(c.e, c.params.id!);
  const net = RUNNING.has(ctr.state) ? await networkView(c.e, ctr).catch(() => undefined) : undefined;
  const { listExecs } = await import("../../engine/exec.ts");
  const doc = containerInspect(c.e, ctr, net, listExecs(c.e, ctr.id).filter((x) => x.state !== "exited").map((x) => x.id));
  if (qBool(c, "size")) Object.assign(doc, { SizeRw: 0, SizeRootFs: 0 });
  sendJson(c, 200, doc);
}


const LIST_FILTERS = ["id", "name", "label", "status", "ancestor", "exited", "before", "since", "health", "network", "volume", "is-task"];

export async function list(c: Ctx): Promise<void> {
  const all = qBool(c, "all");
  const limit = qInt(c, "limit");
  const filters = qFilters(c, LIST_FILTERS);
  let cs = await core.listContainers(c.e, { all: all || filters.has("status") || filters.has("exited") });
  const every = filters.has("before") || filters.has("since") ? await core.listContainers(c.e, { all: true }) : cs;
  const find = (ref: string) => every.find((x) => x.id === ref || x.name === ref || x.id.startsWith(ref));
  for (const [k, vs] of filters) {
    if (k === "status") for (const v of vs) if (!["created", "restarting", "running", "removing", "paused", "exited", "dead"].includes(v)) throw badRequest(`invalid filter 'status=${v}'`);
    cs = cs.filter((x) => vs.some((v) => {
      switch (k) {
        case "id": return x.id.startsWith(v);
        case "name": return new RegExp(v.replace(/^\//, "")).test(x.name);
        case "label": {
          const eq = v.indexOf("=");
          return eq < 0 ? v in x.labels : x.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case "status": return dockerState(x) === v;
        case "ancestor": return x.image === v || x.image.replace(/:latest$/, "") === v.replace(/:latest$/, "") || x.imageId.replace("sha256:", "").startsWith(v.replace("sha256:", ""));
        case "exited": return x.state === "exited" && !!x.startedAt && x.exitCode === Number(v);
        case "health": return ((x.health as { status?: string } | undefined)?.status ?? "none") === v;
        case "before": { const o = find(v); return !!o && x.createdAt < o.createdAt; }
        case "since": { const o = find(v); return !!o && x.createdAt > o.createdAt; }
        case "network": return (x.spec.network?.mode ?? "bridge") === v;
        case "volume": return (x.resolved.volumes ?? []).some((m) => m.name === v || m.target === v) || (x.spec.mounts ?? []).some((m) => m.source === v || m.target === v);
        default: return false;
      }
    }));
  }
  cs.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  if (limit !== undefined && limit > 0) cs = cs.slice(0, limit);
  const rows = [];
  for (const x of cs) {
    const net = RUNNING.has(x.state) ? await networkView(c.e, x).catch(() => undefined) : undefined;
    const cmd = [x.resolved.path, ...x.resolved.args].join(" ");
    rows.push({
      Id: x.id,
      Names: [`/${x.name}`],
      Image: x.image,
      ImageID: x.imageId,
      Command: cmd,
      Created: Math.floor(x.createdAt.getTime() / 1000),
      Ports: (net?.ports ?? []).map((p) => ({ IP: p.hostIp ?? "0.0.0.0", PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol })),
      Labels: x.labels,
      State: dockerState(x),
      Status: statusText(x),
      HostConfig: { NetworkMode: x.spec.network?.mode ?? "bridge" },
      NetworkSettings: { Networks: Object.fromEntries((net?.networks ?? []).map((n) => [n.name, { NetworkID: n.id, IPAddress: n.address, Gateway: n.gateway, MacAddress: n.mac }])) },
      Mounts: mountsOf(c.e, x),
    });
  }
  sendJson(c, 200, rows);
}

export async function start(c: Ctx): Promise<void> {
  const r = await c.watch.start(c.params.id!);
  if (r.alreadyRunning) throw new ApiError(304, "container already started");
  sendEmpty(c, 204);
}

export async function stop(c: Ctx): Promise<void> {
  const t = qInt(c, "t") ?? qInt(c, "timeout");
  const signal = q(c, "signal");
  const r = await core.stopContainer(c.e, c.params.id!, { ...(t !== undefined ? { timeoutSec: t } : {}), ...(signal ? { signal } : {}) });
  if (r.alreadyStopped) throw new ApiError(304, "container already stopped");
  sendEmpty(c, 204);
}

export async function kill(c: Ctx): Promise<void> {
  const sig = q(c, "signal") || "SIGKILL";
  try {
    await core.killContainer(c.e, c.params.id!, sig);
  } catch (err) {
    if (isBerthError(err, "InvalidArgument")) throw badRequest(`invalid signal: ${sig}`);
    throw err;
  }
  sendEmpty(c, 204);
}

export async function restart(c: Ctx): Promise<void> {
  const t = qInt(c, "t") ?? qInt(c, "timeout");
  const ctr = await core.getContainer(c.e, c.params.id!);
  await core.stopContainer(c.e, ctr.id, t !== undefined ? { timeoutSec: t } : {});
  await c.watch.start(ctr.id);
  c.e.emit({ type: "container", action: "restart", actor: ctr.id, attributes: { name: ctr.name, image: ctr.image } });
  sendEmpty(c, 204);
}

export async function remove(c: Ctx): Promise<void> {
  await core.removeContainer(c.e, c.params.id!, { force: qBool(c, "force"), volumes: qBool(c, "v") });
  sendEmpty(c, 204);
}

export async function rename(c: Ctx): Promise<void> {
  const name = q(c, "name");
  if (!name) throw badRequest("rename needs the new name in ?name=");
  await core.renameContainer(c.e, c.params.id!, name);
  sendEmpty(c, 204);
}

export async function pause(c: Ctx): Promise<void> {
  await core.pauseContainer(c.e, c.params.id!);
  sendEmpty(c, 204);
}

export async function unpause(c: Ctx): Promise<void> {
  await core.unpauseContainer(c.e, c.params.id!);
  sendEmpty(c, 204);
}

export async function top(c: Ctx): Promise<void> {
  const psArgs = (q(c, "ps_args") ?? "").split(/\s+/).filter(Boolean);
  const t = await core.topContainer(c.e, c.params.id!, psArgs);
  sendJson(c, 200, { Titles: t.titles, Processes: t.processes });
}

export async function prune(c: Ctx): Promise<void> {
  const f = qFilters(c, ["until", "label", "label!"]);
  const r = await pruneContainers(c.e, [...f].flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
  sendJson(c, 200, { ContainersDeleted: r.removed.length ? r.removed : null, SpaceReclaimed: r.reclaimed });
}

/** Headers at once (docker run sends start only after they arrive); the body when the condition is met. */
export async function wait(c: Ctx): Promise<void> {
  const cond = (q(c, "condition") || "not-running") as core.WaitCondition;
  if (!["not-running", "next-exit", "removed"].includes(cond)) throw badRequest(`invalid condition: "${cond}" (not-running, next-exit, removed)`);
  const ctr = await core.getContainer(c.e, c.params.id!);
  const res = startStream(c, "application/json");
  // Two ways to learn of the end: the core's (any container, any process that ran it) and,
  // for a container this server starts, the moment its cleanup finished (no polling delay).
  const ac = new AbortController();
  const onGone = () => ac.abort();
  c.signal.addEventListener("abort", onGone);
  let off = () => {};
  const viaWatch = new Promise<core.WaitResult>((resolve) => {
    off = c.watch.onEnd(ctr.id, (r) => {
      if (cond !== "removed" || r.removed) resolve({ exitCode: r.exitCode, ...(r.error ? { error: r.error } : {}) });
    });
  });
  try {
    const viaCore = core.waitContainer(c.e, ctr.id, cond, ac.signal);
    viaCore.catch(() => {});
    let r = await Promise.race([viaCore, viaWatch]);
    ac.abort();
    // An --rm container removed before the core saw its exit: the monitor told us how it ended.
    if (cond === "removed") r = c.watch.exitOf(ctr.id) ?? r;
    res.end(JSON.stringify({ StatusCode: r.exitCode, Error: r.error ? { Message: r.error } : null }));
  } catch (err) {
    if (c.signal.aborted) {
      res.destroy(); // the client left (docker run -d drops its wait)
      return;
    }
    res.end(JSON.stringify({ StatusCode: -1, Error: { Message: (err as Error).message } }));
  } finally {
    off();
    ac.abort();
    c.signal.removeEventListener("abort", onGone);
  }
}

/** docker's since/until: unix seconds with an optional fraction, or RFC 3339; → unix ms ("0" is the epoch). */
export function timeParam(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (unix seconds or RFC 3339)`);
  return t;
}

export async function logs(c: Ctx): Promise<void> {
  const ctr = await core.getContainer(c.e, c.params.id!);
  const stdout = qBool(c, "stdout"), stderr = qBool(c, "stderr");
  if (!stdout && !stderr) throw badRequest("you must choose at least one stream (stdout=1 or stderr=1)");
  if (ctr.spec.log?.driver === "none") throw badRequest('configured logging driver does not support reading ("none")');
  // tail: a count, or all (a negative count, as dockerode sends -1, is all too).
  let tailText = q(c, "tail") ?? "all";
  if (/^-\d+$/.test(tailText) || tailText === "") tailText = "all";
  if (tailText !== "all" && !/^\d+$/.test(tailText)) throw badRequest(`invalid value for tail: ${JSON.stringify(tailText)} (a number or all)`);
  // logs: since=0 and until=0 mean no bound.
  const since = timeParam(q(c, "since"), "since") || undefined, until = timeParam(q(c, "until"), "until") || undefined;
  const follow = qBool(c, "follow"), timestamps = qBool(c, "timestamps");
  const tty = ctr.spec.tty ?? false;
  const res = startStream(c, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
  const enc = new TextEncoder();
  const alive = async () => {
    try {
      const x = await core.getContainer(c.e, ctr.id);
      return RUNNING.has(x.state);
    } catch {
      return false;
    }
  };
  for await (const x of readLogs(c.e, ctr, { stdout, stderr, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), ...(tailText !== "all" ? { tail: Number(tailText) } : {}), follow, signal: c.signal }, alive)) {
    if (c.signal.aborted) break;
    const payload = enc.encode(timestamps ? `${x.time} ${x.text}` : x.text);
    await writeChunk(res, tty ? payload : frame(x.stream === "stdout" ? 1 : 2, payload), c.signal);
  }
  res.end();
}

/**
 * Hijacked (Upgrade: tcp, the docker CLI) or a plain reply whose body is the stream (dockerode
 * without hijack, as dockerd allows): output framed unless the container has a terminal; stdin
 * only on a hijacked connection.
 */
export async function attach(c: Ctx): Promise<void> {
  const h = c.hijack;
  const ctr = await core.getContainer(c.e, c.params.id!);
  if (!qBool(c, "stream") && !qBool(c, "logs")) throw badRequest("attach needs stream=1 or logs=1");
  const tty = ctr.spec.tty ?? false;
  const out = h ? h.socket : c.res!;
  const gone = new Promise<void>((r) => {
    out.once("close", () => r());
    out.once("error", () => r());
  });
  const s: AttachSession = { socket: out, ...(h ? { input: h.socket } : {}), stdin: !!h && qBool(c, "stdin"), stdout: qBool(c, "stdout"), stderr: qBool(c, "stderr"), tty, gone };
  if (h) hijackReply(h.socket, tty);
  else {
    c.res!.writeHead(200, { "Content-Type": tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream" });
    c.res!.flushHeaders();
  }
  if (qBool(c, "logs")) {
    for await (const x of readLogs(c.e, ctr, { stdout: s.stdout, stderr: s.stderr })) {
      const b = new TextEncoder().encode(x.text);
      out.write(tty ? b : frame(x.stream === "stdout" ? 1 : 2, b));
    }
  }
  if (!qBool(c, "stream")) {
    out.end();
    return;
  }
  if (RUNNING.has(ctr.state)) await c.watch.attachRunning(ctr.id, s);
  else c.watch.wait(ctr.id, s);
  await gone;
}

export async function resize(c: Ctx): Promise<void> {
  const hh = qInt(c, "h"), w = qInt(c, "w");
  if (hh === undefined || w === undefined || hh < 0 || w < 0) throw badRequest("resize needs h and w (rows and columns)");
  const ctr = await core.getContainer(c.e, c.params.id!);
  if (!RUNNING.has(ctr.state)) throw new ApiError(409, `cannot resize container ${ctr.id}: it is not running`);
  if (ctr.spec.tty) {
    const { AttachClient } = await import("../../monitor/attach.ts");
    const client = await AttachClient.connect(c.e.containerDir(ctr.id), 0);
    client.resize(hh, w);
    client.close();
  }
  sendEmpty(c, 200);
}

export async function changes(c: Ctx): Promise<void> {
  const ctr = await core.getContainer(c.e, c.params.id!);
  const sn = await c.e.snapshotter();
  const { diffChanges } = await import("./changes.ts");
  sendJson(c, 200, await diffChanges(sn, ctr.snapshotKey));
}
