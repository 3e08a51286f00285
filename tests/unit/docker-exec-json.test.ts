// docker's exec inspect shape for engine exec sessions: ExitCode null until the exit, Pid only while it runs.
import { expect, test } from "bun:test";
import { execInspect } from "../../src/docker/exec-json.ts";
import type { Exec } from "../../src/engine/exec.ts";

const base: Exec = {
  id: "e1", containerId: "c1", state: "created", pid: 0, createdAt: new Date(0),
  spec: { cmd: ["sh", "-c", "ls"], tty: true, stdin: true, user: "1000", attachStdout: true, detachKeys: "ctrl-x" },
};

test("created, running and exited sessions", () => {
  expect(execInspect(base)).toEqual({
    ID: "e1", Running: false, ExitCode: null, Pid: 0, ContainerID: "c1", CanRemove: false, DetachKeys: "ctrl-x",
    ProcessConfig: { tty: true, entrypoint: "sh", arguments: ["-c", "ls"], privileged: false, user: "1000" },
    OpenStdin: true, OpenStdout: true, OpenStderr: false,
  });
  expect(execInspect({ ...base, state: "running", pid: 42 })).toMatchObject({ Running: true, ExitCode: null, Pid: 42 });
  expect(execInspect({ ...base, state: "exited", exitCode: 3 })).toMatchObject({ Running: false, ExitCode: 3, Pid: 0 });
  expect(execInspect({ ...base, spec: { cmd: ["true"] } }).ProcessConfig).toEqual({ tty: false, entrypoint: "true", arguments: [], privileged: false });
});
