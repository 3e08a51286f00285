// A disk cache of compiled filters. Compiling Docker's default profile for x86_64 + x86 + x32
// costs ~15 ms inside libseccomp (mostly translating every rule for the two compat ABIs and
// exporting ~1,250 instructions) — a large share of a container start. Yet almost every
// container uses the same few profiles, so the result is cached by what determines it: the
// profile, the libseccomp build, the kernel (which flags it supports) and the architecture.

import { hashOf } from "../sys/digest.ts";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Seccomp } from "../runtime/spec/types.ts";
import type { CompiledSeccomp } from "./compile.ts";

// The compiler (and libseccomp through bun:ffi, and its tables) is loaded on a miss only: a hit,
// almost every start, costs a stat, a hash and a read.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const compileSeccomp = (s: Seccomp, field: string): CompiledSeccomp => (require("./compile.ts") as typeof import("./compile.ts")).compileSeccomp(s, field);

const FORMAT = 1;

/** uname -r, as os.release() says it, read without loading node:os (~0.2 ms on a cold start). */
const kernelRelease = (): string => fs.readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();

// Where distributions put libseccomp.so.2; its identity (real path, size, mtime) stands in for
// the library version without opening it.
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib"];

function libraryIdentity(): string | undefined {
  for (const d of LIB_DIRS) {
    try {
      const real = fs.realpathSync(path.join(d, "libseccomp.so.2"));
      const st = fs.statSync(real);
      return `${real}:${st.size}:${st.mtimeMs}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * compileSeccomp with results kept under `cacheDir` (created 0700 if missing). The cached program
 * is loaded as is, so `cacheDir` must be writable by the runtime's user only (put it under the
 * runtime's --root, like state.json). Falls back to a plain
 * compile when the library cannot be identified or the cache cannot be read or written; errors
 * of the config itself are never cached (they are thrown by the compile, every time).
 */
export function compileSeccompCached(s: Seccomp, cacheDir: string, field = "linux.seccomp"): CompiledSeccomp {
  const lib = libraryIdentity();
  if (lib === undefined) return compileSeccomp(s, field);
  const key = hashOf("sha256", JSON.stringify([FORMAT, lib, kernelRelease(), process.arch, s]));
  const file = path.join(cacheDir, `${key}.json`);
  try {
    const c = JSON.parse(fs.readFileSync(file, "utf8")) as Omit<CompiledSeccomp, "bpf"> & { bpf: string };
    const bpf = new Uint8Array(Buffer.from(c.bpf, "base64"));
    if (bpf.length > 0 && bpf.length % 8 === 0) return { ...c, bpf };
  } catch {
    // miss or unreadable: compile
  }
  const out = compileSeccomp(s, field);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, JSON.stringify({ ...out, bpf: Buffer.from(out.bpf).toString("base64") }), { mode: 0o600 });
    fs.renameSync(tmp, file); // readers see the whole entry or none
  } catch {
    // a read-only or full cache only costs speed
    fs.rmSync(tmp, { force: true });
  }
  return out;
}
