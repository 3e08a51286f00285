// The built-in busybox image end to end: built from the host's busybox-static into a content
// store, the metadata DB and an OCI layout; read back by skopeo and umoci; unpacked into
// snapshots of both snapshotters; and run — with chroot, and as a container built by
// config-to-spec.ts and started by the runtime library's run().

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalContentStore } from "../../src/content/index.ts";
import { ImageStore, MetadataDB, NamespacedContentStore, childrenOf } from "../../src/metadata/index.ts";
import { BUILTIN_BUSYBOX_NAME, buildBusyboxImage, installBuiltinBusybox, type BuiltImage } from "../../src/image/builtin-busybox.ts";
import { specFromImage, type ImageConfigFile } from "../../src/image/config-to-spec.ts";
import {
  NativeSnapshotter, OverlaySnapshotter, applyLayers, chainIDs, mountAll, unmountAll, type Snapshotter,
} from "../../src/snapshots/index.ts";
import { mountsUnder } from "../helpers/leftovers.ts";
import { leftoverCgroups } from "../lib/runtime.ts";

const TOP = join(import.meta.dir, "../..");
const haveBusybox = existsSync("/bin/busybox");
const isRoot = process.getuid?.() === 0;

let tmp = "";
let meta: MetadataDB;
let img: BuiltImage;
const mounted: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync("/tmp/bt-builtin-");
  meta = new MetadataDB(join(tmp, "data", "meta.db"));
  if (!haveBusybox) return;
  const content = new NamespacedContentStore(meta, new LocalContentStore(join(tmp, "data")), "default");
  img = await installBuiltinBusybox({ content, images: new ImageStore(meta, "default"), layout: join(tmp, "layout") });
});

afterAll(() => {
  for (const t of mounted.reverse()) {
    try {
      unmountAll(t, { detach: true });
    } catch {}
  }
  for (const m of mountsUnder(tmp)) unmountAll(m, { detach: true });
  meta.close();
  expect(mountsUnder(tmp)).toEqual([]);
  rmSync(tmp, { recursive: true, force: true });
  expect(leftoverCgroups()).toEqual([]);
});

function sh(argv: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe.if(haveBusybox)("built-in busybox image", () => {
  test("is registered as docker.io/library/busybox:latest and every blob is in the namespace", async () => {
    const image = new ImageStore(meta, "default").get(BUILTIN_BUSYBOX_NAME);
    expect(image.target).toEqual(img.index);
    const content = new NamespacedContentStore(meta, new LocalContentStore(join(tmp, "data")), "default");
    const index = await content.read(img.index.digest);
    const [manifest] = childrenOf(img.index.mediaType, index);
    expect(manifest).toMatchObject({ digest: img.manifest.digest, platform: { os: "linux", architecture: "amd64" } });
    const kids = childrenOf(img.manifest.mediaType, await content.read(img.manifest.digest)).map((d) => d.digest);
    expect(kids.sort()).toEqual([img.config.digest, img.layer.digest].sort());
    const config = JSON.parse(new TextDecoder().decode(await content.read(img.config.digest))) as ImageConfigFile;
    expect(config.config).toEqual({ Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] });
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: [img.diffID] });
    expect((await content.info(img.layer.digest)).size).toBe(img.layer.size);
  });

  test("the same busybox binary gives the same digests", async () => {
    const again = await buildBusyboxImage();
    expect([again.layer.digest, again.config.digest, again.manifest.digest, again.index.digest]).toEqual([
      img.layer.digest, img.config.digest, img.manifest.digest, img.index.digest,
    ]);
  });

  test("skopeo inspect reads the layout", () => {
    const r = sh(["skopeo", "inspect", `oci:${join(tmp, "layout")}:latest`]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { Digest: string; Architecture: string; Os: string; Layers: string[]; Env: string[] };
    expect(out.Digest).toBe(img.index.digest);
    expect(out.Architecture).toBe("amd64");
    expect(out.Os).toBe("linux");
    expect(out.Layers).toEqual([img.layer.digest]);
    const cfg = JSON.parse(sh(["skopeo", "inspect", "--config", `oci:${join(tmp, "layout")}:latest`]).stdout) as ImageConfigFile;
    expect(cfg.config?.Cmd).toEqual(["sh"]);
  });

  test("umoci lists the tag and unpacks a rootfs with busybox and its applets", () => {
    const layout = join(tmp, "layout");
    expect(sh(["umoci", "ls", "--layout", layout]).stdout.trim()).toBe("latest");
    const stat = sh(["umoci", "stat", "--image", `${layout}:latest`, "--json"]);
    expect(stat.code).toBe(0);
    const bundle = join(tmp, "umoci-bundle");
    const r = sh(["umoci", "unpack", "--image", `${layout}:latest`, bundle]);
    expect(r.stderr).toBe("");
    expect(readlinkSync(join(bundle, "rootfs/bin/sh"))).toBe("busybox");
    expect(lstatSync(join(bundle, "rootfs/tmp")).mode & 0o7777).toBe(0o1777);
    rmSync(bundle, { recursive: true, force: true });
  });

  const snapshotters: [string, (root: string) => Snapshotter][] = [
    ["overlay", (root) => new OverlaySnapshotter({ root, db: meta.db })],
    ["native", (root) => new NativeSnapshotter({ root, db: meta.db })],
  ];
  for (const [name, make] of snapshotters) {
    test.if(isRoot)(`unpacked into ${name} snapshots it is a working rootfs (chroot)`, async () => {
      const sn = make(join(tmp, "data", "snapshots", name));
      const work = join(tmp, `work-${name}`);
      mkdirSync(work, { recursive: true });
      const blob = img.blobs.get(img.layer.digest)!;
      const { chainID, unpacked } = await applyLayers(sn, [{ diffID: img.diffID, data: async () => blob }], work);
      expect(chainID).toBe(chainIDs([img.diffID])[0]!);
      expect(unpacked.length).toBe(1);
      // A second unpack reuses the committed layer.
      expect((await applyLayers(sn, [{ diffID: img.diffID, data: async () => { throw new Error("must not be read"); } }], work)).unpacked).toEqual([]);
      const target = join(work, "rootfs");
      mkdirSync(target);
      mounted.push(target);
      mountAll(await sn.prepare(`chroot-${name}`, chainID), target);
      try {
        const r = sh(["chroot", target, "/bin/busybox", "echo", "ok"]);
        expect(r.stdout).toBe("ok\n");
        expect(sh(["chroot", target, "/bin/sh", "-c", "id -un; ls /bin | wc -l"]).stdout.split("\n")[0]).toBe("root");
      } finally {
        unmountAll(target);
      }
      await sn.remove(`chroot-${name}`);
      await sn.close();
    });
  }

  test.if(isRoot)("runs as a container: config-to-spec + runtime run() print ok", async () => {
    const sn = new OverlaySnapshotter({ root: join(tmp, "data", "snapshots", "overlay-run"), db: meta.db, scope: "overlay-run" });
    const work = join(tmp, "work-run");
    mkdirSync(work, { recursive: true });
    const blob = img.blobs.get(img.layer.digest)!;
    const { chainID } = await applyLayers(sn, [{ diffID: img.diffID, data: async () => blob }], work);
    const bundle = join(tmp, "bundle");
    const rootfs = join(bundle, "rootfs");
    mkdirSync(rootfs, { recursive: true });
    mounted.push(rootfs);
    mountAll(await sn.prepare("container-1", chainID), rootfs);
    const runtimeRoot = join(tmp, "runtime-root");
    try {
      const config = JSON.parse(new TextDecoder().decode(img.blobs.get(img.config.digest)!)) as ImageConfigFile;
      const cgroupsPath = `berth-test-${process.pid}-builtin`;
      const { spec } = specFromImage(config, { rootfs, id: "builtin-run-1", cgroupsPath, overrides: { args: ["bin/busybox", "echo", "ok"] } });
      expect(spec.process!.args).toEqual(["bin/busybox", "echo", "ok"]);
      writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
      const p = Bun.spawn([process.execPath, join(TOP, "tests/integration/builtin-image-driver.ts"), runtimeRoot, "builtin-run-1", bundle], {
        stdout: "pipe", stderr: "pipe", cwd: TOP,
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(out).toBe("ok\n");
      expect(code).toBe(0);
      // Through the image's own PATH and Cmd too: `sh -c` with the user resolved from /etc/passwd.
      const { spec: spec2 } = specFromImage(config, { rootfs, id: "builtin-run-2", cgroupsPath, overrides: { args: ["sh", "-c", "echo $(id -u):$HOME:$HOSTNAME"], user: "nobody" } });
      writeFileSync(join(bundle, "config.json"), JSON.stringify(spec2));
      const p2 = Bun.spawn([process.execPath, join(TOP, "tests/integration/builtin-image-driver.ts"), runtimeRoot, "builtin-run-2", bundle], { stdout: "pipe", stderr: "pipe", cwd: TOP });
      const [out2, err2] = await Promise.all([new Response(p2.stdout).text(), new Response(p2.stderr).text(), p2.exited]);
      expect(err2).toBe("");
      expect(out2).toBe("65534:/home:builtin-run-\n");
    } finally {
      unmountAll(rootfs);
      await sn.remove("container-1");
      await sn.close();
    }
  });
});
