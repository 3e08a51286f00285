// The CRI front driven by the real crictl (cri-tools 1.26.1): pod and container lifecycles, two
// containers of one pod talking over localhost, the CRI log format, an OOM kill reported as
// OOMKilled, gRPC codes for bad input with nothing left behind, cleanup after rmp, pull/images/rmi
// against a local docker-registry, and a kill -9 of the server that loses nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CriServer, HAVE_CRICTL } from "./cri-harness.ts";
import { Cli, containerCgroups } from "./cli-helpers.ts";
import { mountsUnder, pidsWithArg, rootNetworkHash, settled } from "../helpers/leftovers.ts";
import { startRegistry, type RunningRegistry } from "./registry-harness.ts";

const d = HAVE_CRICTL ? describe : describe.skip;
if (!HAVE_CRICTL) console.warn("skipping the CRI tests: no crictl (../shared/tools/crictl, $BERTH_CRICTL or on PATH)");

let s: CriServer;
let logs: string;

// kubelet's default: a PID namespace per container (shareProcessNamespace: false).
const podConfig = (name: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: "berth-test", uid: `uid-${name}`, attempt: 0 },
  hostname: `${name}-host`,
  log_directory: join(logs, name),
  linux: { security_context: { namespace_options: { pid: 1 } } },
  ...extra,
});
const containerConfig = (name: string, command: string[], extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  image: { image: "busybox" },
  command,
  log_path: `${name}.log`,
  linux: {},
  ...extra,
});

/** Poll crictl inspect until the container's state is `want`. */
async function waitState(id: string, want: string, ms = 20_000): Promise<Record<string, any>> {
  const end = Date.now() + ms;
  for (;;) {
    const st = JSON.parse(await s.ok(["inspect", id])).status;
    if (st.state === want || Date.now() > end) return st;
    await Bun.sleep(100);
  }
}

/** Everything a pod or container with this id could leave on the host. */
function traces(id: string): string[] {
  const out: string[] = [];
  if (existsSync(join(s.cli.runroot, "netns", id))) out.push(`netns ${id}`);
  if (existsSync(join(s.cli.runroot, "containers", id))) out.push(`run dir ${id}`);
  if (existsSync(join(s.cli.root, "containers", id))) out.push(`data dir ${id}`);
  for (const c of containerCgroups()) if (c.endsWith(`berth-${id}`)) out.push(`cgroup ${c}`);
  for (const pid of pidsWithArg(id)) out.push(`process ${pid} (${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")})`);
  for (const m of mountsUnder(s.cli.dir)) if (m.includes(id)) out.push(`mount ${m}`);
  return out;
}

/** The veths on this root's default bridge (engine/network.ts names it bt0<sha256(root)>). */
function bridgeVeths(): string[] {
  const bridge = `bt0${rootNetworkHash(s.cli.root)}`;
  try {
    return readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}

beforeAll(async () => {
  if (!HAVE_CRICTL) return;
  s = new CriServer();
  logs = join(s.cli.dir, "logs");
  await s.start();
  await s.ok(["pull", "busybox"]); // the built-in image, made on this machine
});

afterAll(async () => {
  if (!HAVE_CRICTL) return;
  const left = await s.cleanup();
  expect(left).toEqual({ mounts: [], cgroups: [], processes: [] });
});

d("CRI through crictl", () => {
  test("version and info: RuntimeReady and NetworkReady", async () => {
    const v = await s.ok(["version"]);
    expect(v).toContain("RuntimeName:  berth");
    expect(v).toContain("RuntimeApiVersion:  v1");
    const info = JSON.parse(await s.ok(["info"]));
    const conds = Object.fromEntries(info.status.conditions.map((c: { type: string; status: boolean }) => [c.type, c.status]));
    expect(conds).toEqual({ RuntimeReady: true, NetworkReady: true });
  });

  test("a pod of two containers: localhost between them, one hostname, CRI logs, stop/rm/stopp/rmp, nothing left", async () => {
    const pod = await s.ok(["runp", s.file("pod-web.json", podConfig("web", { labels: { app: "web" } }))]);
    expect(pod).toMatch(/^[0-9a-f]{64}$/);
    const podFile = join(s.cli.dir, "pod-web.json");
    const inspectp = JSON.parse(await s.ok(["inspectp", pod]));
    expect(inspectp.status.state).toBe("SANDBOX_READY");
    expect(inspectp.status.network.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(inspectp.status.labels).toEqual({ app: "web" });
    expect(inspectp.info.netNamespacePath).toBe(join(s.cli.runroot, "netns", pod));
    expect(existsSync(inspectp.info.netNamespacePath)).toBe(true);
    expect(bridgeVeths()).toHaveLength(1);
    expect(bridgeVeths()[0]).toMatch(/^btv/);

    const srv = await s.ok(["create", pod, s.file("srv.json", containerConfig("srv", ["sh", "-c", "echo started; echo oops >&2; mkdir /www; echo pong > /www/index.html; exec httpd -f -v -p 8080 -h /www"], { labels: { role: "server" } })), podFile]);
    await s.ok(["start", srv]);
    const cli = await s.ok(["create", pod, s.file("cli.json", containerConfig("cli", ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do r=$(wget -qO- http://127.0.0.1:8080/) && break; sleep 0.2; done; echo got $r; hostname; sleep 3600"])), podFile]);
    await s.ok(["start", cli]);

    const ps = await s.ok(["ps", "-a", "--pod", pod, "-o", "json"]);
    const listed = JSON.parse(ps).containers.map((c: { id: string; state: string; labels: Record<string, string> }) => [c.id, c.state]);
    expect(listed.sort()).toEqual([[cli, "CONTAINER_RUNNING"], [srv, "CONTAINER_RUNNING"]].sort());
    expect(await s.ok(["ps", "-q", "--label", "role=server"])).toBe(srv);

    let out = "";
    for (let i = 0; i < 50 && !out.includes("web-host"); i++) {
      await Bun.sleep(100);
      out = await s.ok(["logs", cli]);
    }
    expect(out).toBe("got pong\nweb-host");
    // The CRI log format kubelet reads: "<RFC3339Nano> stdout|stderr F|P <line>".
    const raw = readFileSync(join(logs, "web", "srv.log"), "utf8").trim().split("\n");
    expect(raw[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F started$/);
    expect(raw).toContainEqual(expect.stringMatching(/ stderr F oops$/));
    expect(raw).toContainEqual(expect.stringMatching(/ stderr F .*127\.0\.0\.1.*/)); // httpd -v: the request from localhost

    const st = JSON.parse(await s.ok(["inspect", srv])).status;
    expect(st.state).toBe("CONTAINER_RUNNING");
    expect(st.logPath).toBe(join(logs, "web", "srv.log"));
    expect(st.labels).toEqual({ role: "server" });

    // ExecSync (crictl exec -s): output, exit code, the pod's shared namespaces, a timeout.
    expect(await s.ok(["exec", "-s", cli, "sh", "-c", "cat /etc/hostname; wget -qO- http://127.0.0.1:8080/"])).toBe("web-host\npong");
    let r = await s.crictl(["exec", "-s", cli, "sh", "-c", "echo bad >&2; exit 7"]);
    const failed = r;
    expect(failed.code).toBe(1); // crictl's own status; the command's is in its message
    expect(failed.stderr).toContain("exited with 7: bad");
    const slow = await s.crictl(["exec", "-s", "--timeout", "1", cli, "sleep", "30"]);
    expect(slow.code).not.toBe(0);
    expect(slow.stderr).toContain("DeadlineExceeded");
    // A PID namespace of its own (the pod asked for CONTAINER): the container's command is pid 1.
    expect(await s.ok(["exec", "-s", cli, "sh", "-c", "tr -d '\\0' < /proc/1/cmdline"])).toBe("sleep3600"); // sh -c execs its last command

    // Stats from the containers' cgroups.
    const stats = JSON.parse(await s.ok(["stats", "-o", "json", "--pod", pod])).stats;
    expect(stats.map((x: { attributes: { id: string } }) => x.attributes.id).sort()).toEqual([cli, srv].sort());
    for (const x of stats) {
      expect(Number(x.cpu.usageCoreNanoSeconds.value)).toBeGreaterThan(0);
      expect(Number(x.memory.workingSetBytes.value)).toBeGreaterThan(0);
    }
    const podStats = JSON.parse(await s.ok(["statsp", "-o", "json", "--id", pod])).stats;
    expect(podStats[0].attributes.id).toBe(pod);
    expect(Number(podStats[0].linux.process.processCount.value)).toBeGreaterThanOrEqual(3);
    expect(podStats[0].linux.network.defaultInterface.name).toBe("eth0");

    // UpdateContainerResources: the running container's cgroup gets the new limits.
    await s.ok(["update", "--memory", String(64 * 1024 * 1024), "--cpu-quota", "50000", "--cpu-period", "100000", "--cpu-share", "512", cli]);
    const cg = (ctl: string) => containerCgroups().find((c) => c.startsWith(`/sys/fs/cgroup/${ctl}/`) && c.endsWith(`berth-${cli}`))!;
    expect(readFileSync(join(cg("memory"), "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(cg("cpu"), "cpu.cfs_quota_us"), "utf8").trim()).toBe("50000");
    expect(readFileSync(join(cg("cpu"), "cpu.shares"), "utf8").trim()).toBe("512");
    r = await s.crictl(["update", "--memory", "1024", cli]);
    expect(r.stderr).toContain("code = InvalidArgument");
    expect(r.stderr).toContain("6 MiB");

    await s.ok(["stop", "-t", "1", cli]);
    const stopped = await waitState(cli, "CONTAINER_EXITED");
    expect(stopped.reason).toBe("Error");
    expect(stopped.exitCode).toBe(137); // sleep is pid 1 of its own PID namespace: SIGTERM is ignored, SIGKILL after 1 s
    await s.ok(["rm", cli]);
    expect(traces(cli)).toEqual([]);
    expect(existsSync(join(logs, "web", "cli.log"))).toBe(true); // kubelet owns the CRI logs

    await s.ok(["stopp", pod]);
    expect(JSON.parse(await s.ok(["inspectp", pod])).status.state).toBe("SANDBOX_NOTREADY");
    expect((await waitState(srv, "CONTAINER_EXITED")).state).toBe("CONTAINER_EXITED");
    expect(existsSync(join(s.cli.runroot, "netns", pod))).toBe(false); // the network goes at stop
    await s.ok(["stopp", pod]); // idempotent
    await s.ok(["rmp", pod]);
    expect(await s.ok(["pods", "-q"])).toBe("");
    expect(await s.ok(["ps", "-a", "-q"])).toBe("");
    expect([...traces(pod), ...traces(srv)]).toEqual([]);
    expect(await settled(bridgeVeths, (v) => v.length === 0)).toEqual([]);
  }, 60_000);

  test("streaming: exec -i and -it, attach (with stdin), logs -f, port-forward to a server in the pod", async () => {
    const podFile = s.file("pod-st.json", podConfig("st"));
    const pod = await s.ok(["runp", podFile]);
    const tick = await s.ok(["create", pod, s.file("tick.json", containerConfig("tick", ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"])), podFile]);
    await s.ok(["start", tick]);
    const cat = await s.ok(["create", pod, s.file("cat.json", containerConfig("cat", ["sh", "-c", "while read l; do echo got $l; done"], { stdin: true })), podFile]);
    await s.ok(["start", cat]);
    const web = await s.ok(["create", pod, s.file("web.json", containerConfig("web", ["sh", "-c", "mkdir /www; echo hello-pf > /www/index.html; exec httpd -f -p 8080 -h /www"])), podFile]);
    await s.ok(["start", web]);

    // exec (not -s): the SPDY streams, the exit code in the status, stdin with -i.
    let r = await s.crictl(["exec", tick, "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect([r.stdout, r.code]).toEqual(["out\n", 1]);
    expect(r.stderr).toContain("err\n");
    expect(r.stderr).toContain("command terminated with exit code 3");
    const withStdin = Bun.spawn([...s.crictlArgv(), "exec", "-i", tick, "sh"], { stdin: new TextEncoder().encode("read x; echo from-stdin:$x\nexit 0\n"), stdout: "pipe", stderr: "pipe" });
    expect([await new Response(withStdin.stdout).text(), await withStdin.exited]).toEqual(["from-stdin:\n", 0]);
    // -it needs a terminal on crictl's side: script(1) gives it one.
    const tty = Bun.spawn(["script", "-qec", [...s.crictlArgv(), "exec", "-it", tick, "sh", "-c", "tty; exit 5"].map((a) => `'${a}'`).join(" "), "/dev/null"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const ttyOut = await new Response(tty.stdout).text();
    expect(ttyOut).toMatch(/\/dev\/pts\/\d+\r\n/);
    expect(ttyOut).toContain("exit code 5");

    // attach: the container's own output; with -i its stdin.
    const att = Bun.spawn([...s.crictlArgv(), "attach", tick], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(800);
    att.kill("SIGKILL");
    expect((await new Response(att.stdout).text()).match(/tick \d+/g)?.length ?? 0).toBeGreaterThan(3);
    const atti = Bun.spawn([...s.crictlArgv(), "attach", "-i", cat], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    atti.stdin.write("hello\n");
    await atti.stdin.flush();
    await Bun.sleep(800);
    atti.kill("SIGKILL");
    expect(await new Response(atti.stdout).text()).toContain("got hello");

    // logs -f keeps following the CRI log file.
    const follow = Bun.spawn([...s.crictlArgv(), "logs", "-f", tick], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1000);
    follow.kill("SIGKILL");
    const lines = (await new Response(follow.stdout).text()).trim().split("\n");
    const before = (await s.ok(["logs", tick])).split("\n").length;
    expect(lines.length).toBeGreaterThan(5);
    expect(before).toBeGreaterThanOrEqual(lines.length);

    // port-forward: the client listens on the host and relays to the pod's port.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const pf = Bun.spawn([...s.crictlArgv(), "port-forward", pod, `${port}:8080`], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let body = "";
    for (let i = 0; i < 50 && body === ""; i++) {
      await Bun.sleep(100);
      body = await fetch(`http://127.0.0.1:${port}/`).then((x) => x.text(), () => "");
    }
    expect(body).toBe("hello-pf\n");
    expect(await fetch(`http://127.0.0.1:${port}/`).then((x) => x.text())).toBe("hello-pf\n");
    pf.kill("SIGKILL");
    await pf.exited;
    expect(await s.ok(["exec", "-s", web, "echo", "still-serving"])).toBe("still-serving"); // berthd is fine

    await s.ok(["rmp", "-f", pod]);
    for (const id of [pod, tick, cat, web]) expect(traces(id)).toEqual([]);
  }, 60_000);

  test("a pod sharing one PID namespace: berth-pause is its pid 1, the containers see each other", async () => {
    const podFile = s.file("pod-pid.json", podConfig("pid", { linux: { security_context: { namespace_options: { pid: 0 } } } }));
    const pod = await s.ok(["runp", podFile]);
    const a = await s.ok(["create", pod, s.file("pa.json", containerConfig("a", ["sleep", "3600"])), podFile]);
    await s.ok(["start", a]);
    const b = await s.ok(["create", pod, s.file("pb.json", containerConfig("b", ["sh", "-c", "tr -d '\\0' < /proc/1/cmdline; echo; sleep 0.5; ps -o comm | sort | uniq | tr '\\n' ' '; echo; sleep 3600"])), podFile]);
    await s.ok(["start", b]);
    let out = "";
    for (let i = 0; i < 50 && out.split("\n").length < 2; i++) {
      await Bun.sleep(100);
      out = await s.ok(["logs", b]);
    }
    const [first, procs] = out.split("\n");
    expect(first).toBe("/pause");
    expect(procs).toContain("sleep");
    expect(procs).toContain("pause");
    await s.ok(["rmp", "-f", pod]);
    for (const id of [pod, a, b]) expect(traces(id)).toEqual([]);
  }, 60_000);

  test("a container past its memory limit is reported OOMKilled", async () => {
    const pod = await s.ok(["runp", s.file("pod-oom.json", podConfig("oom"))]);
    const c = await s.ok(["create", pod, s.file("oom.json", containerConfig("hog", ["sh", "-c", "echo start; tail /dev/zero"], {
      linux: { resources: { memory_limit_in_bytes: 16 * 1024 * 1024 } },
    })), join(s.cli.dir, "pod-oom.json")]);
    await s.ok(["start", c]);
    const st = await waitState(c, "CONTAINER_EXITED");
    expect(st.state).toBe("CONTAINER_EXITED");
    expect(st.reason).toBe("OOMKilled");
    expect(st.exitCode).toBe(137);
    await s.ok(["rmp", "-f", pod]);
    expect([...traces(pod), ...traces(c)]).toEqual([]);
  }, 60_000);

  test("bad input: gRPC codes as containerd answers, naming the input, nothing half-made", async () => {
    const missing = "0".repeat(64);
    let r = await s.crictl(["inspectp", missing]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("code = NotFound");
    expect(r.stderr).toContain(missing);
    r = await s.crictl(["inspect", missing]);
    expect(r.stderr).toContain("code = NotFound");
    r = await s.crictl(["create", missing, s.file("x.json", containerConfig("x", ["true"])), s.file("pod-x.json", podConfig("x"))]);
    expect(r.stderr).toContain("code = NotFound");
    expect(r.stderr).toContain(`pod sandbox ${missing} not found`);

    const pod = await s.ok(["runp", s.file("pod-dup.json", podConfig("dup"))]);
    r = await s.crictl(["runp", join(s.cli.dir, "pod-dup.json")]);
    expect(r.stderr).toContain("code = AlreadyExists");
    expect(r.stderr).toContain("berth-test/dup");
    expect(await s.ok(["pods", "-q"])).toBe(pod);

    r = await s.crictl(["create", pod, s.file("bad.json", containerConfig("bad", ["true"], { linux: { resources: { oom_score_adj: 5000 } } })), join(s.cli.dir, "pod-dup.json")]);
    expect(r.stderr).toContain("code = InvalidArgument");
    expect(r.stderr).toContain("oom_score_adj 5000");
    r = await s.crictl(["create", pod, s.file("noimg.json", containerConfig("noimg", ["true"], { image: { image: "127.0.0.1:1/nothing:here" } })), join(s.cli.dir, "pod-dup.json")]);
    expect(r.stderr).toContain("code = NotFound");
    r = await s.crictl(["runp", s.file("pod-nameless.json", { metadata: { name: "", namespace: "n", uid: "u" } })]);
    expect(r.stderr).toContain("code = InvalidArgument");
    expect(r.stderr).toContain("metadata.name");
    expect(await s.ok(["ps", "-a", "-q"])).toBe("");
    expect(await s.ok(["pods", "-q"])).toBe(pod);

    const once = await s.ok(["create", pod, s.file("once.json", containerConfig("once", ["true"])), join(s.cli.dir, "pod-dup.json")]);
    await s.ok(["stopp", pod]);
    r = await s.crictl(["start", once]);
    expect(r.stderr).toContain("code = FailedPrecondition");
    r = await s.crictl(["create", pod, s.file("late.json", containerConfig("late", ["true"])), join(s.cli.dir, "pod-dup.json")]);
    expect(r.stderr).toContain("code = FailedPrecondition");
    await s.ok(["rmp", pod]);
    expect([...traces(pod), ...traces(once)]).toEqual([]);
  }, 60_000);

  test("kill -9 of the server with a running pod: a new one lists the pod and containers with their state", async () => {
    const pod = await s.ok(["runp", s.file("pod-k9.json", podConfig("k9"))]);
    const run = await s.ok(["create", pod, s.file("k9run.json", containerConfig("run", ["sleep", "3600"])), join(s.cli.dir, "pod-k9.json")]);
    await s.ok(["start", run]);
    const done = await s.ok(["create", pod, s.file("k9done.json", containerConfig("done", ["sh", "-c", "exit 3"])), join(s.cli.dir, "pod-k9.json")]);
    await s.ok(["start", done]);
    await waitState(done, "CONTAINER_EXITED");
    await s.stop("SIGKILL");
    await s.start();
    // kubelet's polling: list pods, list containers, each status, a few rounds.
    for (let round = 0; round < 3; round++) {
      const pods = JSON.parse(await s.ok(["pods", "-o", "json"])).items.map((p: { id: string; state: string }) => [p.id, p.state]);
      expect(pods).toEqual([[pod, "SANDBOX_READY"]]);
      const cs = Object.fromEntries(JSON.parse(await s.ok(["ps", "-a", "-o", "json"])).containers.map((c: { id: string; state: string }) => [c.id, c.state]));
      expect(cs).toEqual({ [run]: "CONTAINER_RUNNING", [done]: "CONTAINER_EXITED" });
      const st = JSON.parse(await s.ok(["inspect", done])).status;
      expect([st.exitCode, st.reason]).toEqual([3, "Error"]);
      await Bun.sleep(300);
    }
    await s.ok(["stopp", pod]);
    await s.ok(["rmp", pod]);
    expect([...traces(pod), ...traces(run), ...traces(done)]).toEqual([]);
  }, 60_000);
});

d("CRI images against a local docker-registry", () => {
  let reg: RunningRegistry;
  let pusher: Cli;
  beforeAll(async () => {
    reg = await startRegistry();
    pusher = new Cli("bt-cri-push-");
    await pusher.ok(["run", "--rm", "busybox", "true"]);
    await pusher.ok(["tag", "busybox", `${reg.host}/berth/bb:1`]);
    await pusher.ok(["push", `${reg.host}/berth/bb:1`]);
  }, 60_000);
  afterAll(async () => {
    await pusher?.cleanup();
    await reg?.stop();
  });

  test("pull, images, inspecti, imagefsinfo, rmi", async () => {
    const name = `${reg.host}/berth/bb:1`;
    await s.ok(["rmp", "-f", await s.ok(["runp", s.file("pod-img.json", podConfig("img"))])]);
    const pulled = await s.ok(["pull", name]);
    expect(pulled).toMatch(/^Image is up to date for sha256:[0-9a-f]{64}$/);
    const images = JSON.parse(await s.ok(["images", "-o", "json"])).images;
    const mine = images.find((i: { repoTags: string[] }) => i.repoTags.includes(name));
    expect(mine.id).toBe(pulled.split(" ").pop());
    expect(mine.repoDigests[0]).toMatch(new RegExp(`^${reg.host}/berth/bb@sha256:[0-9a-f]{64}$`));
    expect(Number(mine.size)).toBeGreaterThan(100_000);
    // A pod installs the built-in pause image; kubelet's image GC must keep it.
    expect(images.find((i: { repoTags: string[]; pinned: boolean }) => i.repoTags.includes("localhost/berth-pause:1"))?.pinned).toBe(true);
    expect(images.find((i: { repoTags: string[]; pinned: boolean }) => i.repoTags.includes(name))?.pinned).toBe(false);
    const st = JSON.parse(await s.ok(["inspecti", name]));
    expect(st.status.id).toBe(mine.id);
    const fs = JSON.parse(await s.ok(["imagefsinfo"]));
    expect(Number(fs.status.usedBytes.value)).toBeGreaterThan(0);
    await s.ok(["rmi", name]);
    expect(JSON.parse(await s.ok(["images", "-o", "json"])).images.some((i: { repoTags: string[] }) => i.repoTags.includes(name))).toBe(false);
    // An offline node: registry.k8s.io names come from a local mirror (the registries config).
    await pusher.ok(["tag", "busybox", `${reg.host}/pause:3.6`]);
    await pusher.ok(["push", `${reg.host}/pause:3.6`]);
    writeFileSync(join(s.cli.root, "registries.json"), JSON.stringify({ registries: { "registry.k8s.io": { mirrors: [reg.host] } } }));
    expect(await s.ok(["pull", "registry.k8s.io/pause:3.6"])).toMatch(/^Image is up to date for sha256:/);
    expect(JSON.parse(await s.ok(["inspecti", "registry.k8s.io/pause:3.6"])).status.repoTags).toEqual(["registry.k8s.io/pause:3.6"]);
    await s.ok(["rmi", "registry.k8s.io/pause:3.6"]);
    const r = await s.crictl(["pull", `${reg.host}/berth/missing:1`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("berth/missing");
  }, 60_000);
});
