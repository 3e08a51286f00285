// `berth run` without a daemon (podman's model): resolve the image (installing the built-in
// busybox on first use), unpack its layers into snapshots, prepare and mount the container's
// active snapshot under the runroot, write the bundle (config.json from the image config and the
// flags, /etc/hosts, /etc/hostname, /etc/resolv.conf), record the container, run it in the
// foreground with the runtime library, and on every way out unmount — and with --rm remove the
// snapshot and the record.
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { randomBytes } from "node:crypto";
import { BerthError, invalidArgument, notImplemented, isBerthError } from "../sys/errdefs.ts";
import { explain } from "../explain/channel.ts";
import { specFromImage, type RunOverrides } from "../image/config-to-spec.ts";
import { resolveInRoot } from "../image/resolve-in-root.ts";
import { BUILTIN_BUSYBOX_NAME } from "../image/builtin-busybox.ts";
import { applyLayers } from "../snapshots/apply-layers.ts";
import { mountAll, unmountAll } from "../snapshots/mount.ts";
import type { Mount } from "../runtime/spec/types.ts";
import type { Engine } from "./engine.ts";
import { findImage, normalizeName, readImage, type ResolvedImage } from "./images.ts";
import { generateName } from "./names.ts";

export interface RunRequest {
  image: string;
  /** The command after the image name (replaces the image's Cmd). */
  args: string[];
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  name?: string;
  env: string[];
  workdir?: string;
  user?: string;
  /** --entrypoint: one executable ("" clears the image's). */
  entrypoint?: string;
  hostname?: string;
  readOnly: boolean;
  memory?: number;
  pidsLimit?: number;
  cpus?: number;
  binds: string[];
  network: string;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const SIGNO: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** A signal that arrived before the container ran: clean up, then exit 128+n as a shell would. */
class Interrupted extends BerthError {
  constructor(readonly signal: string) {
    super("FailedPrecondition", `interrupted by ${signal} before the container started`);
  }
}

function timed<T>(what: string, f: () => T): T {
  if (!explain.enabled) return f();
  const t0 = performance.now();
  const r = f();
  if (r instanceof Promise) {
    return r.then((v) => {
      explain.emit({ step: "cli", detail: what, ms: performance.now() - t0, who: "cli" });
      return v;
    }) as T;
  }
  explain.emit({ step: "cli", detail: what, ms: performance.now() - t0, who: "cli" });
  return r;
}

/** The image, from the store, the built-in busybox, or (docker's habit) a pull. */
async function obtainImage(e: Engine, ref: string): Promise<ResolvedImage> {
  const found = await findImage(e, ref);
  if (found) return found;
  let name: string;
  try {
    name = normalizeName(ref);
  } catch (err) {
    throw invalidArgument(`${(err as Error).message}`, "image");
  }
  if (name === BUILTIN_BUSYBOX_NAME) {
    const { installBuiltinBusybox } = await import("../image/builtin-busybox.ts");
    await timed("install the built-in busybox image", () => installBuiltinBusybox({ content: e.content, images: e.images }));
  } else {
    process.stderr.write(`Unable to find image '${ref}' locally\n`);
    const { pullImage } = await import("./registry.ts");
    await pullImage(e, ref, { out: process.stderr });
  }
  return readImage(e, e.images.get(name));
}

function overrides(r: RunRequest): RunOverrides {
  if (r.network !== "none" && r.network !== "host") {
    throw notImplemented(`--network ${r.network}: only "none" (loopback only, the default) and "host" work without the daemon yet`, "--network");
  }
  return {
    ...(r.entrypoint !== undefined ? { entrypoint: r.entrypoint === "" ? [] : [r.entrypoint] } : {}),
    ...(r.args.length ? { args: r.args } : {}),
    env: r.env,
    ...(r.workdir !== undefined ? { workdir: r.workdir } : {}),
    ...(r.user !== undefined ? { user: r.user } : {}),
    ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
    readOnly: r.readOnly,
    ...(r.memory !== undefined ? { memory: r.memory } : {}),
    ...(r.pidsLimit !== undefined ? { pidsLimit: r.pidsLimit } : {}),
    ...(r.cpus !== undefined ? { cpus: r.cpus } : {}),
    binds: r.binds,
    network: r.network,
    tty: r.tty,
  };
}

/** Create the working directory in the rootfs as docker does, following links inside it only. */
export function makeWorkdir(rootfs: string, cwd: string): void {
  let at = "/";
  for (const c of cwd.split("/").filter(Boolean)) {
    const next = posix.join(at, c);
    const host = resolveInRoot(rootfs, next);
    if (host === undefined) {
      const parent = resolveInRoot(rootfs, at);
      if (parent === undefined) throw invalidArgument(`working directory ${cwd}: cannot resolve ${at} in the image`, "workdir");
      mkdirSync(join(parent, c), { mode: 0o755 });
    } else if (!lstatSync(host).isDirectory()) {
      throw invalidArgument(`working directory ${cwd}: ${next} is not a directory in the image`, "workdir");
    }
    at = next;
  }
}

const HOSTS = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
  "",
].join("\n");

function readHost(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** /etc/hosts, /etc/hostname, /etc/resolv.conf: files in the container's dir, bound in. */
function etcFiles(dir: string, hostname: string, network: string, readOnly: boolean): Mount[] {
  const hostNet = network === "host";
  const files: [string, string][] = [
    ["hosts", hostNet ? readHost("/etc/hosts") : HOSTS],
    ["hostname", `${hostname}\n`],
    // Loopback name servers of the host are unreachable from a container's own network namespace.
    ["resolv.conf", hostNet ? readHost("/etc/resolv.conf") : readHost("/etc/resolv.conf").split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l)).join("\n")],
  ];
  return files.map(([name, text]) => {
    writeFileSync(join(dir, name), text, { mode: 0o644 });
    return { destination: `/etc/${name}`, type: "bind", source: join(dir, name), options: ["rbind", "rprivate", readOnly ? "ro" : "rw"] };
  });
}

export async function runContainer(e: Engine, r: RunRequest): Promise<number> {
  let pending: string | undefined;
  let started = false;
  const onSignal = (sig: string) => {
    // While the container runs, the runtime forwards signals to it; before, remember and stop.
    if (!started) pending ??= sig;
  };
  const handlers = SIGNALS.map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const check = () => {
    if (pending) throw new Interrupted(pending);
  };
  try {
    return await runInner(e, r, check, () => (started = true));
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`berth: ${err.message}\n`);
      return 128 + (SIGNO[err.signal] ?? 0);
    }
    // docker run's codes: 127 the command was not found, 126 it cannot be invoked.
    const errno = (err as { errno?: unknown }).errno;
    if (isBerthError(err) && err.field === "process.args" && typeof errno === "number") {
      process.stderr.write(`berth: ${err.message}\n`);
      return errno === 2 ? 127 : errno === 13 || errno === 8 ? 126 : 125;
    }
    throw err;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

async function runInner(e: Engine, r: RunRequest, check: () => void, markStarted: () => void): Promise<number> {
  const o = overrides(r);
  const img = await obtainImage(e, r.image);
  check();
  const diffIDs = img.configDoc.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== img.layers.length) {
    throw invalidArgument(`image ${r.image}: its config lists ${diffIDs.length} layers, its manifest ${img.layers.length}; the image is broken, pull it again`, "image");
  }
  const sn = await e.snapshotter();
  mkdirSync(e.tmp, { recursive: true });
  const layers = img.layers.map((l, i) => ({ diffID: diffIDs[i]!, data: () => e.content.read(l.digest) }));
  const { chainID } = await timed("unpack layers into snapshots (applyLayers)", () => applyLayers(sn, layers, e.tmp));
  check();

  const id = randomBytes(32).toString("hex");
  const name = r.name ?? generateName((n) => {
    try {
      e.containers.find(n);
      return true;
    } catch {
      return false;
    }
  });
  const key = `container-${id}`;
  const dir = e.containerDir(id);
  const rootfs = join(dir, "rootfs");
  const args = [...(r.entrypoint !== undefined ? (r.entrypoint === "" ? [] : [r.entrypoint]) : (img.configDoc.config?.Entrypoint ?? [])),
    ...(r.args.length ? r.args : r.entrypoint !== undefined ? [] : (img.configDoc.config?.Cmd ?? []))];
  e.containers.create({
    id, name, image: r.image, imageId: img.id, snapshotKey: key, status: "created",
    config: { Path: args[0] ?? "", Args: args.slice(1) }, labels: {},
  });
  let mounted = false;
  let prepared = false;
  let ran = false;
  let status = 0;
  try {
    mkdirSync(rootfs, { recursive: true, mode: 0o711 });
    const mounts = await timed("prepare the container's snapshot", () => sn.prepare(key, chainID === "" ? undefined : chainID, { labels: { "berth.container": id } }));
    prepared = true;
    timed(`mount ${mounts.map((m) => m.type).join("+")} on ${rootfs}`, () => mountAll(mounts, rootfs));
    mounted = true;
    check();
    const cgroupsPath = `berth-${id}`;
    const { spec } = specFromImage(img.configDoc, { rootfs, id, cgroupsPath, overrides: o, hostEnv: process.env });
    makeWorkdir(rootfs, spec.process!.cwd);
    spec.mounts!.push(...etcFiles(dir, spec.hostname ?? "", r.network, r.readOnly));
    writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
    const cfg = img.configDoc.config ?? {};
    const record = {
      Path: args[0] ?? "", Args: args.slice(1),
      Config: {
        Hostname: spec.hostname, User: r.user ?? cfg.User ?? "", Env: spec.process!.env, Cmd: r.args.length ? r.args : (r.entrypoint !== undefined ? [] : (cfg.Cmd ?? [])),
        Entrypoint: r.entrypoint !== undefined ? (r.entrypoint === "" ? [] : [r.entrypoint]) : (cfg.Entrypoint ?? null),
        Image: r.image, WorkingDir: spec.process!.cwd, Tty: r.tty, OpenStdin: r.interactive, Labels: cfg.Labels ?? {},
      },
      HostConfig: {
        Binds: r.binds, NetworkMode: r.network, AutoRemove: r.rm, ReadonlyRootfs: r.readOnly,
        Memory: r.memory ?? 0, PidsLimit: r.pidsLimit ?? null, NanoCpus: r.cpus !== undefined ? Math.round(r.cpus * 1e9) : 0,
        CgroupParent: "", Runtime: "berth",
      },
      Mounts: spec.mounts!.filter((m) => m.type === "bind" && !m.destination.startsWith("/etc/h") && m.destination !== "/etc/resolv.conf")
        .map((m) => ({ Type: "bind", Source: m.source, Destination: m.destination, RW: !(m.options ?? []).includes("ro") })),
    };
    e.meta.db.query("UPDATE containers SET config = ? WHERE namespace = ? AND id = ?").run(JSON.stringify(record), e.containers.namespace, id);
    check();
    if (!r.interactive) await (await import("./stdio.ts")).detachStdin();
    const { run } = await import("../runtime/container.ts");
    e.containers.update(id, { status: "running", pid: process.pid, startedAt: new Date() });
    markStarted();
    status = (await run({ root: e.runtimeRoot, id, bundle: dir, explain: e.g.explain })).status;
    ran = true;
    return status;
  } finally {
    if (mounted) {
      try {
        unmountAll(rootfs, { detach: true });
      } catch (err) {
        process.stderr.write(`berth: warning: ${(err as Error).message}\n`);
      }
    }
    if (r.rm || !ran) {
      if (prepared) await sn.remove(key).catch((err: unknown) => process.stderr.write(`berth: warning: removing snapshot ${key}: ${(err as Error).message}\n`));
      e.containers.delete(id);
    } else {
      try {
        e.containers.update(id, { status: "exited", exitCode: status, pid: undefined, finishedAt: new Date() });
      } catch (err) {
        // `berth rm -f` removed the record while the container ran.
        if (!isBerthError(err, "NotFound")) throw err;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    if (existsSync(dir)) process.stderr.write(`berth: warning: could not remove ${dir}\n`);
  }
}
