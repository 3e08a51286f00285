// The engine every front shares (the berth CLI daemonless, berthd's Docker API and CRI): it opens
// the stores under --root (blobs, snapshots, meta.db, logs, volumes) and --runroot (per-container
// runtime directories, locks, the runtime's state), and owns every state change. It returns
// typed records and reports and never prints. Everything is opened on first use so a verb pays
// only for what it touches.
import { join } from "node:path";
import { LocalContentStore } from "../content/local-store.ts";
import { MetadataDB } from "../metadata/db.ts";
import { NamespacedContentStore } from "../metadata/content.ts";
import { ImageStore } from "../metadata/images.ts";
import { ContainerStore } from "../metadata/containers.ts";
import { VolumeStore } from "../metadata/volumes.ts";
import { ExecStore } from "../metadata/execs.ts";
import { EventLog, type EventRecord } from "../metadata/events.ts";
import type { Snapshotter } from "../snapshots/types.ts";
import { invalidArgument } from "../sys/errdefs.ts";
import { LockDir } from "./lock.ts";

export const DEFAULT_ROOT = "/var/lib/berth";
export const DEFAULT_RUNROOT = "/run/berth";
export const NAMESPACE = "default";

export interface EngineOptions {
  root: string;
  runroot: string;
  storageDriver: "overlay" | "native";
  /** Mirrors and insecure registries; default <root>/registries.json when it exists. */
  registriesConfig?: string;
  /** Emit --explain events for what the engine and the runtime do. */
  explain?: boolean;
  /**
   * The command a container's monitor runs after the container's final exit when no berth
   * process took the cleanup over; the container id is appended. The CLI passes
   * `berth --root … --runroot … container cleanup`.
   */
  exitCommand?: string[];
  /** The command a monitor runs at each health-check interval; the container id is appended. */
  healthCommand?: string[];
  /** Binaries (default: beside the running executable, or build/ of the sources). */
  berthInit?: string;
  monitor?: string;
  runtime?: string;
  namespace?: string;
}

export type EngineEvent = Omit<EventRecord, "seq" | "time"> & { time?: number };

export class Engine {
  private _meta?: MetadataDB;
  private _shared?: LocalContentStore;
  private _content?: NamespacedContentStore;
  private _images?: ImageStore;
  private _containers?: ContainerStore;
  private _volumes?: VolumeStore;
  private _execs?: ExecStore;
  private _events?: EventLog;
  private _sn?: Snapshotter;
  private _locks?: LockDir;
  private listeners: ((e: EventRecord) => void)[] = [];
  readonly namespace: string;

  constructor(readonly opts: EngineOptions) {
    this.namespace = opts.namespace ?? NAMESPACE;
  }

  get meta(): MetadataDB {
    return (this._meta ??= new MetadataDB(join(this.opts.root, "meta.db")));
  }
  /** Blobs in OCI-layout form: <root>/blobs/sha256/<hex>. */
  get shared(): LocalContentStore {
    return (this._shared ??= new LocalContentStore(this.opts.root));
  }
  get content(): NamespacedContentStore {
    return (this._content ??= new NamespacedContentStore(this.meta, this.shared, this.namespace));
  }
  get images(): ImageStore {
    return (this._images ??= new ImageStore(this.meta, this.namespace));
  }
  get containers(): ContainerStore {
    return (this._containers ??= new ContainerStore(this.meta, this.namespace));
  }
  get volumes(): VolumeStore {
    return (this._volumes ??= new VolumeStore(this.meta, this.namespace));
  }
  get execs(): ExecStore {
    return (this._execs ??= new ExecStore(this.meta, this.namespace));
  }
  get eventLog(): EventLog {
    return (this._events ??= new EventLog(this.meta, this.namespace));
  }
  get locks(): LockDir {
    return (this._locks ??= new LockDir(join(this.opts.runroot, "locks")));
  }
  async snapshotter(): Promise<Snapshotter> {
    if (this._sn) return this._sn;
    const root = join(this.opts.root, "snapshots", this.opts.storageDriver);
    if (this.opts.storageDriver === "overlay") {
      const { OverlaySnapshotter } = await import("../snapshots/overlay.ts");
      this._sn = new OverlaySnapshotter({ root, db: this.meta.db });
    } else if (this.opts.storageDriver === "native") {
      const { NativeSnapshotter } = await import("../snapshots/native.ts");
      this._sn = new NativeSnapshotter({ root, db: this.meta.db });
    } else {
      throw invalidArgument(`--storage-driver ${String(this.opts.storageDriver)}: use overlay or native`, "--storage-driver");
    }
    return this._sn;
  }

  /** Record an event (persisted, so other berth processes see it) and tell in-process listeners. */
  emit(e: EngineEvent): EventRecord {
    const rec = this.eventLog.append(e);
    for (const l of this.listeners) l(rec);
    return rec;
  }
  /** In-process listeners (berthd streams /events from here and from the log). */
  onEvent(l: (e: EventRecord) => void): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Where a container's bundle, rootfs mount point, /etc files and monitor sockets live. */
  containerDir(id: string): string {
    return join(this.opts.runroot, "containers", id);
  }
  /** An exec session's monitor directory (sockets, status.json, monitor.log). */
  execDir(id: string): string {
    return join(this.opts.runroot, "execs", id);
  }
  /** What outlives a reboot: the container's logs (docker's /var/lib/docker/containers/<id>). */
  containerDataDir(id: string): string {
    return join(this.opts.root, "containers", id);
  }
  /** The runtime library's state root (its --root). */
  get runtimeRoot(): string {
    return join(this.opts.runroot, "runtime");
  }
  /** Scratch space on the same filesystem as the snapshots (layer unpacking). */
  get tmp(): string {
    return join(this.opts.root, "tmp");
  }
  get volumesDir(): string {
    return join(this.opts.root, "volumes");
  }

  async close(): Promise<void> {
    await this._sn?.close();
    this._meta?.close();
  }
}
