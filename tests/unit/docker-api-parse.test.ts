// The Docker API front's parsers as data: the create body → ContainerSpec, query booleans and
// filters, X-Registry-Auth, -H addresses, since/until, the error statuses.
import { describe, expect, test } from "bun:test";
import { specFromCreateBody, parseBind } from "../../src/api/docker/create-body.ts";
import { ApiError, errorReply, qBool, qFilters, statusOf, type Ctx } from "../../src/api/docker/http.ts";
import { registryAuth } from "../../src/api/docker/transfer.ts";
import { socketPathOf } from "../../src/api/docker/server.ts";
import { timeParam } from "../../src/api/docker/containers.ts";
import { conflict, invalidArgument, notFound } from "../../src/sys/errdefs.ts";

const ctx = (query: string) => ({ query: new URLSearchParams(query) }) as unknown as Ctx;

describe("create body → ContainerSpec", () => {
  test("what docker run -it --rm -v -p --restart -m --cpus --cap-add --security-opt --tmpfs --log-opt sends", () => {
    const s = specFromCreateBody({
      Image: "busybox", Cmd: ["sh"], Tty: true, OpenStdin: true, Env: ["A=1"], Labels: { k: "v" }, User: "1000", WorkingDir: "/w", StopSignal: "SIGUSR1", StopTimeout: 3,
      HostConfig: {
        Binds: ["/tmp:/host:ro", "vol1:/data"], Tmpfs: { "/run": "size=64m,mode=1777,noexec" },
        Mounts: [{ Type: "tmpfs", Target: "/t", TmpfsOptions: { SizeBytes: 1024 } }, { Type: "volume", Source: "v2", Target: "/v2", VolumeOptions: { NoCopy: true } }],
        PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }], "53/udp": [{ HostPort: "5353" }] },
        RestartPolicy: { Name: "on-failure", MaximumRetryCount: 2 }, Memory: 67108864, NanoCpus: 500000000, PidsLimit: 10,
        CapAdd: ["CAP_NET_ADMIN"], CapDrop: ["CAP_CHOWN"], Privileged: false, SecurityOpt: ["no-new-privileges", "seccomp=unconfined", "label=disable"],
        Init: true, LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "2" } }, NetworkMode: "default",
        ExtraHosts: ["foo:1.2.3.4"], Dns: ["9.9.9.9"], Ulimits: [{ Name: "nofile", Soft: 100, Hard: 200 }],
      },
    }, "/web");
    expect(s).toMatchObject({
      image: "busybox", name: "web", command: ["sh"], tty: true, stdin: true, env: ["A=1"], labels: { k: "v" }, user: "1000", workdir: "/w", stopSignal: "SIGUSR1", stopTimeout: 3,
      restart: { name: "on-failure", maximumRetryCount: 2 }, memory: 67108864, cpus: 0.5, pidsLimit: 10, capAdd: ["CAP_NET_ADMIN"], capDrop: ["CAP_CHOWN"],
      noNewPrivileges: true, seccomp: "unconfined", init: true, log: { driver: "json-file", maxSize: 1024 * 1024, maxFiles: 2 }, ulimits: [{ name: "nofile", soft: 100, hard: 200 }],
    });
    expect(s.network).toEqual({
      mode: "bridge",
      ports: [{ hostIp: "127.0.0.1", hostPort: 0, containerPort: 80, protocol: "tcp" }, { hostPort: 5353, containerPort: 53, protocol: "udp" }],
      dns: { servers: ["9.9.9.9"] }, extraHosts: [{ name: "foo", ip: "1.2.3.4" }],
    });
    expect(s.mounts).toEqual([
      { type: "bind", source: "/tmp", target: "/host", readOnly: true },
      { type: "volume", source: "vol1", target: "/data", readOnly: false },
      { type: "tmpfs", target: "/t", readOnly: false, tmpfsSize: 1024 },
      { type: "volume", source: "v2", target: "/v2", readOnly: false, noCopy: true },
      { type: "tmpfs", target: "/run", options: ["noexec"], tmpfsSize: 64 * 1024 * 1024, tmpfsMode: 0o1777 },
    ]);
    expect(specFromCreateBody({ Image: "busybox", HostConfig: { AutoRemove: true, RestartPolicy: { Name: "no" } } }, undefined)).toMatchObject({ autoRemove: true });
    expect(specFromCreateBody({ Image: "busybox", Entrypoint: [] }, undefined).entrypoint).toEqual([]);
  });

  test("bad bodies are 400s that name the field", () => {
    const bad = (b: unknown, re: RegExp) => {
      let err: unknown;
      try {
        specFromCreateBody(b as never, undefined);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).message).toMatch(re);
    };
    bad({}, /Image is required/);
    bad({ Image: "b", HostConfig: { RestartPolicy: { Name: "sometimes" } } }, /restart policy 'sometimes'/);
    bad({ Image: "b", HostConfig: { Binds: ["nocolon"] } }, /HostConfig.Binds/);
    bad({ Image: "b", HostConfig: { Binds: ["bad name!:/x"] } }, /invalid characters/);
    bad({ Image: "b", HostConfig: { PortBindings: { "http/tcp": [] } } }, /invalid port "http\/tcp"/);
    bad({ Image: "b", HostConfig: { LogConfig: { Type: "syslog" } } }, /LogConfig.Type syslog/);
    bad({ Image: "b", HostConfig: { SecurityOpt: ["apparmorx=1"] } }, /SecurityOpt/);
    bad({ Image: "b", HostConfig: { Links: ["a:b"] } }, /Links/);
    bad({ Image: "b", Env: 5 }, /Env: expected a list of strings/);
    expect(parseBind("/a:/b:rshared")).toEqual({ type: "bind", source: "/a", target: "/b", readOnly: false, propagation: "rshared" });
  });
});

describe("query and headers", () => {
  test("booleans are 1/0/true/false; anything else is a 400", () => {
    expect(qBool(ctx("all=1"), "all")).toBe(true);
    expect(qBool(ctx("all=true"), "all")).toBe(true);
    expect(qBool(ctx("all=0"), "all")).toBe(false);
    expect(qBool(ctx(""), "all")).toBe(false);
    expect(qBool(ctx(""), "stream", true)).toBe(true);
    expect(() => qBool(ctx("all=yes"), "all")).toThrow(/invalid value for all/);
  });

  test("filters: map form and list form; unknown keys and bad JSON are 400s", () => {
    const f = qFilters(ctx(`filters=${encodeURIComponent('{"name":{"web":true,"off":false},"status":["running"]}')}`), ["name", "status"]);
    expect([...f]).toEqual([["name", ["web"]], ["status", ["running"]]]);
    expect(() => qFilters(ctx(`filters=${encodeURIComponent('{"colour":{"red":true}}')}`), ["name"])).toThrow(/invalid filter 'colour'/);
    expect(() => qFilters(ctx("filters={"), ["name"])).toThrow(/not JSON/);
  });

  test("X-Registry-Auth: none for {} ('e30='), credentials for the server named", () => {
    expect(registryAuth("e30=")).toBeUndefined();
    expect(registryAuth(undefined)).toBeUndefined();
    const look = registryAuth(Buffer.from(JSON.stringify({ username: "u", password: "p", serveraddress: "127.0.0.1:5000" })).toString("base64url"))!;
    expect(look("127.0.0.1:5000")).toEqual({ username: "u", password: "p" });
    expect(look("other:1")).toBeUndefined();
    expect(() => registryAuth("!!!not-base64-json")).toThrow(/X-Registry-Auth/);
  });

  test("-H: unix paths only; tcp:// is refused naming TLS", () => {
    expect(socketPathOf("unix:///run/berth/docker.sock")).toBe("/run/berth/docker.sock");
    expect(socketPathOf("/tmp/x.sock")).toBe("/tmp/x.sock");
    expect(() => socketPathOf("tcp://0.0.0.0:2375")).toThrow(/TLS/);
    expect(() => socketPathOf("unix://relative.sock")).toThrow(/absolute/);
  });

  test("since/until: unix seconds (with a fraction) or RFC 3339", () => {
    expect(timeParam("1700000000", "since")).toBe(1700000000000);
    expect(timeParam("1700000000.5", "since")).toBe(1700000000500);
    expect(timeParam("2026-01-01T00:00:00Z", "since")).toBe(Date.parse("2026-01-01T00:00:00Z"));
    expect(timeParam("0", "since")).toBe(0);
    expect(timeParam(undefined, "since")).toBeUndefined();
    expect(() => timeParam("yesterday", "since")).toThrow(/invalid value for since/);
  });

  test("the core's codes map to docker's statuses at this edge", () => {
    expect(errorReply(notFound("No such container: x"))).toEqual({ status: 404, message: "No such container: x" });
    expect(errorReply(conflict("in use")).status).toBe(409);
    expect(errorReply(invalidArgument("bad")).status).toBe(400);
    expect(errorReply(new ApiError(304, "already started")).status).toBe(304);
    expect(errorReply(new Error("boom"))).toEqual({ status: 500, message: "internal error: boom" });
    expect(statusOf("AlreadyExists")).toBe(409);
    expect(statusOf("NotImplemented")).toBe(501);
  });
});
