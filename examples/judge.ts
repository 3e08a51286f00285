// An online judge in one file: compile a submission with the host's gcc in one sandbox, run the
// binary on each test in another, compare its output with the expected one.
//
//   node_modules/bun/bin/bun.exe examples/judge.ts [submission.c]     (as root; scripts/setup.sh first)
//
// Prints one line per test ("test 1: accepted (1.2 ms, 0.5 MiB)") and a JSON summary on the
// last line; exits 0 when every test is accepted. Without an argument it judges a sample that
// adds two numbers.
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Sandbox, type SandboxResult } from "berth";

const SAMPLE = `#include <stdio.h>
int main(void) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 1; printf("%ld\\n", a + b); return 0; }
`;
const TESTS = [
  { input: "1 2\n", expected: "3\n" },
  { input: "-5 12\n", expected: "7\n" },
  { input: "4000000000 4000000000\n", expected: "8000000000\n" },
];
/** The built-in busybox bundle (scripts/make-busybox-bundle.sh): enough to run a static binary. */
const RUN_ROOT = resolve(import.meta.dir, "../build/busybox/rootfs");
const NOBODY = 65534;

export type Judgement = "accepted" | "wrong answer" | "time limit" | "memory limit" | "runtime error" | "output limit" | "security violation" | "compile error";

export function judgement(r: SandboxResult, expected: string): Judgement {
  switch (r.status) {
    case "ok": return r.stdout.toString() === expected ? "accepted" : "wrong answer";
    case "time":
    case "wall": return "time limit";
    case "memory": return "memory limit";
    case "output": return "output limit";
    case "seccomp": return "security violation";
    default: return "runtime error";
  }
}

export async function judge(source: string): Promise<{ compile: SandboxResult; tests: { judgement: Judgement; result: SandboxResult }[] }> {
  const work = mkdtempSync(join(tmpdir(), "berth-judge-"));
  const sandbox = await Sandbox.open();
  try {
    const src = join(work, "src"), out = join(work, "out");
    for (const d of [src, out]) mkdirSync(d);
    writeFileSync(join(src, "main.c"), source);
    chownSync(out, NOBODY, NOBODY); // the compiler runs as nobody and writes only here
    // The compiler's sandbox: the host's own / as the read-only root (where gcc lives), the
    // source read-only, an output directory it may write.
    const compile = await sandbox.run({
      rootfs: "/",
      argv: ["gcc", "-O2", "-static", "-o", "/out/a.out", "/src/main.c"],
      env: { PATH: "/usr/bin:/bin" },
      binds: [{ source: src, target: "/src" }, { source: out, target: "/out", readOnly: false }],
      limits: { cpuMs: 20_000, wallMs: 30_000, memoryBytes: 512 << 20, pids: 32 },
    });
    if (compile.status !== "ok") return { compile, tests: TESTS.map(() => ({ judgement: "compile error" as const, result: compile })) };
    // The submission's sandbox: busybox's root, the binary read-only, strict seccomp, tight limits.
    const tests = [];
    for (const t of TESTS) {
      const result = await sandbox.run({
        rootfs: RUN_ROOT,
        argv: ["/judge/a.out"],
        stdin: t.input,
        binds: [{ source: out, target: "/judge" }],
        seccomp: "strict",
        limits: { cpuMs: 1000, wallMs: 3000, memoryBytes: 64 << 20, pids: 1, outputBytes: 1 << 16 },
      });
      tests.push({ judgement: judgement(result, t.expected), result });
    }
    return { compile, tests };
  } finally {
    await sandbox.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const file = process.argv[2];
  const { compile, tests } = await judge(file ? await Bun.file(file).text() : SAMPLE);
  if (compile.status !== "ok") process.stdout.write(`compile: ${compile.status}: ${compile.stderr.toString() || compile.message}\n`);
  tests.forEach((t, i) => process.stdout.write(`test ${i + 1}: ${t.judgement} (${t.result.cpuMs.toFixed(1)} ms, ${(t.result.peakMemoryBytes / 1048576).toFixed(1)} MiB)\n`));
  process.stdout.write(`${JSON.stringify({ compile: compile.status, tests: tests.map((t) => t.judgement) })}\n`);
  process.exit(tests.every((t) => t.judgement === "accepted") ? 0 : 1);
}
