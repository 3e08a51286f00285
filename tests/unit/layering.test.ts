// The layout's rule (../shared/DESIGN.md): dependencies point down —
//   fronts (cli, runtime-cli, daemon, api/*) → docker (JSON shapes) → engine →
//   {runtime, network, monitor, content, metadata, snapshots, distribution, image} →
//   {cgroups, seccomp} → {sys, explain, oci}
// Nothing imports a front, the engine never names Docker's shapes, and only the fronts touch
// the process's stdio and signal handlers. Static and dynamic imports both count.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** Higher numbers sit above lower ones. runtime/spec holds the OCI spec types (a leaf, to move to src/oci). */
const RANK: Record<string, number> = {
  sys: 0, explain: 0, oci: 0, "runtime/spec": 0,
  cgroups: 1, seccomp: 1,
  runtime: 2, network: 2, monitor: 2, content: 2, metadata: 2, snapshots: 2, distribution: 2, image: 2,
  engine: 3,
  docker: 4,
  sandbox: 5, cli: 6, "runtime-cli": 6, daemon: 6, api: 6,
};
const FRONTS = new Set(["cli", "runtime-cli", "daemon", "api"]);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (n.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** The layer a source file belongs to ("runtime/spec" before "runtime"). */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  if (rel.startsWith("runtime/spec/")) return "runtime/spec";
  return rel.split("/")[0]!;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s+["']([^"']+)["']/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]!);
  return out.filter((s) => s.startsWith("."));
}

const all = files(SRC);
const edges = all.flatMap((f) => importsOf(f).map((spec) => ({ from: f, to: resolve(dirname(f), spec) })));

describe("the import graph points down", () => {
  test("every layer is known", () => {
    const unknown = [...new Set(all.map(layerOf))].filter((l) => RANK[l] === undefined);
    expect(unknown).toEqual([]);
  });

  // Known, type-only, and to be fixed by moving the OCI types into src/oci (REVIEW-2026-12 §3, move 1):
  // the spec's LinuxResources types are declared beside the cgroup code that applies them.
  const KNOWN_EDGES = new Set(["runtime/spec/types.ts → cgroups/resources.ts"]);
  test("no file imports a layer above its own", () => {
    const back = edges
      .filter((e) => e.to.startsWith(SRC))
      .map((e) => ({ from: layerOf(e.from), to: layerOf(e.to), at: `${relative(SRC, e.from)} → ${relative(SRC, e.to)}` }))
      .filter((e) => RANK[e.to]! > RANK[e.from]!)
      .filter((e) => !KNOWN_EDGES.has(e.at));
    expect(back.map((b) => b.at)).toEqual([]);
  });

  // The fronts' own chain: `berth daemon` starts berthd (src/daemon), which starts the API fronts.
  const FRONT_EDGES: [from: RegExp, to: string][] = [[/^cli\/commands\/daemon\.ts$/, "daemon"], [/^daemon\//, "api"]];
  test("nothing imports a front (cli, runtime-cli, daemon, api) but itself", () => {
    const bad = edges.filter((e) => {
      const to = layerOf(e.to);
      const from = relative(SRC, e.from);
      if (FRONT_EDGES.some(([f, t]) => f.test(from) && t === to)) return false;
      return FRONTS.has(to) && layerOf(e.from) !== to;
    });
    expect(bad.map((e) => `${relative(SRC, e.from)} → ${relative(SRC, e.to)}`)).toEqual([]);
  });

  test("the engine never names Docker's shapes", () => {
    const bad = edges.filter((e) => layerOf(e.from) === "engine" && layerOf(e.to) === "docker");
    expect(bad.map((e) => relative(SRC, e.from))).toEqual([]);
  });

  test("the test sees a back edge when there is one (a check of the check)", () => {
    const fake = { from: join(SRC, "sys/x.ts"), to: join(SRC, "engine/y.ts") };
    expect(RANK[layerOf(fake.to)]! > RANK[layerOf(fake.from)]!).toBe(true);
    expect(importsOf(join(SRC, "engine/containers.ts")).some((s) => s.includes("../runtime/container.ts"))).toBe(true);
  });
});

describe("only the fronts touch the process's stdio and signals", () => {
  // Known and to be moved behind a logger / the caller (REVIEW-2026-12 W2): the runtime library's
  // hook warnings and its foreground signal forwarding, which berth-runtime's verbs rely on.
  const KNOWN = new Set(["runtime/hooks.ts", "runtime/launch.ts"]);
  test("no library file writes to process.stdout/stderr or installs a signal handler", () => {
    const bad = all
      .filter((f) => !FRONTS.has(layerOf(f)))
      .filter((f) => /process\.(stdout|stderr)\b|process\.(on|once)\(\s*["']SIG/.test(readFileSync(f, "utf8")))
      .map((f) => relative(SRC, f))
      .filter((f) => !KNOWN.has(f));
    expect(bad).toEqual([]);
  });
});
