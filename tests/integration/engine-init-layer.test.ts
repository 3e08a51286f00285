// The init layer (src/engine/init-layer.ts): the mount points a container binds over — made once
// per image in a committed snapshot under the containers' own layers, for those the image lacks —
// on real containers: what the layer holds for images with and without the files (a symlinked
// /etc, a symlinked resolv.conf, no /proc), that a container's layer stays empty, that /etc keeps
// the image's owner and mode, that two first containers of an image made at once share one, and
// that a create killed with SIGKILL (at any point, and while it makes the layer) leaves nothing the
// next prune does not collect.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH } from "./cli-helpers.ts";
import { mustRun } from "../helpers/run-command.ts";
import { mountsUnder } from "../helpers/leftovers.ts";

const busybox = "/bin/busybox";
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync(busybox) && Bun.which("umoci") !== null;
const cli = new Cli("bt-initlayer-");

/** An image from a rootfs that `shape` lays out beside a static busybox, imported as `name`. */
async function image(name: string, shape: (rootfs: string) => void): Promise<void> {
  const layout = join(cli.dir, `layout-${name.replace(/[:/]/g, "-")}`);
  const bundle = `${layout}.unpacked`;
  await mustRun(["umoci", "init", "--layout", layout]);
  await mustRun(["umoci", "new", "--image", `${layout}:1`]);
  await mustRun(["umoci", "unpack", "--image", `${layout}:1`, bundle]);
  const rootfs = join(bundle, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  writeFileSync(join(rootfs, "bin/busybox"), readFileSync(busybox), { mode: 0o755 });
  for (const a of ["sh", "cat", "ls", "stat", "sleep", "true"]) symlinkSync("busybox", join(rootfs, "bin", a));
  shape(rootfs);
  await mustRun(["umoci", "repack", "--image", `${layout}:1`, bundle]);
  await mustRun(["umoci", "config", "--image", `${layout}:1`, "--config.cmd", "sh", "--config.env", "PATH=/bin"]);
  rmSync(bundle, { recursive: true, force: true });
  await cli.ok(["import", layout, name]);
}

/** The running container's rootfs overlay: its upper dir and its lower dirs, nearest first. */
function layersOf(id: string): { upper: string; lowers: string[] } {
  const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === join(cli.runroot, "containers", id, "rootfs"));
  if (!line) throw new Error(`no rootfs mount for ${id}`);
  const opts = line.split(" - ")[1]!.split(" ")[2]!.split(",");
  const opt = (k: string) => opts.find((o) => o.startsWith(`${k}=`))!.slice(k.length + 1);
  return { upper: opt("upperdir"), lowers: opt("lowerdir").split(":") };
}

const tree = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(dir, r));
      out.push(`${r}${st.isDirectory() ? "/" : st.isSymbolicLink() ? ` -> ${readlinkSync(join(dir, r))}` : ""}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
};

// Committed init layers (not the "extract-<pid>-… <key>" snapshot a create makes one in).
const initKeys = async () => (JSON.parse(await cli.ok(["snapshots", "ls", "--format", "json"])) as { key: string }[]).map((s) => s.key).filter((k) => /^sha256:[0-9a-f]{64}-init$/.test(k));

beforeAll(async () => {
  if (!ready) return;
  // /etc owned by 7:7 with mode 0750 in the image, and none of the mount points.
  await image("bare:1", (r) => {
    mkdirSync(join(r, "etc"));
    writeFileSync(join(r, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
    chownSync(join(r, "etc"), 7, 7);
    chmodSync(join(r, "etc"), 0o750);
  });
  // Its own /etc/hosts and hostname, a resolv.conf that is a symlink, /proc /sys /dev present.
  await image("has:1", (r) => {
    for (const d of ["etc", "proc", "sys", "dev"]) mkdirSync(join(r, d));
    writeFileSync(join(r, "etc/hosts"), "10.9.9.9 fromimage\n");
    writeFileSync(join(r, "etc/hostname"), "img\n");
    symlinkSync("../run/resolv.conf", join(r, "etc/resolv.conf"));
    mkdirSync(join(r, "run"));
    writeFileSync(join(r, "run/resolv.conf"), "");
  });
  // /etc is a symlink: nothing under it is made from the host (it could point anywhere there).
  await image("etclink:1", (r) => {
    mkdirSync(join(r, "usr/etc"), { recursive: true });
    symlinkSync("usr/etc", join(r, "etc"));
  });
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("the init layer", () => {
  test("an image without the mount points: made in the init layer with /etc's owner and mode, the container's layer stays empty", async () => {
    const id = (await cli.ok(["run", "-d", "--network", "none", "bare:1", "sleep", "60"])).trim();
    const { upper, lowers } = layersOf(id);
    expect(tree(upper)).toEqual([]); // no copy-up of /etc, no mount point files
    expect(tree(lowers[0]!)).toEqual(["dev/", "etc/", "etc/hostname", "etc/hosts", "etc/resolv.conf", "proc/", "sys/"]);
    const etc = lstatSync(join(lowers[0]!, "etc"));
    expect([etc.uid, etc.gid, etc.mode & 0o7777]).toEqual([7, 7, 0o750]);
    for (const f of ["hostname", "hosts", "resolv.conf"]) expect(lstatSync(join(lowers[0]!, "etc", f)).size).toBe(0);
    // Inside, the files are berth's (bound over the empty ones); /etc is the image's.
    expect(await cli.ok(["exec", id, "cat", "/etc/hostname"])).toBe(`${id.slice(0, 12)}\n`);
    expect(await cli.ok(["exec", id, "stat", "-c", "%u:%g %a", "/etc"])).toBe("7:7 750\n");
    expect(await initKeys()).toHaveLength(1);
    // A second container reuses it.
    const id2 = (await cli.ok(["run", "-d", "--network", "none", "bare:1", "sleep", "60"])).trim();
    expect(layersOf(id2).lowers[0]).toBe(lowers[0]);
    expect(await initKeys()).toHaveLength(1);
    await cli.ok(["rm", "-f", id, id2]);
  });

  test("an image with its own files, a symlinked resolv.conf and /proc: the init layer adds nothing; the container binds over them as before", async () => {
    const id = (await cli.ok(["run", "-d", "--network", "none", "has:1", "sleep", "60"])).trim();
    const { upper, lowers } = layersOf(id);
    expect(tree(lowers[0]!)).toEqual([]); // empty: the image had every mount point
    expect(await cli.ok(["exec", id, "cat", "/etc/hosts"])).toContain("localhost");
    expect(await cli.ok(["exec", id, "cat", "/etc/hostname"])).toBe(`${id.slice(0, 12)}\n`);
    expect(tree(upper)).not.toContain("etc/hosts");
    await cli.ok(["rm", "-f", id]);
  });

  test("an image whose /etc is a symlink: the init layer makes the directories only; the container starts", async () => {
    const r = await cli.run(["run", "--rm", "--network", "none", "etclink:1", "cat", "/etc/hostname"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    const id = (await cli.ok(["run", "-d", "--network", "none", "etclink:1", "sleep", "60"])).trim();
    expect(tree(layersOf(id).lowers[0]!)).toEqual(["dev/", "proc/", "sys/"]);
    await cli.ok(["rm", "-f", id]);
  });

  test("the first create of an image killed with SIGKILL at any point: the next prune collects what it left; the image still runs", async () => {
    const delays = [5, 10, 20, 30, 45, 60, 90];
    for (const [i, delay] of delays.entries()) {
      await image(`killed${i}:1`, (r) => {
        mkdirSync(join(r, "etc"));
        writeFileSync(join(r, "etc/which"), `${i}\n`); // a layer of its own: its first create makes the init layer
      });
      const p = Bun.spawn(cli.argv(["create", "--network", "none", `killed${i}:1`, "true"]), { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
      await Bun.sleep(delay);
      p.kill("SIGKILL");
      await p.exited;
    }
    await cli.ok(["system", "prune", "-f"]);
    expect(mountsUnder(cli.root)).toEqual([]);
    const keys = (JSON.parse(await cli.ok(["snapshots", "ls", "--format", "json"])) as { key: string }[]).map((x) => x.key);
    expect(keys.filter((k) => k.startsWith("extract-"))).toEqual([]);
    expect(readdirSync(join(cli.root, "tmp")).filter((n) => n.startsWith("apply-"))).toEqual([]);
    for (const i of delays.keys()) expect(await cli.ok(["run", "--rm", "--network", "none", `killed${i}:1`, "cat", "/etc/which"])).toBe(`${i}\n`);
  });

  test("a create killed while its init layer is mounted: the next prune undoes the mount and the snapshot; the image still runs", async () => {
    // Watched for: the create's temporary mount point (root/tmp/apply-<pid>-init-*), then the
    // create is stopped and killed, before it can finish; tried on new images until it is caught.
    let caught = 0;
    const tmp = join(cli.root, "tmp");
    for (let i = 0; i < 30 && caught < 2; i++) {
      await image(`mid${i}:1`, (r) => {
        mkdirSync(join(r, "etc"));
        writeFileSync(join(r, "etc/which"), `mid${i}\n`);
      });
      const p = Bun.spawn(cli.argv(["create", "--network", "none", `mid${i}:1`, "true"]), { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
      const mark = `apply-${p.pid}-init-`;
      const t0 = Date.now();
      for (let n = 1; p.exitCode === null && Date.now() - t0 < 5000; n++) {
        if (n % 50 === 0) await Bun.sleep(0); // the event loop finishes the spawn and sees the exit
        const dir = existsSync(tmp) ? readdirSync(tmp).find((x) => x.startsWith(mark)) : undefined;
        if (dir) {
          p.kill("SIGSTOP");
          // Caught if stopped before it removed its mount point: its temporary snapshot is
          // there, and its mount may be (between the mount and the unmount).
          if (existsSync(join(tmp, dir))) caught++;
          break;
        }
      }
      p.kill("SIGKILL");
      await p.exited;
    }
    expect(caught).toBeGreaterThan(0);
    await cli.ok(["system", "prune", "-f"]);
    expect(mountsUnder(cli.root)).toEqual([]);
    expect(readdirSync(tmp).filter((n) => n.startsWith("apply-"))).toEqual([]);
    const keys = (JSON.parse(await cli.ok(["snapshots", "ls", "--format", "json"])) as { key: string }[]).map((x) => x.key);
    expect(keys.filter((k) => k.startsWith("extract-"))).toEqual([]);
    for (let i = 0; existsSync(join(cli.dir, `layout-mid${i}-1`)); i++) {
      expect(await cli.ok(["run", "--rm", "--network", "none", `mid${i}:1`, "cat", "/etc/which"])).toBe(`mid${i}\n`);
    }
  });

  test("two first containers of an image made at once share one init layer; rmi and prune take it with the image", async () => {
    const before = (await initKeys()).length;
    await cli.ok(["tag", "bare:1", "twin:1"]); // the same image by another name: the same init layer
    expect((await cli.run(["run", "--rm", "--network", "none", "twin:1", "true"])).code).toBe(0);
    expect((await initKeys()).length).toBe(before);
    await image("fresh:1", (r) => mkdirSync(join(r, "etc")));
    const made = await Promise.all([0, 1, 2].map(() => cli.run(["create", "--network", "none", "fresh:1", "true"])));
    for (const m of made) expect(m.code).toBe(0);
    expect((await initKeys()).length).toBe(before + 1);
    await cli.ok(["rm", ...made.map((m) => m.stdout.trim())]);
    await cli.ok(["rmi", "fresh:1"]);
    expect((await initKeys()).length).toBe(before);
  });
});
