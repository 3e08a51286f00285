// berth cp on real containers, running and stopped: docker's path rules both ways, "-" as a tar
// stream on stdin and stdout, -a and -L, volumes and bind mounts, missing paths, and symlinks
// (in the container or in an archive) that try to lead outside the container or the destination.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync, linkSync, chownSync } from "node:fs";
import { join } from "node:path";
import { BERTH, Cli } from "./cli-helpers.ts";

/** Run a tool with binary stdin; its stdout as text. */
async function tool(argv: string[], stdin?: Uint8Array): Promise<string> {
  const p = Bun.spawn(argv, { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return out;
}
const tarOf = async (args: string[], cwd?: string) => new Uint8Array(await new Response(Bun.spawn(["tar", ...args], { stdout: "pipe", ...(cwd ? { cwd } : {}) }).stdout).arrayBuffer());

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
let cli: Cli;
let host: string;

// The container makes its own tree, with links that point out of it.
const SETUP = [
  "mkdir -p /d/sub /d/empty",
  "echo hi > /d/a",
  "echo deep > /d/sub/b",
  "ln -s /etc /d/etclink",
  "ln -s / /d/rootlink",
  "ln -s ../../../../../../../../tmp /d/uplink",
  "ln /d/a /d/hard",
  "echo container > /marker",
  "chown 1234:5678 /d/sub/b",
  "echo ready",
  "sleep 300; echo",
].join("; ");

async function until(what: string, f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}
const tree = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(p);
      out.push(st.isDirectory() ? `${r}/` : st.isSymbolicLink() ? `${r} -> ${readlinkSync(p)}` : r);
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(dir, "");
  return out;
};
/** A file's contents in the container, through `cp … -` and tar. */
async function catIn(ref: string, path: string): Promise<string> {
  const p = Bun.spawn(cli.argv(["cp", `${ref}:${path}`, "-"]), { stdout: "pipe", stderr: "pipe" });
  const tar = new Uint8Array(await new Response(p.stdout).arrayBuffer());
  expect(await p.exited).toBe(0);
  return tool(["tar", "xOf", "-"], tar);
}

beforeAll(async () => {
  cli = new Cli("bt-cp-");
  host = join(cli.dir, "host");
  mkdirSync(host);
  if (!ready) return;
  await cli.ok(["run", "-d", "--name", "c1", "--network", "none", "-v", "cpvol:/vol", "-v", `${host}:/bound`, "busybox", "sh", "-c", SETUP]);
  await until("the container's tree", async () => (await cli.ok(["logs", "c1"])).includes("ready"));
});
afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("berth cp from a container", () => {
  test("a file into a directory, onto a new name, onto an existing file", async () => {
    const out = join(cli.dir, "o1");
    mkdirSync(out);
    await cli.ok(["cp", "c1:/d/a", out]);
    expect(readFileSync(join(out, "a"), "utf8")).toBe("hi\n");
    await cli.ok(["cp", "c1:d/sub/b", join(out, "renamed")]); // relative: from the container's /
    expect(readFileSync(join(out, "renamed"), "utf8")).toBe("deep\n");
    await cli.ok(["cp", "c1:/d/a", join(out, "renamed")]);
    expect(readFileSync(join(out, "renamed"), "utf8")).toBe("hi\n");
  });

  test("a directory: new name, into a directory, its contents with /.; links kept as links, hardlinks kept", async () => {
    const out = join(cli.dir, "o2");
    await cli.ok(["cp", "c1:/d", out]); // missing: created with d's contents
    const expected = ["a", "empty/", "etclink -> /etc", "hard", "rootlink -> /", "sub/", "sub/b", "uplink -> ../../../../../../../../tmp"];
    expect(tree(out)).toEqual(expected);
    expect(statSync(join(out, "a")).ino).toBe(statSync(join(out, "hard")).ino);
    await cli.ok(["cp", "c1:/d", out]); // existing directory: d goes into it
    expect(tree(join(out, "d"))).toEqual(expected);
    const contents = join(cli.dir, "o3");
    mkdirSync(contents);
    writeFileSync(join(contents, "mine"), "x");
    await cli.ok(["cp", "c1:/d/.", contents]);
    expect(tree(contents)).toEqual(["a", "empty/", "etclink -> /etc", "hard", "mine", "rootlink -> /", "sub/", "sub/b", "uplink -> ../../../../../../../../tmp"]);
  });

  test("owners: the caller's by default, the archive's with -a", async () => {
    const out = join(cli.dir, "o4");
    mkdirSync(out);
    await cli.ok(["cp", "c1:/d/sub", out]);
    expect([statSync(join(out, "sub/b")).uid, statSync(join(out, "sub/b")).gid]).toEqual([0, 0]);
    await cli.ok(["cp", "-a", "c1:/d/sub", join(out, "a")]);
    expect([statSync(join(out, "a/b")).uid, statSync(join(out, "a/b")).gid]).toEqual([1234, 5678]);
  });

  test("-L copies what a link leads to, under the link's name; without it the link itself", async () => {
    const out = join(cli.dir, "o5");
    mkdirSync(out);
    await cli.ok(["cp", "c1:/d/etclink", out]);
    expect(lstatSync(join(out, "etclink")).isSymbolicLink()).toBe(true);
    await cli.ok(["cp", "-L", "c1:/d/etclink", join(out, "etc-copy")]);
    expect(readFileSync(join(out, "etc-copy", "hostname"), "utf8").trim()).toMatch(/^[0-9a-f]{12}$/); // the container's /etc
  });

  test("- writes the Docker API's tar to stdout", async () => {
    const p = Bun.spawn(cli.argv(["cp", "c1:/d/sub", "-"]), { stdout: "pipe" });
    const tar = new Uint8Array(await new Response(p.stdout).arrayBuffer());
    expect(await p.exited).toBe(0);
    const list = await tool(["tar", "tvf", "-"], tar);
    expect(list.trim().split("\n").map((l) => l.replace(/\s+/g, " ").replace(/ \d{4}-\d\d-\d\d \d\d:\d\d/, ""))).toEqual([
      "drwxr-xr-x 0/0 0 sub/",
      "-rw-r--r-- 1234/5678 5 sub/b",
    ]);
  });

  test("paths through the container's links stay in the container", async () => {
    // /d/rootlink/marker is the container's /marker; /d/uplink is its /tmp, not the host's.
    expect(await catIn("c1", "/d/rootlink/marker")).toBe("container\n");
    expect(await catIn("c1", "/d/rootlink/../../../marker")).toBe("container\n");
    writeFileSync(join(cli.dir, "host-only"), "host\n");
    const r = await cli.run(["cp", `c1:/d/uplink/../..${cli.dir}/host-only`, "-"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Could not find the file");
  });

  test("missing paths and bad destinations fail as docker's, with nothing written", async () => {
    const out = join(cli.dir, "o6");
    mkdirSync(out);
    let r = await cli.run(["cp", "c1:/nosuch", out]);
    expect(r).toMatchObject({ code: 1, stderr: "berth: Could not find the file /nosuch in container c1\n" });
    r = await cli.run(["cp", "c1:/d/a", join(out, "nodir/")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no such directory");
    r = await cli.run(["cp", "c1:/d/a", join(out, "nodir/x")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not exist");
    writeFileSync(join(out, "file"), "f");
    r = await cli.run(["cp", "c1:/d", join(out, "file")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot copy directory");
    r = await cli.run(["cp", "c1:/d/a/", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a directory");
    expect(readdirSync(out)).toEqual(["file"]);
    r = await cli.run(["cp", "nosuchctr:/x", out]);
    expect(r).toMatchObject({ code: 1, stderr: "berth: No such container: nosuchctr\n" });
    expect((await cli.run(["cp", "c1:/a", "c1:/b"])).stderr).toBe("berth: copying between containers is not supported\n");
    expect((await cli.run(["cp", "a", "b"])).stderr).toBe("berth: must specify at least one container source\n");
    expect((await cli.run(["cp", "a"])).code).toBe(125);
  });
});

describe.if(ready)("berth cp into a container", () => {
  const src = () => join(cli.dir, "src");
  beforeAll(() => {
    mkdirSync(join(src(), "sub"), { recursive: true });
    writeFileSync(join(src(), "f1"), "one\n");
    writeFileSync(join(src(), "sub", "f2"), "two\n");
    symlinkSync("f1", join(src(), "l1"));
    linkSync(join(src(), "f1"), join(src(), "hard"));
    chownSync(join(src(), "sub", "f2"), 4321, 8765);
  });

  test("a directory into a directory, a file onto a new name, contents with /.", async () => {
    await cli.ok(["cp", src(), "c1:/tmp"]);
    expect(await catIn("c1", "/tmp/src/sub/f2")).toBe("two\n");
    await cli.ok(["cp", join(src(), "f1"), "c1:/newname"]);
    expect(await catIn("c1", "/newname")).toBe("one\n");
    await cli.ok(["cp", `${src()}/.`, "c1:/tmp/contents"]);
    const back = join(cli.dir, "back");
    await cli.ok(["cp", "-a", "c1:/tmp/contents", back]);
    expect(tree(back)).toEqual(["f1", "hard", "l1 -> f1", "sub/", "sub/f2"]);
    expect(statSync(join(back, "f1")).ino).toBe(statSync(join(back, "hard")).ino);
    // Without -a, what lands in the container belongs to its root; with -a it keeps its owner.
    expect(statSync(join(back, "sub/f2")).uid).toBe(0);
    await cli.ok(["cp", "-a", src(), "c1:/tmp/owned"]);
    const owned = join(cli.dir, "owned");
    await cli.ok(["cp", "-a", "c1:/tmp/owned", owned]);
    expect([statSync(join(owned, "sub/f2")).uid, statSync(join(owned, "sub/f2")).gid]).toEqual([4321, 8765]);
  });

  test("a host symlink is copied as a link; with -L what it leads to, under the link's name", async () => {
    await cli.ok(["cp", join(src(), "l1"), "c1:/tmp/as-link"]);
    const p = Bun.spawn(cli.argv(["cp", "c1:/tmp/as-link", "-"]), { stdout: "pipe" });
    expect(await tool(["tar", "tvf", "-"], new Uint8Array(await new Response(p.stdout).arrayBuffer()))).toMatch(/^l.* as-link -> f1\n$/);
    await cli.ok(["cp", "-L", join(src(), "l1"), "c1:/tmp"]);
    expect(await catIn("c1", "/tmp/l1")).toBe("one\n");
  });

  test("- reads a tar from stdin into a directory; a file destination is refused", async () => {
    const tar = await tarOf(["cf", "-", "-C", src(), "."]);
    await cli.ok(["cp", "-", "c1:/tmp"], { stdin: tar });
    expect(await catIn("c1", "/tmp/f1")).toBe("one\n");
    const r = await cli.run(["cp", "-", "c1:/newname"], { stdin: tar });
    expect(r).toMatchObject({ code: 1, stderr: 'berth: destination "c1:/newname" must be a directory\n' });
  });

  test("links in the container's path lead inside it: a write through /d/rootlink or /d/uplink lands in the container", async () => {
    const marker = join(src(), "f1");
    await cli.ok(["cp", marker, "c1:/d/rootlink/tmp/via-root"]);
    await cli.ok(["cp", marker, "c1:/d/uplink/via-up"]);
    expect(existsSync("/tmp/via-root")).toBe(false);
    expect(existsSync("/tmp/via-up")).toBe(false);
    expect(await catIn("c1", "/tmp/via-root")).toBe("one\n");
    expect(await catIn("c1", "/tmp/via-up")).toBe("one\n");
  });

  test("an archive cannot write outside the destination: .., absolute names, entries under its own links", async () => {
    const evil = join(cli.dir, "evil");
    mkdirSync(evil);
    writeFileSync(join(evil, "x"), "pwned\n");
    const mk = (args: string[]) => tarOf(args, evil);
    const dotdot = await mk(["cf", "-", "--transform", "s,^,../../../../tmp/bt-escape-,", "x"]);
    let r = await cli.run(["cp", "-", "c1:/tmp"], { stdin: dotdot });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('contains ".."');
    const abs = await mk(["cf", "-", "-P", "--transform", `s,^,/tmp/bt-escape-,`, "x"]);
    r = await cli.run(["cp", "-", "c1:/tmp"], { stdin: abs });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("absolute path");
    // A link to the host's /tmp, then a file "through" it.
    symlinkSync("/tmp", join(evil, "out"));
    mkdirSync(join(evil, "staging"));
    writeFileSync(join(evil, "staging", "bt-escape-through-link"), "pwned\n");
    const link = await mk(["cf", "-", "out", "--transform", "s,^staging,out,", "staging/bt-escape-through-link"]);
    r = await cli.run(["cp", "-", "c1:/tmp"], { stdin: link });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a directory");
    expect(existsSync("/tmp/bt-escape-x")).toBe(false);
    expect(existsSync("/tmp/bt-escape-through-link")).toBe(false);
    expect(existsSync("/tmp/x")).toBe(false);
  });

  test("replacing a directory with a file (or the reverse) is refused, as docker cp does", async () => {
    // /tmp/src is a directory: a file named "sub" would replace its directory sub/.
    const f = join(cli.dir, "sub");
    writeFileSync(f, "now a file\n");
    let r = await cli.run(["cp", f, "c1:/tmp/src"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot overwrite directory "sub" with non-directory "sub"');
    expect(await catIn("c1", "/tmp/src/sub/f2")).toBe("two\n");
    // A directory named "f1" would replace the file /tmp/src/f1.
    mkdirSync(join(cli.dir, "d2", "f1"), { recursive: true });
    r = await cli.run(["cp", `${join(cli.dir, "d2")}/.`, "c1:/tmp/src"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot overwrite non-directory");
    expect(await catIn("c1", "/tmp/src/f1")).toBe("one\n");
  });
});

describe.if(ready)("volumes, bind mounts, stopped containers", () => {
  test("a running container's volume and bind mount are written through the container's view", async () => {
    await cli.ok(["cp", join(cli.dir, "src", "f1"), "c1:/vol/in-volume"]);
    const mp = (await cli.ok(["volume", "inspect", "-f", "{{.Mountpoint}}", "cpvol"])).trim();
    expect(readFileSync(join(mp, "in-volume"), "utf8")).toBe("one\n");
    await cli.ok(["cp", join(cli.dir, "src", "f1"), "c1:/bound/in-bind"]);
    expect(readFileSync(join(host, "in-bind"), "utf8")).toBe("one\n");
  });

  test("a paused container: both ways, through its frozen processes' root", async () => {
    await cli.ok(["pause", "c1"]);
    await cli.ok(["cp", join(cli.dir, "src", "f1"), "c1:/tmp/while-paused"]);
    expect(await catIn("c1", "/tmp/while-paused")).toBe("one\n");
    await cli.ok(["unpause", "c1"]);
  });

  test("a stopped container: both ways, its volume and bind mount mounted for the copy, nothing left mounted", async () => {
    await cli.ok(["stop", "-t", "0", "c1"]);
    const before = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(cli.dir)).length;
    expect(await catIn("c1", "/d/a")).toBe("hi\n");
    expect(await catIn("c1", "/vol/in-volume")).toBe("one\n");
    expect(await catIn("c1", "/bound/in-bind")).toBe("one\n");
    await cli.ok(["cp", join(cli.dir, "src", "f1"), "c1:/stopped-in"]);
    await cli.ok(["cp", join(cli.dir, "src", "f1"), "c1:/vol/stopped-vol"]);
    const mp = (await cli.ok(["volume", "inspect", "-f", "{{.Mountpoint}}", "cpvol"])).trim();
    expect(readFileSync(join(mp, "stopped-vol"), "utf8")).toBe("one\n");
    const after = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(cli.dir)).length;
    expect(after).toBe(before);
    expect(readdirSync(join(cli.root, "tmp")).filter((n) => n.includes("-cp-"))).toEqual([]);
    expect(await cli.ok(["inspect", "-f", "{{.State.Status}}", "c1"])).toBe("exited\n");
    // What was copied in is there when it runs again.
    await cli.ok(["start", "c1"]);
    expect(await catIn("c1", "/stopped-in")).toBe("one\n");
    // A container that was never started.
    await cli.ok(["create", "--name", "fresh", "busybox", "true"]);
    await cli.ok(["cp", join(cli.dir, "src"), "c1:/tmp/x"]);
    await cli.ok(["cp", join(cli.dir, "src", "f1"), "fresh:/etc/added"]);
    expect(await catIn("fresh", "/etc/added")).toBe("one\n");
  });
});

describe.if(ready)("kill -9 of a cp", () => {
  test("a cp killed while a stopped container's files are mounted: the next cp collects the mount, the container is intact", async () => {
    await cli.ok(["create", "--name", "victim", "-v", "victimvol:/vol", "busybox", "sh", "-c", "cat /bin/busybox > /dev/null; ls /vol"]);
    const mine = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(join(cli.root, "tmp", "apply-")));
    expect(mine()).toEqual([]);
    // Its stdout is never read: the archive of /bin (2 MB) blocks on the pipe with the snapshot
    // and the volume mounted.
    const p = Bun.spawn(cli.argv(["cp", "victim:/bin", "-"]), { stdout: "pipe", stderr: "ignore" });
    for (let i = 0; i < 200 && mine().length < 2; i++) await Bun.sleep(25);
    expect(mine().length).toBe(2); // the snapshot and the volume on it
    p.kill("SIGKILL");
    await p.exited;
    expect(mine().length).toBe(2);
    // The next cp (any berth process that collects dead owners) takes it down, then copies.
    expect(await catIn("victim", "/bin/busybox").then((s) => s.length > 1_000_000)).toBe(true);
    expect(mine()).toEqual([]);
    expect(readdirSync(join(cli.root, "tmp")).filter((n) => n.includes("-cp-"))).toEqual([]);
    await cli.ok(["start", "-a", "victim"]);
    expect(await cli.ok(["inspect", "-f", "{{.State.ExitCode}}", "victim"])).toBe("0\n");
    await cli.ok(["rm", "-v", "victim"]);
  }, 30_000);
});

describe.if(ready)("read-only roots and mounts", () => {
  test("a read-only rootfs or mount refuses, running and stopped; a writable volume in it takes the copy", async () => {
    const ro = join(cli.dir, "ro-src");
    mkdirSync(ro);
    await cli.ok(["run", "-d", "--name", "ro", "--read-only", "--network", "none", "-v", `${ro}:/robind:ro`, "-v", "rwvol:/rw", "busybox", "sleep", "300"]);
    const f = join(cli.dir, "src", "f1");
    for (const phase of ["running", "stopped"]) {
      let r = await cli.run(["cp", f, "ro:/robind/x"]);
      expect([phase, r.code, r.stderr]).toEqual([phase, 1, "berth: mounted volume is marked read-only: /robind in container ro\n"]);
      r = await cli.run(["cp", f, "ro:/etc/x"]);
      expect([phase, r.code, r.stderr]).toEqual([phase, 1, "berth: container rootfs is marked read-only\n"]);
      await cli.ok(["cp", f, `ro:/rw/${phase}`]);
      expect(await catIn("ro", `/rw/${phase}`)).toBe("one\n");
      expect(readdirSync(ro)).toEqual([]);
      if (phase === "running") await cli.ok(["stop", "-t", "0", "ro"]);
    }
    await cli.ok(["rm", "-v", "ro"]);
  }, 30_000);
});
