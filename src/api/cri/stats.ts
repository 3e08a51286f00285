// The engine's cgroup samples (engine/stats.ts) in the CRI's shapes: ContainerStats (CPU time and
// nano-cores, memory working set as kubelet counts it — usage less inactive file pages — the
// writable layer) and PodSandboxStats (the pod's containers summed, its network interfaces,
// its process count). usage_nano_cores needs two samples: the last one per container is kept.
import type { Engine } from "../../engine/engine.ts";
import type { Container } from "../../engine/containers.ts";
import { podMembers, type Pod } from "../../engine/pods.ts";
import { sampleContainer, type StatsSample } from "../../engine/stats.ts";
import type { ContainerStats } from "./generated/runtime/v1/ContainerStats.ts";
import type { PodSandboxStats } from "./generated/runtime/v1/PodSandboxStats.ts";
import { criContainerOf, nanos } from "./translate.ts";

const u64 = (n: number) => ({ value: String(Math.max(0, Math.round(n))) });

export class CriStats {
  private last = new Map<string, { at: bigint; cpuNs: number }>();
  constructor(private readonly e: Engine) {}

  private nanoCores(id: string, at: bigint, cpuNs: number): number {
    const prev = this.last.get(id);
    this.last.set(id, { at, cpuNs });
    if (!prev || at <= prev.at || cpuNs < prev.cpuNs) return 0;
    return ((cpuNs - prev.cpuNs) * 1e9) / Number(at - prev.at);
  }

  private figures(s: StatsSample) {
    const at = BigInt(nanos(s.read ?? new Date()));
    const m = s.memory;
    const inactive = m ? (m.stats.total_inactive_file ?? m.stats.inactive_file ?? 0) : 0;
    const working = m ? Math.max(0, m.usage - inactive) : 0;
    return {
      at,
      cpu: { timestamp: at.toString(), usage_core_nano_seconds: u64(s.cpu.totalNs), usage_nano_cores: u64(this.nanoCores(s.id, at, s.cpu.totalNs)) },
      memory: {
        timestamp: at.toString(), working_set_bytes: u64(working), usage_bytes: u64(m?.usage ?? 0),
        available_bytes: u64(m && m.limit > 0 ? m.limit - working : 0),
        rss_bytes: u64(m ? (m.stats.total_rss ?? m.stats.rss ?? m.stats.anon ?? 0) : 0),
        page_faults: u64(m ? (m.stats.total_pgfault ?? m.stats.pgfault ?? 0) : 0),
        major_page_faults: u64(m ? (m.stats.total_pgmajfault ?? m.stats.pgmajfault ?? 0) : 0),
      },
    };
  }

  async container(c: Container): Promise<ContainerStats> {
    const s = await sampleContainer(this.e, c);
    const f = this.figures(s);
    const sn = await this.e.snapshotter();
    const used = await sn.usage(c.snapshotKey).catch(() => ({ size: 0, inodes: 0 }));
    const cc = criContainerOf(c);
    return {
      attributes: { id: c.id, metadata: cc.metadata ?? null, labels: cc.labels ?? {}, annotations: cc.annotations ?? {} },
      cpu: f.cpu, memory: f.memory,
      writable_layer: { timestamp: f.at.toString(), fs_id: { mountpoint: this.e.opts.root }, used_bytes: u64(used.size), inodes_used: u64((used as { inodes?: number }).inodes ?? 0) },
    };
  }

  async pod(p: Pod): Promise<PodSandboxStats> {
    const members = (await podMembers(this.e, p.id)).filter((c) => c.state === "running");
    const containers = await Promise.all(members.map((c) => this.container(c)));
    const infra = await sampleContainer(this.e, p.infra);
    const all = [infra, ...(await Promise.all(members.map((c) => sampleContainer(this.e, c))))];
    const sum = (f: (s: StatsSample) => number) => all.reduce((a, s) => a + f(s), 0);
    const at = nanos(new Date());
    const cpuNs = sum((s) => s.cpu.totalNs);
    const working = sum((s) => (s.memory ? Math.max(0, s.memory.usage - (s.memory.stats.total_inactive_file ?? s.memory.stats.inactive_file ?? 0)) : 0));
    const ifaces = Object.entries(infra.networks ?? {}).map(([name, n]) => ({ name, rx_bytes: u64(n.rxBytes), rx_errors: u64(n.rxErrors), tx_bytes: u64(n.txBytes), tx_errors: u64(n.txErrors) }));
    return {
      attributes: { id: p.id, metadata: { name: p.pod.name, uid: p.pod.uid, namespace: p.pod.namespace, attempt: p.pod.attempt }, labels: p.labels, annotations: p.annotations },
      linux: {
        cpu: { timestamp: at, usage_core_nano_seconds: u64(cpuNs), usage_nano_cores: u64(this.nanoCores(`pod:${p.id}`, BigInt(at), cpuNs)) },
        memory: { timestamp: at, working_set_bytes: u64(working), usage_bytes: u64(sum((s) => s.memory?.usage ?? 0)) },
        network: { timestamp: at, default_interface: ifaces.find((i) => i.name === "eth0") ?? ifaces[0] ?? null, interfaces: ifaces },
        process: { timestamp: at, process_count: u64(sum((s) => s.pids?.current ?? 0)) },
        containers,
      },
    };
  }
}
