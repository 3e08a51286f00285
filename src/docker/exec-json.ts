// docker's exec inspect document (GET /exec/{id}/json) for an engine exec session.
import type { Exec } from "../engine/exec.ts";

export function execInspect(x: Exec): Record<string, unknown> {
  const s = x.spec;
  return {
    ID: x.id,
    Running: x.state === "running",
    ExitCode: x.state === "exited" ? (x.exitCode ?? null) : null,
    ProcessConfig: { tty: s.tty ?? false, entrypoint: s.cmd[0] ?? "", arguments: s.cmd.slice(1), privileged: s.privileged ?? false, ...(s.user ? { user: s.user } : {}) },
    OpenStdin: s.stdin ?? false,
    OpenStderr: s.attachStderr ?? false,
    OpenStdout: s.attachStdout ?? false,
    CanRemove: false,
    ContainerID: x.containerId,
    DetachKeys: s.detachKeys ?? "",
    Pid: x.state === "running" ? x.pid : 0,
  };
}
