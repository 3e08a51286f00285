// Test harness for berth-runtime: bundles over the built busybox rootfs, a private --root per
// test file, and cleanup that leaves no container, cgroup or temp dir behind.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Spec } from "../../src/runtime/spec/types.ts";

export const TOP = resolve(import.meta.dir, "../..");
export const RUNTIME = join(TOP, "build/berth-runtime");
export const BUSYBOX = join(TOP, "build/busybox");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class Harness {
  readonly root: string;
  private readonly dirs: string[] = [];
  /** The cgroupsPath each bundle gets (its name under this process's cgroup). */
  readonly cgroupNames = new Map<string, string>();

  /** Cgroups still there for the container made from this bundle (each bundle has its own name). */
  leftoverCgroupsOf(bundle: string): string[] {
    const name = this.cgroupNames.get(bundle);
    return leftoverCgroups().filter((p) => name !== undefined && p.endsWith(`/${name}`));
  }
  constructor(readonly runtime = RUNTIME) {
    this.root = mkdtempSync("/tmp/bt-root-");
    this.dirs.push(this.root);
  }

  /** A bundle whose config starts as `spec` writes it, terminal off, edited by `edit`. */
  bundle(edit: (s: Spec) => void = () => {}, opts: { copyRootfs?: boolean } = {}): string {
    const dir = mkdtempSync("/tmp/bt-bundle-");
    this.dirs.push(dir);
    const spec = JSON.parse(readFileSync(join(BUSYBOX, "config.json"), "utf8")) as Spec;
    spec.process!.terminal = false;
    if (opts.copyRootfs) {
      cpSync(join(BUSYBOX, "rootfs"), join(dir, "rootfs"), { recursive: true, verbatimSymlinks: true });
      spec.root = { path: "rootfs", readonly: false };
    } else {
      spec.root = { path: join(BUSYBOX, "rootfs"), readonly: true };
    }
    // Container cgroups go under this process's own cgroup (relative cgroupsPath), named berth-*.
    spec.linux!.cgroupsPath = `berth-test-${process.pid}-${this.dirs.length}`;
    this.cgroupNames.set(dir, spec.linux!.cgroupsPath);
    edit(spec);
    writeFileSync(join(dir, "config.json"), JSON.stringify(spec, null, 1));
    return dir;
  }

  tmpdir(): string {
    const dir = mkdtempSync("/tmp/bt-data-");
    this.dirs.push(dir);
    return dir;
  }

  /**
   * Run the runtime. Its stdout/stderr go to files, not pipes: a created or detached container
   * inherits them, and a pipe would then not reach EOF until the container exits.
   */
  async rt(args: string[], opts: { stdin?: string; runtime?: string; extraFds?: number[] } = {}): Promise<Result> {
    const rt = opts.runtime ?? this.runtime;
    const full = rt.endsWith("runc") ? ["--root", this.root + "-runc", ...args] : ["--root", this.root, ...args];
    const out = join(this.root, `.out-${Math.random().toString(36).slice(2)}`);
    const err = `${out}.err`;
    const p = Bun.spawn([rt, ...full], {
      stdio: [opts.stdin !== undefined ? "pipe" : "ignore", Bun.file(out), Bun.file(err), ...(opts.extraFds ?? [])] as never,
    });
    if (opts.stdin !== undefined) {
      const w = p.stdin as unknown as { write(s: string): void; end(): void };
      w.write(opts.stdin);
      w.end();
    }
    const code = await p.exited;
    const stdout = existsSync(out) ? readFileSync(out, "utf8") : "";
    const stderr = existsSync(err) ? readFileSync(err, "utf8") : "";
    rmSync(out, { force: true });
    rmSync(err, { force: true });
    return { code, stdout, stderr };
  }

  /** Start the runtime without waiting for it (a foreground `run` to signal from outside). */
  spawn(args: string[]): Bun.Subprocess {
    return Bun.spawn([this.runtime, "--root", this.root, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  }

  /** run a container to completion with args, returning its output. */
  async run(args: string[], edit: (s: Spec) => void = () => {}, opts: { runtime?: string; copyRootfs?: boolean } = {}): Promise<Result> {
    const b = this.bundle((s) => {
      s.process!.args = args;
      edit(s);
    }, opts);
    return this.rt(["run", "--bundle", b, `t${Math.random().toString(36).slice(2, 10)}`], opts);
  }

  async cleanup(): Promise<void> {
    for (const root of [this.root, this.root + "-runc"]) {
      if (!existsSync(root)) continue;
      for (const id of readdirSync(root).filter((n) => !n.startsWith("."))) {
        await this.rt(["delete", "--force", id], root.endsWith("-runc") ? { runtime: "runc" } : {});
      }
    }
    for (const d of this.dirs.reverse()) rmSync(d, { recursive: true, force: true });
    rmSync(this.root + "-runc", { recursive: true, force: true });
  }
}

/** Leftover cgroups named after this test process (the machine's rule: remove what you made). */
export function leftoverCgroups(): string[] {
  const out: string[] = [];
  const tag = `berth-test-${process.pid}-`;
  const walk = (dir: string, depth: number) => {
    if (depth > 5) return;
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.startsWith(tag)) out.push(join(dir, e));
      else walk(join(dir, e), depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  return out;
}
