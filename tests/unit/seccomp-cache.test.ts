// The compiled-filter disk cache: a hit returns exactly what a compile returns, a changed profile
// misses, a damaged entry is recompiled, config errors are never cached.
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Seccomp } from "../../src/runtime/spec/types.ts";
import { compileSeccompCached } from "../../src/seccomp/cache.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { defaultSeccomp } from "../../src/seccomp/default-profile.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-seccomp-cache-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("a hit equals a fresh compile and is faster", () => {
  const cacheDir = path.join(dir, "c1");
  const p = defaultSeccomp(["CAP_KILL"]);
  const fresh = compileSeccomp(p);
  const first = compileSeccompCached(p, cacheDir);
  const t0 = performance.now();
  const hit = compileSeccompCached(p, cacheDir);
  const hitMs = performance.now() - t0;
  for (const c of [first, hit]) {
    expect(Buffer.from(c.bpf).equals(Buffer.from(fresh.bpf))).toBe(true);
    expect({ ...c, bpf: null }).toEqual({ ...fresh, bpf: null });
  }
  expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith(".json"))).toHaveLength(1);
  expect((fs.statSync(cacheDir).mode & 0o777).toString(8)).toBe("700");
  expect(hitMs).toBeLessThan(10);
});

test("another profile misses; a damaged entry is recompiled", () => {
  const cacheDir = path.join(dir, "c2");
  const a: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] };
  const b: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }] };
  const ca = compileSeccompCached(a, cacheDir);
  const cb = compileSeccompCached(b, cacheDir);
  expect(Buffer.from(ca.bpf).equals(Buffer.from(cb.bpf))).toBe(false);
  for (const f of fs.readdirSync(cacheDir)) fs.writeFileSync(path.join(cacheDir, f), "{not json");
  expect(Buffer.from(compileSeccompCached(a, cacheDir).bpf).equals(Buffer.from(ca.bpf))).toBe(true);
});

test("config errors are thrown every time, never cached", () => {
  const cacheDir = path.join(dir, "c3");
  for (let i = 0; i < 2; i++) expect(() => compileSeccompCached({ defaultAction: "SCMP_ACT_NO" }, cacheDir)).toThrow(BerthError);
  expect(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []).toEqual([]);
});
