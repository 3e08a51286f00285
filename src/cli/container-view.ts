// How the CLI shows a container: docker's ps STATUS text, inspect's document, the one-line
// reason a foreground run ended badly. Built from the engine's typed record (engine/containers.ts).
import type { Container } from "../engine/containers.ts";
import type { ContainerSpec } from "../engine/spec.ts";

const MiB = 1024 * 1024;
const size = (n: number) => (n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`);

/** "container was killed: out of memory (limit 16 MiB)", or the error a monitor recorded. */
export function stopReason(c: { oomKilled: boolean; error: string; exitCode: number; spec: ContainerSpec }): string | undefined {
  if (c.oomKilled) return `container was killed: out of memory${c.spec.memory ? ` (limit ${size(c.spec.memory)})` : ""}`;
  if (c.error) return c.error;
  return undefined;
}

export { statusText } from "../docker/status-text.ts";

export { dockerState } from "../docker/container-json.ts";

export function commandOf(c: Container): string[] {
  return [c.resolved.path, ...c.resolved.args].filter((x) => x !== undefined);
}
