// runtime.v1.RuntimeService over the engine: each handler translates the request (translate.ts),
// calls the engine (pods.ts, containers.ts) and translates the answer. No state lives here.
import { existsSync } from "node:fs";
import type { Engine } from "../../engine/engine.ts";
import { getContainer, listContainers, removeContainer, startContainer, stopContainer, type Container } from "../../engine/containers.ts";
import { createPodContainer, getPod, listPods, removePod, runPod, stopPod } from "../../engine/pods.ts";
import { BerthError, failedPrecondition, invalidArgument, isBerthError, notFound } from "../../sys/errdefs.ts";
import { CriStats } from "./stats.ts";
import { BERTH_VERSION } from "../../sys/version.ts";
import type { StreamingServer } from "./streaming.ts";
import type { RuntimeServiceHandlers } from "./generated/runtime/v1/RuntimeService.ts";
import { checkContainerUserns, containerSpec, usernsOptionsOf, containerStatusOf, criContainerOf, matchesLabels, nanos, podRunSpec, podSandboxOf } from "./translate.ts";
import { unary, unimplemented } from "./grpc-edge.ts";

const CNI_DIR = process.env.BERTH_CNI_PATH ?? "/usr/lib/cni";

/** A list filter's id and pod sandbox id (ListContainers', ListContainerStats'), on a pod's member. */
const podMemberWhere = (f: { id?: string; pod_sandbox_id?: string } | null | undefined) => (c: Container): boolean =>
  !!c.spec.pod && (!f?.id || c.id.startsWith(f.id)) && (!f?.pod_sandbox_id || c.spec.pod.startsWith(f.pod_sandbox_id));

/** A CRI container (one that belongs to a pod) by id or unique prefix; NotFound names the id. */
async function criContainer(e: Engine, id: string, field = "container_id"): Promise<Container> {
  if (!id) throw invalidArgument(`${field} is empty`, field);
  let c: Container;
  try {
    c = await getContainer(e, id);
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw notFound(`container ${id} not found`, field);
    throw err;
  }
  if (!c.spec.pod) throw notFound(`container ${id} not found (it is ${c.spec.podSandbox ? "a pod sandbox" : "not a CRI container"})`, field);
  return c;
}

export function runtimeService(e: Engine, streaming: StreamingServer): Partial<RuntimeServiceHandlers> {
  let podCidr = "";
  const stats = new CriStats(e);
  return {
    Version: unary(async () => ({ version: "0.1.0", runtime_name: "berth", runtime_version: BERTH_VERSION, runtime_api_version: "v1" })),

    Status: unary(async (req) => {
      const cni = ["bridge", "host-local", "loopback", "portmap"].filter((p) => !existsSync(`${CNI_DIR}/${p}`));
      const conditions = [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        cni.length
          ? { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: `CNI plugins missing from ${CNI_DIR}: ${cni.join(", ")} (apt-get install containernetworking-plugins)` }
          : { type: "NetworkReady", status: true, reason: "", message: "" },
      ];
      return {
        status: { conditions },
        info: (req.verbose ? { config: JSON.stringify({ root: e.opts.root, runroot: e.opts.runroot, cniPluginDir: CNI_DIR, podCidr, storageDriver: e.opts.storageDriver }) } : {}) as Record<string, string>,
      };
    }),

    UpdateRuntimeConfig: unary(async (req) => {
      // The pod CIDR kubelet hands down; berth's CNI networks keep their own subnets (reported in Status).
      podCidr = req.runtime_config?.network_config?.pod_cidr ?? "";
      return {};
    }),

    RunPodSandbox: unary(async (req) => {
      const pod = await runPod(e, podRunSpec(req.config, req.runtime_handler));
      return { pod_sandbox_id: pod.id };
    }),

    StopPodSandbox: unary(async (req) => {
      try {
        await stopPod(e, req.pod_sandbox_id);
      } catch (err) {
        // Idempotent: a pod already removed is stopped (kubelet calls this more than once).
        if (!isBerthError(err, "NotFound")) throw err;
        if (!req.pod_sandbox_id) throw err;
      }
      return {};
    }),

    RemovePodSandbox: unary(async (req) => {
      if (!req.pod_sandbox_id) throw invalidArgument("pod_sandbox_id is empty", "pod_sandbox_id");
      await removePod(e, req.pod_sandbox_id);
      return {};
    }),

    PodSandboxStatus: unary(async (req) => {
      const pod = await getPod(e, req.pod_sandbox_id);
      const mode = (v: string) => (v === "host" ? "NODE" : v === "container" ? "CONTAINER" : "POD") as "NODE" | "CONTAINER" | "POD";
      const status = {
        ...podSandboxOf(pod),
        network: { ip: pod.ip ?? "", additional_ips: [] },
        linux: { namespaces: { options: { network: mode(pod.pod.network), pid: mode(pod.pod.pid), ipc: mode(pod.pod.ipc), target_id: "", userns_options: usernsOptionsOf(pod.pod.userns) } } },
      };
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.info = JSON.stringify({
          pid: pod.infra.pid, netNamespacePath: pod.netnsPath ?? "", image: pod.infra.spec.image, infraContainer: pod.infra.name,
          cgroupParent: pod.infra.spec.cgroupParent ?? "", hostname: pod.infra.spec.hostname ?? "",
          config: pod.pod, state: pod.infra.state, error: pod.infra.error,
        });
      }
      return { status, info, containers_statuses: [], timestamp: nanos(new Date()) };
    }),

    ListPodSandbox: unary(async (req) => {
      const f = req.filter;
      const items = (await listPods(e, { network: false })).filter((p) => {
        if (f?.id && !p.id.startsWith(f.id)) return false;
        if (f?.state && (p.state === "ready" ? "SANDBOX_READY" : "SANDBOX_NOTREADY") !== f.state.state) return false;
        return matchesLabels(p.labels, f?.label_selector);
      });
      return { items: items.map(podSandboxOf) };
    }),

    CreateContainer: unary(async (req) => {
      if (!req.pod_sandbox_id) throw invalidArgument("pod_sandbox_id is empty", "pod_sandbox_id");
      const t = containerSpec(req.config);
      checkContainerUserns(req.config, (await getPod(e, req.pod_sandbox_id)).pod.userns);
      const c = await createPodContainer(e, req.pod_sandbox_id, t.spec, { name: t.name, attempt: t.attempt, ...(t.logPath ? { logPath: t.logPath } : {}), ...(t.pidTarget ? { pidTarget: t.pidTarget } : {}) });
      return { container_id: c.id };
    }),

    StartContainer: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      if (c.state !== "created") throw failedPrecondition(`container ${c.id} is ${c.state}, not created: a CRI container starts once`, "container_id");
      await startContainer(e, c.id);
      return {};
    }),

    StopContainer: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      const timeout = Number(req.timeout);
      await stopContainer(e, c.id, { timeoutSec: Number.isFinite(timeout) && timeout > 0 ? timeout : 0 });
      return {};
    }),

    RemoveContainer: unary(async (req) => {
      let c: Container;
      try {
        c = await criContainer(e, req.container_id);
      } catch (err) {
        if (isBerthError(err, "NotFound") && req.container_id && !/it is/.test((err as Error).message)) return {}; // idempotent
        throw err;
      }
      await removeContainer(e, c.id, { force: true, volumes: true });
      return {};
    }),

    ListContainers: unary(async (req) => {
      const f = req.filter;
      // The id and the pod are the record's for good: judged before the reconcile; the state after.
      const items = (await listContainers(e, { all: true, where: podMemberWhere(f) })).filter((c) => {
        const cc = criContainerOf(c);
        if (f?.state && cc.state !== f.state.state) return false;
        return matchesLabels(cc.labels ?? {}, f?.label_selector);
      });
      return { containers: items.map(criContainerOf) };
    }),

    ContainerStatus: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.info = JSON.stringify({ pid: c.pid, sandboxID: c.spec.pod, name: c.name, spec: c.spec, resolved: c.resolved, restartCount: c.restartCount, error: c.error });
      }
      return { status: containerStatusOf(c), info };
    }),

    ExecSync: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      if (!req.cmd.length) throw invalidArgument("ExecSync: cmd is empty", "cmd");
      const timeoutSec = Number(req.timeout) || 0;
      const { createExec, startExec, finishExec, killExec } = await import("../../engine/exec.ts");
      const out: Uint8Array[] = [];
      const err: Uint8Array[] = [];
      const ex = await createExec(e, c.id, { cmd: [...req.cmd] });
      const session = await startExec(e, ex.id, { attach: { stdout: true, stderr: true, handlers: { onStdout: (d) => out.push(new Uint8Array(d)), onStderr: (d) => err.push(new Uint8Array(d)) } } });
      const done = finishExec(e, session);
      if (timeoutSec > 0) {
        const first = await Promise.race([done.then(() => "done" as const), Bun.sleep(timeoutSec * 1000).then(() => "timeout" as const)]);
        if (first === "timeout") {
          killExec(e, ex.id, 9);
          await done;
          throw new BerthError("DeadlineExceeded", `command ${JSON.stringify(req.cmd.join(" "))} in container ${c.id} timed out after ${timeoutSec}s`, "timeout");
        }
      }
      const exit = await done;
      return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exit_code: exit.exitCode };
    }),

    ContainerStats: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      return { stats: await stats.container(c) };
    }),

    ListContainerStats: unary(async (req) => {
      const f = req.filter;
      const member = podMemberWhere(f);
      const list = await listContainers(e, { all: false, where: (c) => member(c) && matchesLabels(criContainerOf(c).labels ?? {}, f?.label_selector) });
      return { stats: await Promise.all(list.map((c) => stats.container(c))) };
    }),

    PodSandboxStats: unary(async (req) => {
      const pod = await getPod(e, req.pod_sandbox_id);
      return { stats: await stats.pod(pod) };
    }),

    ListPodSandboxStats: unary(async (req) => {
      const f = req.filter;
      const pods = (await listPods(e)).filter((p) => p.state === "ready" && (!f?.id || p.id.startsWith(f.id)) && matchesLabels(p.labels, f?.label_selector));
      return { stats: await Promise.all(pods.map((p) => stats.pod(p))) };
    }),

    // kubelet's evented PLEG: the engine's persisted container events (whichever berth process
    // recorded them: berthd, or a monitor's exit command), polled every 200 ms from the moment
    // of the call, for pods' infra and member containers.
    GetContainerEvents: (call) => {
      let after = e.eventLog.lastSeq();
      let busy = false;
      const TYPES: Record<string, "CONTAINER_CREATED_EVENT" | "CONTAINER_STARTED_EVENT" | "CONTAINER_STOPPED_EVENT" | "CONTAINER_DELETED_EVENT"> = {
        create: "CONTAINER_CREATED_EVENT", start: "CONTAINER_STARTED_EVENT", die: "CONTAINER_STOPPED_EVENT", destroy: "CONTAINER_DELETED_EVENT",
      };
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          for (const ev of e.eventLog.list({ afterSeq: after })) {
            after = ev.seq;
            const type = TYPES[ev.action];
            if (ev.type !== "container" || !type || !(ev.attributes.name ?? "").startsWith("k8s_")) continue;
            let podStatus = null;
            const statuses = [];
            try {
              const c = await getContainer(e, ev.actor);
              if (c.spec.pod) statuses.push(containerStatusOf(c));
              const pod = await getPod(e, c.spec.pod ?? c.id);
              podStatus = { ...podSandboxOf(pod), network: { ip: pod.ip ?? "", additional_ips: [] } };
            } catch {
              // removed since: the event alone
            }
            call.write({ container_id: ev.actor, container_event_type: type, created_at: String(BigInt(ev.time) * 1000n), pod_sandbox_status: podStatus, containers_statuses: statuses });
          }
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick().catch(() => {}), 200);
      const stop = () => clearInterval(timer);
      call.on("cancelled", stop);
      call.on("close", stop);
      call.on("error", stop);
    },

    // Not served yet (said plainly to the client, never answered half).
    UpdateContainerResources: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      const r = req.linux;
      if (!r) throw invalidArgument("UpdateContainerResources: linux resources are missing", "linux");
      const n = (v: string, field: string) => {
        const x = Number(v || 0);
        if (!Number.isSafeInteger(x) || x < -1) throw invalidArgument(`linux.${field} ${v} is out of range`, `linux.${field}`);
        return x;
      };
      const memory = n(r.memory_limit_in_bytes, "memory_limit_in_bytes");
      const swap = n(r.memory_swap_limit_in_bytes, "memory_swap_limit_in_bytes");
      const shares = n(r.cpu_shares, "cpu_shares");
      const quota = n(r.cpu_quota, "cpu_quota");
      const period = n(r.cpu_period, "cpu_period");
      const { updateResources } = await import("../../engine/update.ts");
      await updateResources(e, c.id, {
        // containerd's rule: no swap beyond the memory limit unless the request gives one.
        ...(memory > 0 ? { memory, memorySwap: swap > 0 ? swap : memory } : {}),
        ...(shares > 0 ? { cpuShares: shares } : {}), ...(quota !== 0 ? { cpuQuota: quota } : {}), ...(period > 0 ? { cpuPeriod: period } : {}),
        ...(r.cpuset_cpus ? { cpusetCpus: r.cpuset_cpus } : {}), ...(r.cpuset_mems ? { cpusetMems: r.cpuset_mems } : {}),
      });
      return {};
    }),
    ReopenContainerLog: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      const { reopenContainerLog } = await import("../../engine/logs.ts");
      await reopenContainerLog(e, c);
      return {};
    }),
    Exec: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      if (!req.cmd.length) throw invalidArgument("Exec: cmd is empty", "cmd");
      if (c.state !== "running") throw failedPrecondition(`container ${c.id} is not running`, "container_id");
      if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument("Exec: one of stdin, stdout and stderr must be set", "stdout");
      if (req.tty && req.stderr) throw invalidArgument("Exec: tty and stderr cannot both be set (a terminal has one output)", "stderr");
      return { url: streaming.url({ kind: "exec", container: c, cmd: [...req.cmd], tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
    }),

    Attach: unary(async (req) => {
      const c = await criContainer(e, req.container_id);
      if (c.state !== "running") throw failedPrecondition(`container ${c.id} is not running`, "container_id");
      if (req.stdin && !c.spec.stdin) throw invalidArgument(`Attach: container ${c.id} was created without stdin`, "stdin");
      if (req.tty !== (c.spec.tty ?? false)) throw invalidArgument(`Attach: tty ${req.tty} does not match the container's (${c.spec.tty ?? false})`, "tty");
      return { url: streaming.url({ kind: "attach", container: c, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
    }),

    PortForward: unary(async (req) => {
      const pod = await getPod(e, req.pod_sandbox_id);
      if (pod.state !== "ready") throw failedPrecondition(`pod sandbox ${pod.id} is not ready`, "pod_sandbox_id");
      return { url: streaming.url({ kind: "portforward", pod }) };
    }),
    CheckpointContainer: unimplemented("CheckpointContainer (CRIU does not work on this kernel)"),
    ListMetricDescriptors: unimplemented("ListMetricDescriptors"),
    ListPodSandboxMetrics: unimplemented("ListPodSandboxMetrics"),
  };
}
