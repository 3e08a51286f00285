// State that must be one per process, not one per copy of the module that keeps it: berthd loads
// its CRI front as a bundle of its own (build/berth-cri.js), so one process can hold two copies of
// the engine's modules. Such state lives on globalThis under a registered symbol, `berth.<name>`.
export function perProcess<T>(name: string, make: () => T): T {
  const g = globalThis as Record<symbol, unknown>;
  const key = Symbol.for(`berth.${name}`);
  return (g[key] ??= make()) as T;
}
