// One event channel for `--explain` and `--debug` (undici's diagnostics_channel habit): code that
// performs a kernel step reports it here; the CLI decides whether and how to print it.
import { perProcess } from "../sys/per-process.ts";

export interface ExplainEvent {
  /** Short name of the kernel step: "clone", "mount", "pivot_root", "cgroup-write", "veth", … */
  step: string;
  /** What was done, with its arguments, as a reader of the man page would write it. */
  detail: string;
  /** Milliseconds the step took, when measured. */
  ms?: number;
  /** Which process did it: "runtime" (TypeScript), "parent" / "child" (berth-init). */
  who?: string;
}

type Listener = (e: ExplainEvent) => void;
// One list per process (perProcess): `berth --explain daemon` shows the CRI bundle's steps too.
const listeners = perProcess<Listener[]>("explain.listeners", () => []);

export const explain = {
  /** True when someone listens; callers skip building detail strings otherwise. */
  get enabled(): boolean {
    return listeners.length > 0;
  },
  emit(e: ExplainEvent): void {
    for (const l of listeners) l(e);
  },
  subscribe(l: Listener): () => void {
    listeners.push(l);
    return () => {
      const i = listeners.indexOf(l);
      if (i >= 0) listeners.splice(i, 1);
    };
  },
};

/** Run `f` and, when someone listens, report it as one step with its milliseconds. */
export function timed<T>(who: string, step: string, detail: string, f: () => T): T {
  if (!explain.enabled) return f();
  const t0 = performance.now();
  const r = f();
  if (r instanceof Promise) {
    return r.then((v) => {
      explain.emit({ step, detail, ms: performance.now() - t0, who });
      return v;
    }) as T;
  }
  explain.emit({ step, detail, ms: performance.now() - t0, who });
  return r;
}
