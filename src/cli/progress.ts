// Docker's pull display. On a terminal: one line per layer, redrawn in place (cursor up, erase
// line) at most every 100 ms, with a bar and bytes while downloading. Otherwise: one plain line
// per status change ("Pulling fs layer", "Download complete", "Pull complete"…) and no escape
// sequences, so logs and pipes stay clean.
//
// Written here rather than taken from npm: the multi-bar libraries (cli-progress, progress,
// listr…) draw bars but not docker's layout of "id: status [bar] bytes" lines that change kind
// (waiting → downloading → extracting → complete), and this is ~80 lines with no start-up cost —
// `berth run` loads it only when it has to pull.
import { humanSize4 } from "./units.ts";
import { shortId } from "../docker/ids.ts";

export interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

interface Line {
  status: string;
  /** Bytes done and total, drawn as a bar on a terminal. */
  bar?: [number, number];
}


export class PullDisplay {
  private lines = new Map<string, Line>();
  private drawn = 0;
  private lastDraw = 0;
  private dirty = false;
  readonly tty: boolean;

  constructor(
    private out: Out,
    private quiet = false,
  ) {
    this.tty = out.isTTY === true && !quiet;
  }

  /** A line outside the layer table ("latest: Pulling from…", "Digest: …"). */
  say(text: string): void {
    if (this.quiet) return;
    this.flush();
    this.out.write(`${text}\n`);
    // What was drawn stays above; new layer lines start below it.
    this.drawn = 0;
    this.lines.clear();
  }

  /** Set a layer's status; `bar` = [done, total] while bytes move. */
  set(digest: string, status: string, bar?: [number, number]): void {
    if (this.quiet) return;
    const before = this.lines.get(digest);
    this.lines.set(digest, bar ? { status, bar } : { status });
    this.dirty = true;
    if (!this.tty) {
      if (before?.status !== status && !bar) this.out.write(`${shortId(digest)}: ${status}\n`);
      return;
    }
    const now = performance.now();
    // Progress updates are throttled; status changes are drawn at once.
    if (!bar || before?.status !== status || now - this.lastDraw > 100) this.draw(now);
  }

  /** Draw the final state (terminal only). */
  flush(): void {
    if (this.tty && this.dirty) this.draw(performance.now());
  }

  private draw(now: number): void {
    this.lastDraw = now;
    this.dirty = false;
    // A pty of unknown size (script(1), some CI terminals) reports 0 columns.
    const width = this.out.columns && this.out.columns > 0 ? this.out.columns : 80;
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    for (const [d, l] of this.lines) {
      const head = `${shortId(d)}: ${l.status}`;
      // The bar shrinks to fit the line: brackets, a space and "123.4MB/123.4MB" take ~20.
      const text = l.bar ? `${head} ${bar(l.bar[0], l.bar[1], Math.max(10, Math.min(50, width - head.length - 22)))}` : head;
      s += `\x1b[2K${text.slice(0, width - 1)}\n`;
    }
    this.drawn = this.lines.size;
    this.out.write(s);
  }
}

/** docker's "[=====>      ]  1.2MB/10MB". */
export function bar(done: number, total: number, w = 50): string {
  const n = total > 0 ? Math.min(w, Math.floor((done / total) * w)) : 0;
  const arrow = n > 0 && n < w ? `${"=".repeat(n - 1)}>` : "=".repeat(n);
  return `[${arrow}${" ".repeat(w - arrow.length)}] ${humanSize4(done).padStart(7)}/${humanSize4(total)}`;
}
