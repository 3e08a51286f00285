// A running container's limits changed in place (the CRI's UpdateContainerResources; docker
// update's resource flags): checked as at create, written to its cgroup by the runtime library.
// The record's spec is not rewritten: a later start of the container uses its spec's limits
// (CRI containers start once).
import type { Engine } from "./engine.ts";
import { getContainer, type Container } from "./containers.ts";
import { checkCpuPeriod, MIN_MEMORY } from "./spec.ts";
import { failedPrecondition, invalidArgument } from "../sys/errdefs.ts";
import type { LinuxResources } from "../cgroups/resources.ts";

export interface ResourcesUpdate {
  memory?: number;
  /** memory + swap; -1 unlimited. */
  memorySwap?: number;
  cpuShares?: number;
  /** µs per period; -1 unlimited. */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export async function updateResources(e: Engine, ref: string, u: ResourcesUpdate): Promise<{ container: Container; warnings: string[] }> {
  const c = await getContainer(e, ref);
  if (c.state !== "running" && c.state !== "paused") throw failedPrecondition(`container ${c.id} is ${c.state}: only a running container's limits can be updated`, "container");
  if (u.memory !== undefined && (!Number.isSafeInteger(u.memory) || u.memory < MIN_MEMORY)) throw invalidArgument(`memory limit ${u.memory} bytes is below the minimum of 6 MiB`, "memory");
  if (u.memorySwap !== undefined && u.memorySwap !== -1 && u.memory !== undefined && u.memorySwap < u.memory) {
    throw invalidArgument(`memory+swap limit ${u.memorySwap} is less than the memory limit ${u.memory}`, "memory-swap");
  }
  if (u.cpuPeriod !== undefined) checkCpuPeriod(u.cpuPeriod);
  if (u.cpuQuota !== undefined && u.cpuQuota !== -1 && u.cpuQuota < 1000) throw invalidArgument(`cpu quota ${u.cpuQuota} µs is below 1000`, "cpu-quota");
  const r: LinuxResources = {};
  if (u.memory !== undefined || u.memorySwap !== undefined) r.memory = { ...(u.memory !== undefined ? { limit: u.memory } : {}), ...(u.memorySwap !== undefined ? { swap: u.memorySwap } : {}) };
  const cpu = {
    ...(u.cpuShares !== undefined ? { shares: u.cpuShares } : {}), ...(u.cpuQuota !== undefined ? { quota: u.cpuQuota } : {}),
    ...(u.cpuPeriod !== undefined ? { period: u.cpuPeriod } : {}), ...(u.cpusetCpus ? { cpus: u.cpusetCpus } : {}), ...(u.cpusetMems ? { mems: u.cpusetMems } : {}),
  };
  if (Object.keys(cpu).length) r.cpu = cpu;
  const { update } = await import("../runtime/operations/update.ts");
  const warnings = update(e.runtimeRoot, c.id, r);
  e.emit({ type: "container", action: "update", actor: c.id, attributes: { name: c.name, image: c.image } });
  return { container: c, warnings };
}
