// docker's run/create flag forms → ContainerSpec fields, as data.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseMountFlag, parseRestart, parseTmpfsFlag, parseUlimit, parseVolumeFlag, readEnvFile, specFromFlags, CONTAINER_FLAGS } from "../../src/cli/container-flags.ts";
import { parseFlags } from "../../src/cli/flags.ts";
import { parseDetachKeys } from "../../src/cli/attach-session.ts";

describe("-v, --mount, --tmpfs", () => {
  test("-v: bind, named volume, anonymous volume, options", () => {
    expect(parseVolumeFlag("/host:/ctr")).toEqual({ type: "bind", source: "/host", target: "/ctr", readOnly: false });
    expect(parseVolumeFlag("/host:/ctr:ro,rshared")).toEqual({ type: "bind", source: "/host", target: "/ctr", readOnly: true, propagation: "rshared" });
    expect(parseVolumeFlag("data:/data")).toEqual({ type: "volume", source: "data", target: "/data", readOnly: false });
    expect(parseVolumeFlag("data:/data:nocopy")).toMatchObject({ noCopy: true });
    expect(parseVolumeFlag("/data")).toEqual({ type: "volume", target: "/data" });
    expect(() => parseVolumeFlag("rel")).toThrow(/must be absolute/);
    expect(() => parseVolumeFlag("/a:/b:bogus")).toThrow(/unknown option "bogus"/);
    expect(() => parseVolumeFlag("a b:/x")).toThrow(/neither an absolute host path nor a volume name/);
  });
  test("--mount csv", () => {
    expect(parseMountFlag("type=bind,source=/a,target=/b,readonly")).toEqual({ type: "bind", source: "/a", target: "/b", readOnly: true });
    expect(parseMountFlag("type=volume,src=v,dst=/v,volume-nocopy=true")).toEqual({ type: "volume", source: "v", target: "/v", readOnly: false, noCopy: true });
    expect(parseMountFlag("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770")).toEqual({ type: "tmpfs", target: "/t", readOnly: false, tmpfsSize: 1 << 20, tmpfsMode: 0o1770 });
    expect(() => parseMountFlag("type=bind,target=/b")).toThrow(/needs source/);
    expect(() => parseMountFlag("type=nfs,target=/b")).toThrow(/not supported/);
    expect(() => parseMountFlag("type=volume,target=/b,colour=red")).toThrow(/unexpected key "colour"/);
  });
  test("--tmpfs", () => {
    expect(parseTmpfsFlag("/run:size=64m,mode=1777,noexec")).toEqual({ type: "tmpfs", target: "/run", tmpfsSize: 64 << 20, tmpfsMode: 0o1777, options: ["noexec"] });
    expect(() => parseTmpfsFlag("run")).toThrow(/absolute/);
  });
});

describe("other forms", () => {
  test("--ulimit, --restart, --detach-keys", () => {
    expect(parseUlimit("nofile=1024:2048")).toEqual({ name: "nofile", soft: 1024, hard: 2048 });
    expect(parseUlimit("nproc=10")).toEqual({ name: "nproc", soft: 10, hard: 10 });
    expect(() => parseUlimit("nofile")).toThrow(/name=soft\[:hard\]/);
    expect(parseRestart("on-failure:3")).toEqual({ name: "on-failure", maximumRetryCount: 3 });
    expect(parseRestart("unless-stopped")).toEqual({ name: "unless-stopped" });
    expect(() => parseRestart("always:2")).toThrow(/cannot be used with restart policy 'always'/);
    expect(() => parseRestart("sometimes")).toThrow(/invalid restart policy/);
    expect(parseDetachKeys("ctrl-p,ctrl-q")).toEqual([16, 17]);
    expect(parseDetachKeys("ctrl-a,x")).toEqual([1, 120]);
    expect(() => parseDetachKeys("ctrl-1")).toThrow(/invalid detach keys/);
  });
  test("--env-file: lines, comments, NAME from here, bad names", () => {
    const dir = mkdtempSync("/tmp/bt-unit-envfile-");
    const f = join(dir, "env");
    writeFileSync(f, "# comment\nA=1\n  B=two words\nHOMEISH\nMISSING\n\n");
    expect(readEnvFile(f, { HOMEISH: "here" })).toEqual(["A=1", "B=two words", "HOMEISH=here"]);
    writeFileSync(f, "BAD NAME=1\n");
    expect(() => readEnvFile(f, {})).toThrow(/:1: variable "BAD NAME" contains whitespaces/);
    expect(() => readEnvFile(join(dir, "nope"), {})).toThrow(/no such file/);
    rmSync(dir, { recursive: true, force: true });
  });
  test("a whole command line", () => {
    const p = parseFlags(["--name", "web", "-e", "A=1", "-l", "k=v", "-m", "64m", "--memory-swap", "-1", "--restart", "on-failure:2", "--cap-drop", "ALL",
      "--security-opt", "no-new-privileges", "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "--health-cmd", "true", "--health-interval", "1s", "--init", "-it", "busybox", "sh"],
      CONTAINER_FLAGS, { stopAtPositional: true, what: "berth run" });
    const s = specFromFlags(p, "busybox", ["sh"], {});
    expect(s).toMatchObject({
      name: "web", env: ["A=1"], labels: { k: "v" }, memory: 64 << 20, memorySwap: -1, restart: { name: "on-failure", maximumRetryCount: 2 },
      capDrop: ["ALL"], noNewPrivileges: true, log: { driver: "json-file", maxSize: 1 << 20, maxFiles: 2 },
      healthcheck: { test: ["CMD-SHELL", "true"], intervalMs: 1000 }, init: true, tty: true, stdin: true, command: ["sh"],
    });
  });
});
