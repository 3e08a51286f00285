// berthd through dockerode (a real Docker API client library) and under faults: create, start,
// attach before start, logs, inspect, wait, exec, remove and docker's errors; kill -9 of berthd
// with running containers then a restart (all still running, an exit that happened meanwhile
// is reported by wait, logs continue); clients that go away mid-stream leave no fds behind;
// concurrent clients for a bounded time get no errors docker would not give.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import Docker from "dockerode";
import { BERTH } from "./cli-helpers.ts";
import { Berthd } from "./berthd-harness.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let d: Berthd;
let docker: Docker;

beforeAll(async () => {
  if (!ready) return;
  d = new Berthd();
  await d.start();
  docker = new Docker({ socketPath: d.socket });
});

afterAll(async () => {
  if (!ready) return;
  const left = await d.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

/** Split docker's multiplexed stream (8-byte headers) into stdout and stderr text. */
function demux(buf: Buffer): { out: string; err: string } {
  let out = "", err = "";
  for (let off = 0; off + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(off + 4);
    const payload = buf.subarray(off + 8, off + 8 + len).toString();
    if (buf[off] === 1) out += payload;
    else if (buf[off] === 2) err += payload;
    off += 8 + len;
  }
  return { out, err };
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const ch of stream) chunks.push(Buffer.from(ch as Buffer));
  return Buffer.concat(chunks);
}

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((f) => {
  try {
    return readlinkSync(`/proc/${pid}/fd/${f}`);
  } catch {
    return "?";
  }
});

describe.if(ready)("dockerode against berthd", () => {
  test("pull (built-in busybox), create, attach before start, wait, inspect, logs, remove", async () => {
    const pull = await docker.pull("busybox:latest");
    await collect(pull);
    const c = await docker.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "echo to-out; echo to-err >&2; exit 6"], Labels: { t: "api" } });
    const att = await c.attach({ stream: true, stdout: true, stderr: true });
    const attached = collect(att);
    const waited = c.wait({ condition: "next-exit" }); // not-running (the default) is met by a created container
    await c.start();
    expect((await waited).StatusCode).toBe(6);
    expect(demux(await attached)).toEqual({ out: "to-out\n", err: "to-err\n" });
    const info = await c.inspect();
    expect(info.State.Status).toBe("exited");
    expect(info.State.ExitCode).toBe(6);
    expect(info.Config.Labels.t).toBe("api");
    const logs = (await c.logs({ stdout: true, stderr: true, timestamps: false })) as unknown as Buffer;
    expect(demux(logs)).toEqual({ out: "to-out\n", err: "to-err\n" });
    const list = await docker.listContainers({ all: true, filters: { label: ["t=api"] } });
    expect(list.map((x) => x.Id)).toEqual([c.id]);
    expect(list[0]!.Names).toEqual([`/${info.Name.slice(1)}`]);
    await c.remove();
    await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test("errors: 404 no such image, 409 start of a running one is 304, 400 bad create body, 409 conflict on rm", async () => {
    await expect(docker.createContainer({ Image: "127.0.0.1:1/none/here:1" })).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.createContainer({ Image: "busybox", HostConfig: { RestartPolicy: { Name: "sometimes" } } })).rejects.toMatchObject({ statusCode: 400 });
    const c = await docker.createContainer({ Image: "busybox", Cmd: ["sleep", "60"], name: "api-busy" });
    await expect(docker.createContainer({ Image: "busybox", name: "api-busy" })).rejects.toMatchObject({ statusCode: 409 });
    await c.start();
    await expect(c.start()).rejects.toMatchObject({ statusCode: 304 });
    await expect(c.remove()).rejects.toMatchObject({ statusCode: 409 });
    // exec through dockerode: hijacked start, exit code from inspect.
    const x = await c.exec({ Cmd: ["sh", "-c", "echo in-exec; exit 3"], AttachStdout: true, AttachStderr: true });
    const s = await x.start({ hijack: true, stdin: false });
    expect(demux(await collect(s)).out).toBe("in-exec\n");
    expect((await x.inspect()).ExitCode).toBe(3);
    await c.remove({ force: true });
    const events = (await (await fetch(`http://berth/v1.50/events?since=0&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ container: { [c.id]: true }, event: { destroy: true } }))}`, { unix: d.socket } as RequestInit)).text()).trim().split("\n");
    expect(events.map((l) => (JSON.parse(l) as { Action: string }).Action)).toEqual(["destroy"]);
  });

  test("clients that leave mid-stream (logs -f, events, wait, attach) leave no fds behind", async () => {
    const c = await docker.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "while true; do echo tick; sleep 0.1; done"] });
    await c.start();
    await Bun.sleep(300);
    const before = fds(d.pid);
    for (let round = 0; round < 3; round++) {
      const streams: NodeJS.ReadableStream[] = [];
      for (let i = 0; i < 5; i++) streams.push((await c.logs({ follow: true, stdout: true })) as unknown as NodeJS.ReadableStream);
      streams.push((await docker.getEvents()) as unknown as NodeJS.ReadableStream);
      streams.push(await c.attach({ stream: true, stdout: true }));
      await Bun.sleep(300);
      for (const s of streams) (s as unknown as { destroy(): void }).destroy();
      const ac = new AbortController();
      const w = fetch(`http://berth/v1.50/containers/${c.id}/wait`, { unix: d.socket, method: "POST", signal: ac.signal } as RequestInit).catch(() => undefined);
      await Bun.sleep(100);
      ac.abort();
      await w;
    }
    let after = fds(d.pid);
    for (let i = 0; i < 50 && after > before; i++) {
      await Bun.sleep(100);
      after = fds(d.pid);
    }
    expect(after).toBeLessThanOrEqual(before);
    expect((await c.inspect()).State.Running).toBe(true);
    await c.remove({ force: true });
  });

  test("kill -9 of berthd with running containers, then a restart: all running, a meanwhile exit is waited for, logs continue", async () => {
    const n = 20;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = await docker.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "i=0; while true; do echo n$i; i=$((i+1)); sleep 0.2; done"], name: `k9-${i}` });
      await c.start();
      ids.push(c.id);
    }
    const brief = await docker.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "sleep 1; exit 9"], name: "k9-brief" });
    await brief.start();
    await d.stop("SIGKILL");
    expect(await d.ping()).toBe(false);
    await Bun.sleep(2000); // k9-brief exits while no berthd runs
    await d.start();
    const running = await docker.listContainers({ filters: { name: ["k9-"] } });
    expect(running.map((x) => x.Id).sort()).toEqual([...ids].sort());
    expect((await brief.wait()).StatusCode).toBe(9);
    expect((await brief.inspect()).State.ExitCode).toBe(9);
    const logs = (await docker.getContainer(ids[0]!).logs({ follow: true, stdout: true, tail: 1 })) as unknown as NodeJS.ReadableStream;
    let text = "";
    logs.on("data", (b: Buffer) => (text += demux(b).out));
    for (let i = 0; i < 40 && text.split("\n").length < 4; i++) await Bun.sleep(100);
    (logs as unknown as { destroy(): void }).destroy();
    expect(text.split("\n").length).toBeGreaterThanOrEqual(4);
    for (const id of [...ids, brief.id]) await docker.getContainer(id).remove({ force: true });
    expect(await docker.listContainers({ all: true })).toEqual([]);
  }, 120_000);

  test("SIGTERM: a request in flight finishes, berthd exits 0, removes its socket and pid file, and the containers keep running", async () => {
    const c = await docker.createContainer({ Image: "busybox", Cmd: ["sleep", "60"] });
    await c.start();
    const stubborn = await docker.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"] });
    await stubborn.start();
    const stopping = stubborn.stop({ t: 1 }); // takes a second: TERM is ignored, KILL follows
    await Bun.sleep(200);
    const exited = d.stop("SIGTERM");
    await stopping; // answered (204) although berthd was told to stop meanwhile
    expect(await exited).toBe(0);
    expect(existsSync(d.socket)).toBe(false);
    expect(existsSync(d.pidfile)).toBe(false);
    await d.start();
    expect((await c.inspect()).State.Running).toBe(true);
    expect((await stubborn.inspect()).State.ExitCode).toBe(137);
    await c.remove({ force: true });
    await stubborn.remove();
  });

  test("a TCP address is refused with a clear error", async () => {
    const r = await d.cli.run(["daemon", "-H", "tcp://127.0.0.1:2375"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("TLS");
  });

  test("load: concurrent clients doing create/start/inspect/logs/rm for a bounded time get only docker's answers, and nothing leaks", async () => {
    // Warm up (the stores and the network manager open their files once), then count.
    const warm = await docker.createContainer({ Image: "busybox", Cmd: ["true"] });
    await warm.start();
    await warm.wait();
    await warm.remove();
    const before = fds(d.pid);
    const deadline = Date.now() + 8000;
    const errors: string[] = [];
    let cycles = 0;
    const worker = async (w: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        try {
          const c = await docker.createContainer({ Image: "busybox", Cmd: ["echo", `w${w}-${i}`], name: `load-${w}-${i}` });
          await c.start();
          await c.wait();
          const info = await c.inspect();
          if (info.State.ExitCode !== 0) errors.push(`w${w}-${i}: exit ${info.State.ExitCode}`);
          const logs = demux((await c.logs({ stdout: true })) as unknown as Buffer).out;
          if (logs !== `w${w}-${i}\n`) errors.push(`w${w}-${i}: logs ${JSON.stringify(logs)}`);
          await c.remove();
          cycles++;
        } catch (err) {
          errors.push(`w${w}-${i}: ${(err as Error).message}`);
        }
      }
    };
    // 50 clients: 10 running the lifecycle, 40 listing and pinging all the while.
    const pollers = Array.from({ length: 40 }, async () => {
      while (Date.now() < deadline) {
        try {
          await docker.listContainers({ all: true });
          await docker.ping();
        } catch (err) {
          errors.push(`poll: ${(err as Error).message}`);
        }
      }
    });
    await Promise.all([...Array.from({ length: 10 }, (_, w) => worker(w)), ...pollers]);
    expect(errors).toEqual([]);
    expect(cycles).toBeGreaterThanOrEqual(10); // every worker got through at least once (bridge networking makes a cycle ~0.5 s)
    expect(await docker.listContainers({ all: true })).toEqual([]);
    let after = fds(d.pid);
    for (let i = 0; i < 50 && after > before; i++) {
      await Bun.sleep(100);
      after = fds(d.pid);
    }
    if (after > before) console.error(`berthd's descriptors:\n${openFiles(d.pid).join("\n")}`);
    expect(after).toBeLessThanOrEqual(before);
  }, 60_000);
});

