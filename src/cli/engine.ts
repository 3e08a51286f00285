// The daemonless engine one `berth` invocation opens: the metadata DB, the content store, the
// image and container records and the snapshotter under --root, and per-container files under
// --runroot. Everything is opened on first use so a verb pays only for what it touches.
import { join } from "node:path";
import { LocalContentStore } from "../content/local-store.ts";
import { MetadataDB } from "../metadata/db.ts";
import { NamespacedContentStore } from "../metadata/content.ts";
import { ImageStore } from "../metadata/images.ts";
import { ContainerStore } from "../metadata/containers.ts";
import type { Snapshotter } from "../snapshots/types.ts";
import { invalidArgument } from "../sys/errdefs.ts";

export const DEFAULT_ROOT = "/var/lib/berth";
export const DEFAULT_RUNROOT = "/run/berth";
export const NAMESPACE = "default";

export interface Globals {
  root: string;
  runroot: string;
  debug: boolean;
  explain: boolean;
  storageDriver: "overlay" | "native";
  /** Mirrors and insecure registries; default <root>/registries.json when it exists. */
  registriesConfig?: string;
}

export class Engine {
  private _meta?: MetadataDB;
  private _shared?: LocalContentStore;
  private _content?: NamespacedContentStore;
  private _images?: ImageStore;
  private _containers?: ContainerStore;
  private _sn?: Snapshotter;

  constructor(readonly g: Globals) {}

  get meta(): MetadataDB {
    return (this._meta ??= new MetadataDB(join(this.g.root, "meta.db")));
  }
  /** Blobs in OCI-layout form: <root>/blobs/sha256/<hex>. */
  get shared(): LocalContentStore {
    return (this._shared ??= new LocalContentStore(this.g.root));
  }
  get content(): NamespacedContentStore {
    return (this._content ??= new NamespacedContentStore(this.meta, this.shared, NAMESPACE));
  }
  get images(): ImageStore {
    return (this._images ??= new ImageStore(this.meta, NAMESPACE));
  }
  get containers(): ContainerStore {
    return (this._containers ??= new ContainerStore(this.meta, NAMESPACE));
  }
  async snapshotter(): Promise<Snapshotter> {
    if (this._sn) return this._sn;
    const root = join(this.g.root, "snapshots", this.g.storageDriver);
    if (this.g.storageDriver === "overlay") {
      const { OverlaySnapshotter } = await import("../snapshots/overlay.ts");
      this._sn = new OverlaySnapshotter({ root, db: this.meta.db });
    } else if (this.g.storageDriver === "native") {
      const { NativeSnapshotter } = await import("../snapshots/native.ts");
      this._sn = new NativeSnapshotter({ root, db: this.meta.db });
    } else {
      throw invalidArgument(`--storage-driver ${String(this.g.storageDriver)}: use overlay or native`, "--storage-driver");
    }
    return this._sn;
  }

  /** Where a container's bundle, rootfs mount point and /etc files live. */
  containerDir(id: string): string {
    return join(this.g.runroot, "containers", id);
  }
  /** The runtime library's state root (its --root). */
  get runtimeRoot(): string {
    return join(this.g.runroot, "runtime");
  }
  /** Scratch space on the same filesystem as the snapshots (layer unpacking). */
  get tmp(): string {
    return join(this.g.root, "tmp");
  }

  async close(): Promise<void> {
    await this._sn?.close();
    this._meta?.close();
  }
}
