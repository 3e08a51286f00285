// A run's stdout or stderr: kept up to a cap, then dropped while the run is being ended (reading
// on, so the program never blocks on a full pipe before it dies).
export class CappedOutput {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  /** Bytes the program wrote past the cap. */
  dropped = 0;
  /** Resolves at end-of-file: every process that held the write end is gone. */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>, private readonly cap: number, onOverflow: () => void) {
    this.done = (async () => {
      const reader = stream.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const room = this.cap - this.kept;
          if (value.length <= room) {
            this.chunks.push(value);
            this.kept += value.length;
            continue;
          }
          if (room > 0) this.chunks.push(value.subarray(0, room));
          this.kept = this.cap;
          const first = this.dropped === 0;
          this.dropped += value.length - room;
          if (first) onOverflow();
        }
      } finally {
        reader.releaseLock();
      }
    })();
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}
