// The snapshotter interface, with containerd's semantics (core/snapshots/snapshotter.go):
//
//   prepare(key, parent)  → an *active* snapshot: a writable filesystem whose starting content
//                           is the committed `parent` (or empty). Returns the mounts to use it.
//   view(key, parent)     → a *view*: like prepare but read-only; it can never be committed.
//   commit(name, key)     → the active snapshot `key` becomes the *committed* snapshot `name`
//                           (key is gone afterwards). Only committed snapshots can be parents.
//   remove(key)           → any snapshot without children.
//   mounts(key)           → the mounts of an active snapshot or view, again.
//
// Unpacking an image is a chain of prepare → mount → apply layer → unmount → commit, each
// layer's committed name (containerd uses the layer's chain ID) being the next one's parent.
// A container's root is prepare(containerKey, topLayerName).

/** What a runtime mounts: `mount -t type -o options source target`. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export type Kind = "active" | "view" | "committed";

export interface Info {
  kind: Kind;
  /** The key of an active snapshot or view, the name of a committed one. */
  name: string;
  /** Name of the committed parent; absent for a snapshot made from nothing. */
  parent?: string;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

/** Space a snapshot's own changes take (not its parents'). */
export interface Usage {
  /** Distinct inodes. */
  inodes: number;
  /** Bytes allocated on disk (st_blocks × 512, hard links counted once). */
  size: number;
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
}

export interface Snapshotter {
  /** "overlay", "native". */
  readonly name: string;
  /** Throws NotFound (naming the key) when there is no such snapshot. */
  stat(key: string): Promise<Info>;
  /**
   * Change labels, the only mutable field. Without fieldpaths all labels are replaced;
   * "labels" replaces all, "labels.<key>" sets one key (or removes it when absent from `info`).
   */
  update(info: Pick<Info, "name"> & { labels?: Record<string, string> }, fieldpaths?: string[]): Promise<Info>;
  /** For an active snapshot, measured now; for a committed one, as measured at commit. */
  usage(key: string): Promise<Usage>;
  /** Mounts of an active snapshot or view; FailedPrecondition for a committed one. */
  mounts(key: string): Promise<Mount[]>;
  /** AlreadyExists when `key` is taken; NotFound/InvalidArgument for a missing or uncommitted parent. */
  prepare(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  view(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  /**
   * Labels of the committed snapshot are `opts.labels` when given, else the active one's.
   * FailedPrecondition when `key` is a view or already committed; AlreadyExists when `name` is taken.
   */
  commit(name: string, key: string, opts?: SnapshotOptions): Promise<void>;
  /** FailedPrecondition when other snapshots have this one as parent. */
  remove(key: string): Promise<void>;
  /** Every snapshot (oldest first) that `filter` accepts. */
  walk(fn: (info: Info) => void | Promise<void>, filter?: (info: Info) => boolean): Promise<void>;
  /** Remove directories no snapshot record points at (left by a crash between steps). */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}
