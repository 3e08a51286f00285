// testcontainers (npm) against berthd, Ryuk off (TESTCONTAINERS_RYUK_DISABLED=true): the built-in
// busybox started with an exposed port, a wait for a log line, exec, the mapped port reached
// on the host, stop; nothing left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH } from "./cli-helpers.ts";
import { Berthd } from "./berthd-harness.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let d: Berthd;
// bun test runs every file in one process: what this file sets in process.env is put back after.
const ENV_KEYS = ["DOCKER_HOST", "TESTCONTAINERS_RYUK_DISABLED", "DOCKER_CONFIG", "TESTCONTAINERS_HOST_OVERRIDE"] as const;
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
// testcontainers leaves a lock file of its own in the temp dir: the ones this file made go after.
const tcLocks = () => readdirSync(tmpdir()).filter((f) => /^testcontainers-node-.*\.lock$/.test(f));
const locksBefore = new Set(tcLocks());

beforeAll(async () => {
  if (!ready) return;
  d = new Berthd("bt-tc-");
  await d.start();
  // testcontainers reads its environment (and ~/.testcontainers.properties) once, at first use.
  process.env.DOCKER_HOST = d.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  process.env.DOCKER_CONFIG = join(d.cli.dir, "docker-config");
  process.env.TESTCONTAINERS_HOST_OVERRIDE = "127.0.0.1";
  writeFileSync(join(d.cli.dir, ".testcontainers.properties"), "");
});

afterAll(async () => {
  for (const f of tcLocks()) if (!locksBefore.has(f)) rmSync(join(tmpdir(), f), { force: true });
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  if (!ready) return;
  const left = await d.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("testcontainers against berthd", () => {
  test("start with an exposed port, wait for a log line, exec, reach the mapped port, stop", async () => {
    const { GenericContainer, Wait } = await import("testcontainers");
    const c = await new GenericContainer("busybox:latest")
      .withCommand(["sh", "-c", "echo hello-tc > /tmp/index.html; echo ready; exec httpd -f -p 8080 -h /tmp"])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forLogMessage("ready"))
      .start();
    try {
      const r = await c.exec(["sh", "-c", "echo from-exec; exit 3"]);
      expect(r.exitCode).toBe(3);
      expect(r.output).toContain("from-exec");
      const port = c.getMappedPort(8080);
      expect(port).toBeGreaterThan(0);
      let body = "";
      for (let i = 0; i < 50 && body === ""; i++) {
        body = await fetch(`http://127.0.0.1:${port}/index.html`).then((x) => x.text()).catch(() => "");
        if (!body) await Bun.sleep(100);
      }
      expect(body).toBe("hello-tc\n");
    } finally {
      await c.stop();
    }
    expect(await d.dockerOk(["ps", "-aq"])).toBe("");
  }, 60_000);
});
