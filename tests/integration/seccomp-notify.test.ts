// Seccomp user notification through berth-runtime (config-linux.md "Seccomp": listenerPath,
// listenerMetadata): a Python agent (seccomp-notify-agent.py) listens on the socket, receives the
// listener fd with the container process state (SCM_RIGHTS), answers each notification with an
// errno or a value, and the container sees that answer. Checked for run, create/start, exec and a
// user namespace, and side by side with runc's payload. The agent is ended by its PID; the harness
// removes containers, cgroups and temp dirs.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Harness, leftoverCgroups } from "../lib/runtime.ts";
import type { Spec } from "../../src/runtime/spec/types.ts";

const AGENT = join(import.meta.dir, "seccomp-notify-agent.py");
const ETXTBSY = 26;
const NR_MKDIR = 83; // x86_64
const h = new Harness();
const agents: Bun.Subprocess[] = [];

interface Agent {
  socket: string;
  /** The log's records: connections (payload) and notifications (nr, pid). */
  records(): Record<string, unknown>[];
  /** Wait until `n` records match. */
  waitFor(pred: (r: Record<string, unknown>) => boolean, n?: number): Promise<Record<string, unknown>[]>;
}

async function startAgent(answer: string): Promise<Agent> {
  const dir = h.tmpdir();
  const socket = join(dir, "agent.sock");
  const log = join(dir, "agent.log");
  const p = Bun.spawn(["python3", AGENT, socket, log, answer], { stdout: "pipe", stderr: "inherit" });
  agents.push(p);
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain("listening");
  const records = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
  return {
    socket,
    records,
    async waitFor(pred, n = 1) {
      for (let i = 0; i < 100; i++) {
        const got = records().filter(pred);
        if (got.length >= n) return got;
        await Bun.sleep(50);
      }
      throw new Error(`agent: no ${n} matching records in ${JSON.stringify(records())}`);
    },
  };
}

const notifyMkdir = (socket: string, extra: Partial<NonNullable<NonNullable<Spec["linux"]>["seccomp"]>> = {}) => (s: Spec) => {
  s.linux!.seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    listenerPath: socket,
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
    ...extra,
  };
};
const isConn = (r: Record<string, unknown>) => "payload" in r;
const isNotif = (r: Record<string, unknown>) => "nr" in r;

const onX86_64 = process.arch === "x64";
afterAll(async () => {
  for (const a of agents) {
    try { process.kill(a.pid, "SIGKILL"); } catch {}
    await a.exited;
  }
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

describe("seccomp notify: the agent gets the listener fd and answers for the container", () => {
  test("run: an errno answer is what mkdir fails with; the payload is runtime-spec's ContainerProcessState", async () => {
    const agent = await startAgent(`errno:${ETXTBSY}`);
    const b = h.bundle((s) => {
      s.process!.args = ["mkdir", "/tmp/x"];
      notifyMkdir(agent.socket, { listenerMetadata: "meta-1" })(s);
      s.annotations = { "org.example/k": "v" };
    });
    const r = await h.rt(["run", "--bundle", b, "sn-run"]);
    expect(r.stderr).toContain("Text file busy");
    expect(r.code).toBe(1);
    const [conn] = await agent.waitFor(isConn);
    const [notif] = await agent.waitFor(isNotif);
    const p = conn!.payload as Record<string, unknown> & { state: Record<string, unknown> };
    expect(conn!.fds).toBe(1);
    expect(Object.keys(p)).toEqual(["ociVersion", "fds", "pid", "metadata", "state"]);
    expect(p.fds).toEqual(["seccompFd"]);
    expect(p.metadata).toBe("meta-1");
    expect(p.state).toMatchObject({ id: "sn-run", status: "creating", bundle: b, annotations: { "org.example/k": "v" } });
    // mkdir is the init: the notifying process, the payload's pid and the state's pid are one.
    expect(p.pid).toBe(notif!.pid as number);
    expect(p.state.pid).toBe(p.pid);
    if (onX86_64) expect(notif!.nr).toBe(NR_MKDIR);
    // One state per connection, closed after sending (runc closes its end only later).
    await agent.waitFor((x) => x.eof === true && x.conn === 1);
  });

  test("a value answer: mkdir 'succeeds' without the kernel running it (no_new_privs off: loaded before caps drop)", async () => {
    const agent = await startAgent("value:0");
    const b = h.bundle((s) => {
      s.process!.args = ["sh", "-c", "mkdir /tmp/y && echo made; test -d /tmp/y || echo absent"];
      s.process!.noNewPrivileges = false;
      notifyMkdir(agent.socket)(s);
    });
    const r = await h.rt(["run", "--bundle", b, "sn-value"]);
    expect(r.stdout).toBe("made\nabsent\n");
    const [conn] = await agent.waitFor(isConn);
    expect(Object.keys(conn!.payload as object)).toEqual(["ociVersion", "fds", "pid", "state"]); // no metadata set
  });

  test("create/start and exec: exec's process sends its own listener, state running with the init's pid", async () => {
    const agent = await startAgent(`errno:${ETXTBSY}`);
    const b = h.bundle((s) => {
      s.process!.args = ["sleep", "300"];
      notifyMkdir(agent.socket)(s);
    });
    expect((await h.rt(["create", "--bundle", b, "sn-exec"])).stderr).toBe("");
    // no_new_privs: the filter is loaded after `start`, just before execve.
    expect(agent.records().filter(isConn)).toEqual([]);
    expect((await h.rt(["start", "sn-exec"])).code).toBe(0);
    const initPid = JSON.parse((await h.rt(["state", "sn-exec"])).stdout).pid as number;
    const [initConn] = await agent.waitFor(isConn);
    expect((initConn!.payload as { pid: number }).pid).toBe(initPid);

    const r = await h.rt(["exec", "sn-exec", "mkdir", "/tmp/z"]);
    expect(r.stderr).toContain("Text file busy");
    const conns = await agent.waitFor(isConn, 2);
    const p = conns[1]!.payload as { pid: number; state: Record<string, unknown> };
    expect(p.state).toMatchObject({ id: "sn-exec", status: "running", pid: initPid, bundle: b });
    expect(p.pid).not.toBe(initPid);
    const [notif] = await agent.waitFor((x) => isNotif(x) && x.conn === 2);
    expect(notif!.pid).toBe(p.pid); // the host pid of the exec'd process, not its pid inside
    await h.rt(["delete", "-f", "sn-exec"]);
  });

  test("a user-namespace container: the runtime side connects, the container's root need not reach the socket", async () => {
    const agent = await startAgent(`errno:${ETXTBSY}`);
    const b = h.bundle((s) => {
      s.process!.args = ["mkdir", "/tmp/x"];
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.mounts = s.mounts!.filter((m) => m.destination !== "/sys/fs/cgroup").map((m) => (m.destination === "/sys" ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] } : m));
      notifyMkdir(agent.socket)(s);
    });
    const r = await h.rt(["run", "--bundle", b, "sn-userns"]);
    expect(r.stderr).toContain("Text file busy");
    await agent.waitFor(isNotif);
  });

  test("the same payload shape as runc's", async () => {
    if (!Bun.which("runc")) return;
    const agent = await startAgent(`errno:${ETXTBSY}`);
    const shapes: unknown[] = [];
    for (const runtime of [undefined, "runc"]) {
      const b = h.bundle((s) => {
        s.process!.args = ["mkdir", "/tmp/x"];
        notifyMkdir(agent.socket, { listenerMetadata: "m" })(s);
      });
      const r = await h.rt(["run", "--bundle", b, `sn-cmp-${runtime ?? "berth"}`], runtime ? { runtime } : {});
      expect(r.stderr).toContain("Text file busy");
      const conns = await agent.waitFor(isConn, shapes.length + 1);
      const p = conns[shapes.length]!.payload as Record<string, unknown> & { state: Record<string, unknown> };
      expect(p.pid).toBe(p.state.pid as number);
      shapes.push({ top: Object.keys(p).sort(), state: Object.keys(p.state).sort(), fds: p.fds, status: p.state.status, id: String(p.state.id).replace(/-(berth|runc)$/, "") });
    }
    expect(shapes[0]).toEqual(shapes[1]);
  });
});

describe("seccomp notify: errors name the field", () => {
  test("a relative listenerPath is refused", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      notifyMkdir("agent.sock")(s);
    });
    const r = await h.rt(["run", "--bundle", b, "sn-rel"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("linux.seccomp.listenerPath");
  });

  test("listenerMetadata without listenerPath is refused", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] };
    });
    const r = await h.rt(["run", "--bundle", b, "sn-meta"]);
    expect(r.stderr).toContain("linux.seccomp.listenerMetadata");
  });

  test("NOTIFY on sendmsg is refused: it would wait for an agent that has no fd yet", async () => {
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/tmp/none.sock", syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] };
    });
    const r = await h.rt(["run", "--bundle", b, "sn-sendmsg"]);
    expect(r.stderr).toContain("linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall");
  });

  test("no agent listening: create fails naming listenerPath and leaves nothing behind", async () => {
    const dir = h.tmpdir();
    const b = h.bundle((s) => {
      s.process!.args = ["true"];
      notifyMkdir(join(dir, "nobody.sock"))(s);
    });
    const r = await h.rt(["create", "--bundle", b, "sn-noagent"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("listenerPath");
    expect(existsSync(join(h.root, "sn-noagent"))).toBe(false);
  });

  test("without NOTIFY rules listenerPath is ignored (runtime-spec)", async () => {
    const r = await h.run(["true"], (s) => {
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/nonexistent/agent.sock", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] };
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
