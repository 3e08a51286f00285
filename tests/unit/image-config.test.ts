// Image config + run flags → OCI runtime spec, as data. A fake rootfs holds /etc/passwd and
// /etc/group; nothing here needs root.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { isBerthError } from "../../src/sys/errdefs.ts";
import {
  DOCKER_DEFAULT_CAPS, DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS, resolveGroups, resolveUser, specFromImage,
  type ImageConfig, type ResolvedUser, type SpecOptions,
} from "../../src/image/config-to-spec.ts";

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment, then a malformed line
broken
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
wheel:x:10:alice,root
audio:x:29:alice
staff:x:50:bob
alice:x:1000:
bob:x:1001:
nogroup:x:65534:
`;

let dir = "";
let rootfs = "";
let bare = "";
let linked = "";
let escaping = "";
beforeAll(() => {
  dir = mkdtempSync("/tmp/bt-imgcfg-");
  const mk = (name: string) => {
    const r = join(dir, name);
    mkdirSync(join(r, "etc"), { recursive: true });
    return r;
  };
  rootfs = mk("rootfs");
  writeFileSync(join(rootfs, "etc/passwd"), PASSWD);
  writeFileSync(join(rootfs, "etc/group"), GROUP);
  bare = mk("bare"); // no passwd, no group
  linked = mk("linked"); // /etc/passwd → /data/passwd inside the image
  mkdirSync(join(linked, "data"));
  writeFileSync(join(linked, "data/passwd"), "carol:x:2000:2000::/home/carol:/bin/sh\n");
  symlinkSync("/data/passwd", join(linked, "etc/passwd"));
  escaping = mk("escaping"); // /etc/passwd → ../../../../../../etc/passwd: must not reach the host's
  symlinkSync("../../../../../../../../etc/passwd", join(escaping, "etc/passwd"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function err(f: () => unknown): { code: string; message: string; field?: string } {
  try {
    f();
  } catch (e) {
    if (isBerthError(e)) return { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) };
    throw e;
  }
  throw new Error("expected an error");
}

describe("resolveUser against the image's /etc/passwd and /etc/group", () => {
  const cases: [string, Omit<ResolvedUser, "name"> & { name?: string }][] = [
    ["", { uid: 0, gid: 0, additionalGids: [10], home: "/root", name: "root" }],
    ["root", { uid: 0, gid: 0, additionalGids: [10], home: "/root", name: "root" }],
    ["alice", { uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/alice", name: "alice" }],
    ["1000", { uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/alice", name: "alice" }],
    ["bob", { uid: 1001, gid: 1001, additionalGids: [50], home: "/home/bob", name: "bob" }],
    ["alice:staff", { uid: 1000, gid: 50, additionalGids: [], home: "/home/alice", name: "alice" }],
    ["alice:50", { uid: 1000, gid: 50, additionalGids: [], home: "/home/alice", name: "alice" }],
    ["1001:wheel", { uid: 1001, gid: 10, additionalGids: [], home: "/home/bob", name: "bob" }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [], home: "/" }],
    ["4242:4343", { uid: 4242, gid: 4343, additionalGids: [], home: "/" }],
    ["nobody:nogroup", { uid: 65534, gid: 65534, additionalGids: [], home: "/nonexistent", name: "nobody" }],
  ];
  for (const [input, want] of cases) {
    test(`${JSON.stringify(input)} → ${want.uid}:${want.gid} +[${want.additionalGids.join(",")}]`, () => {
      expect(resolveUser(rootfs, input)).toEqual(want as ResolvedUser);
    });
  }

  const failures: [string, () => string, string, string][] = [
    ["an unknown name", () => rootfs, "mallory", "unable to find user mallory: no matching entries in passwd file"],
    ["an unknown group", () => rootfs, "alice:nogrp", "unable to find group nogrp: no matching entries in group file"],
    ["an empty group", () => rootfs, "alice:", "the group after \":\" is empty"],
    ["a uid out of range", () => rootfs, "99999999999", "out of range"],
    ["a name in an image without /etc/passwd", () => bare, "alice", "unable to find user alice: the image has no /etc/passwd"],
    ["a group name in an image without /etc/group", () => bare, "0:wheel", "unable to find group wheel: the image has no /etc/group"],
    ["a passwd symlink that climbs out of the image", () => escaping, "root", "unable to find user root"],
  ];
  for (const [what, root, input, message] of failures) {
    test(`${what} is refused, naming it`, () => {
      const e = err(() => resolveUser(root(), input));
      expect(e.message).toContain(message);
      expect(e.field).toBe("user");
    });
  }

  test("numeric forms work without any passwd or group file", () => {
    expect(resolveUser(bare, "")).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/" });
    expect(resolveUser(bare, "7:8")).toEqual({ uid: 7, gid: 8, additionalGids: [], home: "/" });
  });

  test("--group-add: names of the image's /etc/group or gids, added to the user's own groups once", () => {
    expect(resolveGroups(rootfs, ["staff", "4242", " wheel "])).toEqual([50, 4242, 10]);
    expect(resolveGroups(bare, ["7"])).toEqual([7]); // a gid needs no group file
    const e = err(() => resolveGroups(rootfs, ["nogrp"]));
    expect(e.message).toContain('unable to find group "nogrp" for --group-add');
    expect(e.field).toBe("group-add");
    expect(err(() => resolveGroups(bare, ["wheel"])).message).toContain("unable to find group");
    const s = specFromImage({ Cmd: ["id"] }, { rootfs, overrides: { user: "alice", groupAdd: ["wheel", "staff", "4242"] } }).spec;
    expect(s.process!.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29, 50, 4242] });
  });

  test("a passwd symlink is followed inside the image", () => {
    expect(resolveUser(linked, "carol")).toMatchObject({ uid: 2000, gid: 2000, home: "/home/carol" });
  });
});

describe("specFromImage", () => {
  const opts = (o: Partial<SpecOptions> = {}): SpecOptions => ({ rootfs, id: "0123456789abcdef0123", ...o });
  const nginx: ImageConfig = {
    Entrypoint: ["/docker-entrypoint.sh"],
    Cmd: ["nginx", "-g", "daemon off;"],
    Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NGINX_VERSION=1.25"],
    WorkingDir: "srv",
    StopSignal: "SIGQUIT",
    ExposedPorts: { "80/tcp": {}, "443/tcp": {} },
    Volumes: { "/var/cache/nginx": {}, "/data": {} },
    Labels: { maintainer: "someone" },
  };

  test("Docker's defaults: 14 capabilities, masked and read-only paths, /dev/shm, /dev/mqueue, /sys ro, cgroup, seccomp", () => {
    const { spec } = specFromImage({ Cmd: ["sh"] }, opts());
    expect(DOCKER_DEFAULT_CAPS.length).toBe(14);
    const caps = spec.process!.capabilities!;
    for (const set of [caps.bounding, caps.effective, caps.permitted]) expect(set).toEqual([...DOCKER_DEFAULT_CAPS]);
    expect(caps.ambient).toBeUndefined();
    expect(caps.bounding).not.toContain("CAP_SYS_ADMIN");
    expect(spec.linux!.maskedPaths).toEqual([...DOCKER_MASKED_PATHS]);
    expect(spec.linux!.readonlyPaths).toEqual([...DOCKER_READONLY_PATHS]);
    const byDest = Object.fromEntries(spec.mounts!.map((m) => [m.destination, m]));
    expect(byDest["/dev/shm"]).toMatchObject({ type: "tmpfs", options: expect.arrayContaining(["nosuid", "noexec", "nodev", "mode=1777"]) });
    expect(byDest["/dev/mqueue"]).toMatchObject({ type: "mqueue" });
    expect(byDest["/sys"]!.options).toContain("ro");
    expect(byDest["/sys/fs/cgroup"]).toMatchObject({ type: "cgroup", options: expect.arrayContaining(["ro"]) });
    expect(byDest["/proc"]).toMatchObject({ type: "proc" });
    expect(spec.linux!.namespaces!.map((n) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
    expect(spec.hostname).toBe("0123456789ab");
    expect(spec.process!.noNewPrivileges).toBe(false);
    expect(spec.linux!.seccomp!.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(spec.root).toEqual({ path: rootfs, readonly: false });
    expect(spec.process!.user).toEqual({ uid: 0, gid: 0, additionalGids: [10] });
  });

  test("Entrypoint + Cmd, Env, WorkingDir, StopSignal, and what is only reported", () => {
    const r = specFromImage({ architecture: "amd64", os: "linux", config: nginx }, opts());
    expect(r.spec.process!.args).toEqual(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]);
    expect(r.spec.process!.env).toEqual([
      "PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=0123456789ab", "NGINX_VERSION=1.25", "HOME=/root",
    ]);
    expect(r.spec.process!.cwd).toBe("/srv");
    expect(r.stopSignal).toBe("SIGQUIT");
    expect(r.exposedPorts).toEqual(["443/tcp", "80/tcp"]);
    expect(r.volumes).toEqual(["/data", "/var/cache/nginx"]);
    expect(r.labels).toEqual({ maintainer: "someone" });
    expect(r.spec.mounts!.some((m) => m.destination === "/data")).toBe(false);
  });

  const argsCases: [string, ImageConfig, SpecOptions["overrides"], string[]][] = [
    ["args replace Cmd, keep Entrypoint", nginx, { args: ["nginx", "-t"] }, ["/docker-entrypoint.sh", "nginx", "-t"]],
    ["--entrypoint drops the image's Cmd", nginx, { entrypoint: ["/bin/sh"] }, ["/bin/sh"]],
    ["--entrypoint with args", nginx, { entrypoint: ["/bin/sh"], args: ["-c", "id"] }, ["/bin/sh", "-c", "id"]],
    ["--entrypoint \"\" with args", nginx, { entrypoint: [], args: ["echo", "hi"] }, ["echo", "hi"]],
    ["Cmd alone", { Cmd: ["sh"] }, {}, ["sh"]],
    ["null Entrypoint", { Entrypoint: null, Cmd: ["top"] }, {}, ["top"]],
  ];
  for (const [what, cfg, overrides, args] of argsCases) {
    test(`args: ${what}`, () => {
      expect(specFromImage(cfg, opts({ overrides })).spec.process!.args).toEqual(args);
    });
  }

  test("no command at all is refused", () => {
    expect(err(() => specFromImage({}, opts()))).toMatchObject({ code: "InvalidArgument", field: "args" });
    expect(err(() => specFromImage(nginx, opts({ overrides: { entrypoint: [] } }))).field).toBe("args");
  });

  test("-e merges by name, NAME alone comes from the host env, TERM with a tty, HOME from the user", () => {
    const { spec } = specFromImage(nginx, opts({
      overrides: { env: ["NGINX_VERSION=2", "FROM_HOST", "UNSET_ON_HOST", "EXTRA=a=b"], tty: true, user: "alice" },
      hostEnv: { FROM_HOST: "yes" },
    }));
    expect(spec.process!.env).toEqual([
      "PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=0123456789ab", "TERM=xterm", "NGINX_VERSION=2",
      "FROM_HOST=yes", "EXTRA=a=b", "HOME=/home/alice",
    ]);
    expect(spec.process!.terminal).toBe(true);
    expect(spec.process!.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29] });
    const keepHome = specFromImage({ Cmd: ["sh"], Env: ["HOME=/custom"] }, opts()).spec.process!.env!;
    expect(keepHome.filter((e) => e.startsWith("HOME="))).toEqual(["HOME=/custom"]);
    expect(specFromImage({ Cmd: ["sh"] }, opts()).spec.process!.env![0]).toBe(
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    expect(err(() => specFromImage(nginx, opts({ overrides: { env: ["=x"] } }))).field).toBe("env");
  });

  test("user: -u beats the image's User; an unknown image User names it", () => {
    expect(specFromImage({ Cmd: ["sh"], User: "bob" }, opts()).spec.process!.user).toEqual({ uid: 1001, gid: 1001, additionalGids: [50] });
    expect(specFromImage({ Cmd: ["sh"], User: "bob" }, opts({ overrides: { user: "4242:7" } })).spec.process!.user).toEqual({ uid: 4242, gid: 7 });
    expect(err(() => specFromImage({ Cmd: ["sh"], User: "ghost" }, opts())).message).toContain("unable to find user ghost");
  });

  test("workdir: -w must be absolute and wins", () => {
    expect(specFromImage(nginx, opts({ overrides: { workdir: "/tmp/../opt/x/" } })).spec.process!.cwd).toBe("/opt/x");
    expect(err(() => specFromImage(nginx, opts({ overrides: { workdir: "rel" } })))).toMatchObject({ code: "InvalidArgument", field: "workdir" });
  });

  test("limits: --read-only, --memory, --pids-limit, --cpus", () => {
    const { spec } = specFromImage(nginx, opts({ overrides: { readOnly: true, memory: 64 << 20, pidsLimit: 100, cpus: 0.5 }, cgroupsPath: "berth-test-x" }));
    expect(spec.root!.readonly).toBe(true);
    expect(spec.linux!.resources!.memory).toEqual({ limit: 64 << 20 });
    expect(spec.linux!.resources!.pids).toEqual({ limit: 100 });
    expect(spec.linux!.resources!.cpu).toEqual({ quota: 50_000, period: 100_000 });
    expect(spec.linux!.cgroupsPath).toBe("berth-test-x");
    expect(specFromImage(nginx, opts({ overrides: { pidsLimit: -1 } })).spec.linux!.resources!.pids).toBeUndefined();
    expect(err(() => specFromImage(nginx, opts({ overrides: { memory: 1000 } })))).toMatchObject({ field: "memory" });
    expect(err(() => specFromImage(nginx, opts({ overrides: { cpus: 0 } })))).toMatchObject({ field: "cpus" });
    expect(err(() => specFromImage(nginx, opts({ overrides: { cpus: 10_000 } }))).message).toContain("CPUs available");
  });

  test("binds: host paths, :ro, parents first, replacing a default at the same place", () => {
    const src = join(dir, "bind-src");
    mkdirSync(src, { recursive: true });
    const { spec } = specFromImage(nginx, opts({
      overrides: { binds: [`${src}:/data/deep:ro`, `${src}:/data`, { source: src, destination: "/dev/shm" }] },
    }));
    const user = spec.mounts!.filter((m) => m.type === "bind");
    expect(user.map((m) => [m.destination, m.options])).toEqual([
      ["/data", ["rbind", "rw"]],
      ["/data/deep", ["rbind", "ro"]],
      ["/dev/shm", ["rbind", "rw"]],
    ]);
    expect(spec.mounts!.filter((m) => m.destination === "/dev/shm").length).toBe(1);
    expect(err(() => specFromImage(nginx, opts({ overrides: { binds: ["myvol:/data"] } })))).toMatchObject({ code: "NotImplemented", field: "binds" });
    expect(err(() => specFromImage(nginx, opts({ overrides: { binds: [`${dir}/missing:/x`] } })))).toMatchObject({ code: "NotFound" });
    expect(err(() => specFromImage(nginx, opts({ overrides: { binds: [`${src}:rel`] } }))).field).toBe("binds");
    expect(err(() => specFromImage(nginx, opts({ overrides: { binds: [`${src}:/x:bogus`] } }))).message).toContain("bogus");
    expect(err(() => specFromImage(nginx, opts({ overrides: { binds: [`${src}:/`] } }))).message).toContain("root");
  });

  test("network: none keeps an own namespace; host shares the host's and its hostname", () => {
    const none = specFromImage(nginx, opts({ overrides: { network: "none" } })).spec;
    expect(none.linux!.namespaces!.some((n) => n.type === "network")).toBe(true);
    const host = specFromImage(nginx, opts({ overrides: { network: "host" } })).spec;
    expect(host.linux!.namespaces!.some((n) => n.type === "network")).toBe(false);
    expect(host.hostname).toBe(hostname());
    expect(specFromImage(nginx, opts({ overrides: { network: "host", hostname: "h" } })).spec.hostname).toBe("h");
  });

  test("StopSignal forms; a bad one names the config field", () => {
    expect(specFromImage({ Cmd: ["sh"], StopSignal: "9" }, opts()).stopSignal).toBe("SIGKILL");
    expect(specFromImage({ Cmd: ["sh"], StopSignal: "usr1" }, opts()).stopSignal).toBe("SIGUSR1");
    expect(specFromImage({ Cmd: ["sh"] }, opts()).stopSignal).toBe("SIGTERM");
    expect(err(() => specFromImage({ Cmd: ["sh"], StopSignal: "SIGNOPE" }, opts())).field).toBe("config.StopSignal");
  });

  test("image volumes as tmpfs on request; seccomp unconfined on request; rootPath apart from rootfs", () => {
    const { spec } = specFromImage(nginx, opts({ imageVolumes: "tmpfs", seccomp: "unconfined", rootPath: "rootfs" }));
    expect(spec.mounts!.filter((m) => m.type === "tmpfs" && ["/data", "/var/cache/nginx"].includes(m.destination)).length).toBe(2);
    expect(spec.linux!.seccomp).toBeUndefined();
    expect(spec.root!.path).toBe("rootfs");
  });

  test("each call returns a fresh spec (no shared defaults)", () => {
    const a = specFromImage({ Cmd: ["sh"] }, opts()).spec;
    a.process!.capabilities!.bounding!.push("CAP_SYS_ADMIN");
    a.mounts!.pop();
    const b = specFromImage({ Cmd: ["sh"] }, opts()).spec;
    expect(b.process!.capabilities!.bounding).toEqual([...DOCKER_DEFAULT_CAPS]);
    expect(b.mounts!.length).toBe(7);
  });
});
