// The content interfaces, split like containerd's content package: a Provider reads, an Ingester
// writes, a Manager edits metadata. Stores (the local blob store, the namespaced metadata view)
// implement all of them and pass one conformance suite (tests/unit/content-suite.ts).

/** OCI image-spec descriptor (descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/** OCI image-index platform (image-index.md). */
export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
}

export interface Info {
  digest: string;
  size: number;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

/** Progress of an ingest: what a restarted writer resumes from. */
export interface Status {
  ref: string;
  /** Bytes written so far; the next write appends at this offset. */
  offset: number;
  /** Expected total size, 0 when unknown. */
  total: number;
  /** Expected digest, "" when unknown. */
  expected: string;
  startedAt: Date;
  updatedAt: Date;
}

export interface ReaderAt {
  readonly size: number;
  /** Up to `length` bytes from `offset`; shorter only at the end of the blob. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface Provider {
  readerAt(desc: Pick<Descriptor, "digest">): Promise<ReaderAt>;
  /** The whole blob; for manifests and configs, not for layers. */
  read(digest: string): Promise<Uint8Array>;
  /** A stream of the blob from `offset`. */
  stream(digest: string, offset?: number): Promise<ReadableStream<Uint8Array>>;
}

export interface WriterOptions {
  ref: string;
  /** Digest the content must have; commit refuses anything else. */
  expected?: string;
  /** Size the content must have; 0 or absent when unknown. */
  total?: number;
}

export interface CommitOptions {
  size?: number;
  expected?: string;
  labels?: Record<string, string>;
}

export interface Writer {
  readonly ref: string;
  status(): Status;
  /** Digest of the bytes written so far. */
  digest(): string;
  write(data: Uint8Array): Promise<void>;
  /**
   * Verify size and digest, then make the blob visible atomically. On a mismatch the ingest is
   * dropped and a BerthError names the expected and actual values. If the blob already exists
   * the ingest is dropped and an AlreadyExists error is thrown (callers usually treat it as done).
   */
  commit(opts?: CommitOptions): Promise<void>;
  /** Restart the ingest from zero (only 0 is supported, as in containerd). */
  truncate(size: 0): Promise<void>;
  /** Release the writer; the ingest stays for a later writer with the same ref to resume. */
  close(): Promise<void>;
}

export interface Ingester {
  /**
   * Open (or resume) the ingest named `ref`. Throws AlreadyExists when `expected` is already in
   * the store, Unavailable when another writer holds the ref.
   */
  writer(opts: WriterOptions): Promise<Writer>;
}

export interface IngestManager {
  status(ref: string): Promise<Status>;
  listStatuses(prefix?: string): Promise<Status[]>;
  /** Drop an ingest and its partial data. */
  abort(ref: string): Promise<void>;
}

export interface Manager {
  info(digest: string): Promise<Info>;
  /**
   * Update labels. With no fieldpaths all labels are replaced; "labels" replaces all,
   * "labels.<key>" sets or (absent from info.labels) removes one key.
   */
  update(info: Pick<Info, "digest" | "labels">, fieldpaths?: string[]): Promise<Info>;
  list(filter?: (info: Info) => boolean): Promise<Info[]>;
  delete(digest: string): Promise<void>;
}

export interface Store extends Provider, Ingester, IngestManager, Manager {}
