// The events log (docker's /events, containerd's events service): every state change the engine
// makes is a row, so `berth events` in one process sees what another berth process did. The log
// is bounded: the oldest rows beyond `keep` go as new ones come.
import type { MetadataDB } from "./db.ts";

export interface EventRecord {
  seq: number;
  /** Unix time in microseconds (exact in a double, unlike nanoseconds). */
  time: number;
  /** container, image, volume, network, exec… */
  type: string;
  action: string;
  /** The object's id (or name, for images and volumes). */
  actor: string;
  attributes: Record<string, string>;
}

interface Row {
  seq: number;
  time: number;
  type: string;
  action: string;
  actor: string;
  attributes: string;
}

const toRecord = (r: Row): EventRecord => ({ seq: r.seq, time: r.time, type: r.type, action: r.action, actor: r.actor, attributes: JSON.parse(r.attributes) as Record<string, string> });

export class EventLog {
  private inserted = 0;
  constructor(
    private meta: MetadataDB,
    readonly namespace: string,
    private keep = 10_000,
  ) {}

  append(e: Omit<EventRecord, "seq" | "time"> & { time?: number }): EventRecord {
    const time = e.time ?? Math.round((performance.timeOrigin + performance.now()) * 1000);
    const res = this.meta.db
      .query("INSERT INTO events (namespace, time, type, action, actor, attributes) VALUES (?, ?, ?, ?, ?, ?)")
      .run(this.namespace, time, e.type, e.action, e.actor, JSON.stringify(e.attributes));
    const seq = Number(res.lastInsertRowid);
    if (++this.inserted % 64 === 1) this.meta.db.query("DELETE FROM events WHERE seq <= ?").run(seq - this.keep);
    return { seq, time, type: e.type, action: e.action, actor: e.actor, attributes: e.attributes };
  }

  /** Events after `afterSeq`, with `time` (µs) in [sinceUs, untilUs], oldest first. */
  list(o: { afterSeq?: number; sinceUs?: number; untilUs?: number; limit?: number } = {}): EventRecord[] {
    const rows = this.meta.db
      .query("SELECT * FROM events WHERE namespace = ? AND seq > ? AND time >= ? AND time <= ? ORDER BY seq LIMIT ?")
      .all(this.namespace, o.afterSeq ?? 0, o.sinceUs ?? 0, o.untilUs ?? Number.MAX_SAFE_INTEGER, o.limit ?? 100_000) as Row[];
    return rows.map(toRecord);
  }

  lastSeq(): number {
    const r = this.meta.db.query("SELECT MAX(seq) AS s FROM events").get() as { s: number | null };
    return r.s ?? 0;
  }
}
