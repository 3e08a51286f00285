// berth-runtime and Debian's runc side by side on the same bundles: what the container sees,
// the state JSON, and the exit codes of error cases must match.
import { afterAll, describe, expect, test } from "bun:test";
import { Harness, leftoverCgroups } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const RUNC = "/usr/sbin/runc";
const h = new Harness();
afterAll(async () => {
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

/** Run the same bundle under both runtimes; returns [berth, runc]. */
async function both(args: string[], edit: (s: Spec) => void = () => {}) {
  const out = [];
  for (const runtime of [undefined, RUNC]) out.push(await h.run(args, edit, runtime ? { runtime } : {}));
  return out as [Awaited<ReturnType<typeof h.run>>, Awaited<ReturnType<typeof h.run>>];
}

const PROBE = [
  "hostname", "id", "pwd", "echo $$", "env | sort",
  "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status",
  "ulimit -n -H", "umask",
  "ls -l /dev | awk '{print $1, $NF}' | sort",
  "awk '{print $2, $3}' /proc/mounts | sort",
  "grep -E 'ro,|rw,' /proc/mounts | awk '{print $2, substr($4,1,2)}' | sort",
  "ls /sys/class/net", "cat /proc/self/uid_map",
].join("; echo ---; ");

describe("what the container sees", () => {
  test("the default spec", async () => {
    const [b, r] = await both(["sh", "-c", PROBE]);
    expect(r.code).toBe(0);
    expect(b.stdout).toBe(r.stdout);
    expect(b.code).toBe(r.code);
  });

  test("a user, groups, capabilities, rlimits and extra mounts", async () => {
    const [b, r] = await both(["sh", "-c", PROBE], (s) => {
      s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o077 };
      s.process!.cwd = "/tmp";
      s.process!.capabilities = { bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], inheritable: [] };
      s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 100, hard: 200 }, { type: "RLIMIT_NPROC", soft: 50, hard: 50 }];
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] });
    });
    expect(r.code).toBe(0);
    expect(b.stdout).toBe(r.stdout);
  });

  test("exit codes: normal, by signal", async () => {
    for (const script of ["exit 3", "kill -KILL $$; sleep 1", "true"]) {
      const [b, r] = await both(["sh", "-c", script]);
      expect(b.code).toBe(r.code);
    }
  });
});

describe("state and list", () => {
  const keys = (o: object) => Object.keys(o).sort();
  test("state JSON has runc's keys and statuses through the lifecycle", async () => {
    const seen: Record<string, string[]> = {};
    for (const runtime of [undefined, RUNC]) {
      const o = runtime ? { runtime } : {};
      const b = h.bundle((s) => {
        s.process!.args = ["sleep", "30"];
        s.annotations = { "org.example": "x" };
      });
      const id = `diff-${runtime ? "runc" : "berth"}`;
      const statuses: string[] = [];
      const st = async () => JSON.parse((await h.rt(["state", id], o)).stdout);
      expect((await h.rt(["create", "--bundle", b, id], o)).code).toBe(0);
      const created = await st();
      statuses.push(created.status);
      expect((await h.rt(["start", id], o)).code).toBe(0);
      statuses.push((await st()).status);
      expect((await h.rt(["kill", id, "KILL"], o)).code).toBe(0);
      for (let i = 0; i < 100 && (await st()).status !== "stopped"; i++) await Bun.sleep(20);
      statuses.push((await st()).status);
      const list = JSON.parse((await h.rt(["list", "--format", "json"], o)).stdout);
      seen[runtime ? "runc" : "berth"] = [...statuses, keys(created).join(","), keys(list[0]).join(","), JSON.stringify(created.annotations)];
      expect((await h.rt(["delete", id], o)).code).toBe(0);
    }
    expect(seen.berth).toEqual(seen.runc!);
  });
});

describe("errors: same exit codes as runc", () => {
  const cases: [string, (id: string, bundle: string) => string[]][] = [
    ["state of an unknown id", (id) => ["state", id]],
    ["start of an unknown id", (id) => ["start", id]],
    ["kill of an unknown id", (id) => ["kill", id]],
    ["delete of an unknown id", (id) => ["delete", id]],
    ["delete --force of an unknown id", (id) => ["delete", "--force", id]],
    ["create without a config.json", (id) => ["create", "--bundle", "/nonexistent-bundle", id]],
    ["kill with an unknown signal", (id) => ["kill", id, "SIGNOPE"]],
    ["an unknown command", () => ["frobnicate"]],
  ];
  for (const [name, argv] of cases) {
    test(name, async () => {
      const codes = [];
      for (const runtime of [undefined, RUNC]) codes.push((await h.rt(argv(`nope-${name.length}`, ""), runtime ? { runtime } : {})).code);
      expect(codes[0]).toBe(codes[1]!);
    });
  }

  test("create with an id that exists", async () => {
    const codes = [];
    for (const runtime of [undefined, RUNC]) {
      const o = runtime ? { runtime } : {};
      const b = h.bundle((s) => (s.process!.args = ["sleep", "30"]));
      await h.rt(["create", "--bundle", b, "dup-diff"], o);
      codes.push((await h.rt(["create", "--bundle", b, "dup-diff"], o)).code);
      await h.rt(["delete", "--force", "dup-diff"], o);
    }
    expect(codes[0]).toBe(codes[1]!);
  });
});
