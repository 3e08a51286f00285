// `berth-runtime doctor` against facts read independently in the test.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Harness } from "../lib/runtime.ts";

const h = new Harness();

test("doctor reports this host's cgroup layout, capabilities and kernel features", async () => {
  const r = await h.rt(["doctor", "--format", "json"]);
  expect(r.code).toBe(0);
  const checks = Object.fromEntries((JSON.parse(r.stdout) as { name: string; verdict: string; detail: string }[]).map((c) => [c.name, c]));
  // Layout: a cgroup2 mount beside v1 controllers is hybrid; only cgroup2 at /sys/fs/cgroup is v2.
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" - ")[1]?.split(" ")[0]);
  const hasV1 = mounts.includes("cgroup"), hasV2 = mounts.includes("cgroup2");
  expect(checks["cgroup layout"]!.detail).toStartWith(hasV1 && hasV2 ? "hybrid" : hasV1 ? "cgroup v1" : "cgroup v2");
  const capEff = BigInt("0x" + readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("CapEff:"))!.split(/\s+/)[1]);
  expect(checks.CAP_SYS_RESOURCE!.verdict).toBe(capEff & (1n << 24n) ? "ok" : "warn");
  expect(checks.kernel!.detail).toStartWith(readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
  expect(checks["checkpoint/restore"]!.verdict).toBe("no");
  const text = await h.rt(["doctor"]);
  expect(text.stdout.split("\n").filter(Boolean).length).toBe(Object.keys(checks).length);
  expect((await h.rt(["doctor", "--format", "yaml"])).stderr).toContain("--format must be text or json");
  await h.cleanup();
});
