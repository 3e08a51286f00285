// The image verbs of the compiled CLI against real peers: a Debian docker-registry on 127.0.0.1
// (push, pull, round trip; interop with skopeo), save → load on a fresh root, import of OCI
// layouts written by umoci and skopeo, tag/rmi/images/inspect.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Cli, BERTH } from "./cli-helpers.ts";
import { startRegistry, type RunningRegistry } from "./registry-harness.ts";
import { makeBusyboxOciLayout } from "../helpers/busybox-oci-image.ts";
import { mustRun } from "../helpers/run-command.ts";

const have = (bin: string) => Bun.spawnSync(["sh", "-c", `command -v ${bin}`]).exitCode === 0;
const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox") && have("docker-registry") && have("skopeo") && have("umoci");
let a: Cli;
let b: Cli;
let reg: RunningRegistry | undefined;

beforeAll(async () => {
  a = new Cli("bt-cli-a-");
  b = new Cli("bt-cli-b-");
  if (ready) reg = await startRegistry();
});

afterAll(async () => {
  await reg?.stop();
  // Clean up both stores before asserting, so one failure cannot leave the other behind.
  const lefts = [await a.cleanup(), await b.cleanup()];
  for (const left of lefts) {
    expect(left.mounts).toEqual([]);
    expect(left.cgroups).toEqual([]);
  }
});

describe.if(ready)("berth images, pull, push, save, load, import", () => {
  test("images, tag, rmi, inspect of the built-in busybox", async () => {
    expect(await a.ok(["run", "--rm", "busybox", "true"])).toBe("");
    const list = await a.ok(["images"]);
    expect(list).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+[0-9a-f]{12}\s+.+ ago\s+[\d.]+[kM]B\n$/);
    const id = (await a.ok(["images", "-q"])).trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(await a.ok(["tag", "busybox", "example.com/tools/bb:v1"])).toBe("");
    expect(await a.ok(["images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"])).toBe(`busybox latest ${id}\nexample.com/tools/bb v1 ${id}\n`);
    const line = JSON.parse((await a.ok(["images", "--format", "json"])).split("\n")[0]!) as { Repository: string; Tag: string; ID: string };
    expect(line).toMatchObject({ Repository: "busybox", Tag: "latest", ID: id });
    expect((await a.ok(["images", "-q"])).trim()).toBe(id);
    const doc = JSON.parse(await a.ok(["inspect", id])) as { Id: string; RepoTags: string[]; Os: string; Architecture: string; Config: { Cmd: string[] }; RootFS: { Layers: string[] } }[];
    expect(doc[0]!.Id.startsWith(`sha256:${id}`)).toBe(true);
    expect(doc[0]!.RepoTags.sort()).toEqual(["busybox:latest", "example.com/tools/bb:v1"]);
    expect(doc[0]).toMatchObject({ Os: "linux", Architecture: "amd64", Config: { Cmd: ["sh"] } });
    expect(doc[0]!.RootFS.Layers.length).toBe(1);
    // Two names: removing one only untags; by ID needs -f.
    expect(await a.ok(["rmi", "example.com/tools/bb:v1"])).toBe("Untagged: example.com/tools/bb:v1\n");
    await a.ok(["tag", id, "bb2"]);
    expect((await a.run(["rmi", id])).code).toBe(1);
    const forced = await a.ok(["rmi", "-f", id]);
    expect(forced).toContain("Untagged: bb2:latest");
    expect(forced).toContain(`Deleted: sha256:${id}`);
    expect(await a.ok(["images", "-q"])).toBe("");
    const none = await a.run(["inspect", "nothing-here"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("No such object");
  });

  test("push to a docker-registry, pull on a fresh root, run what was pulled", async () => {
    const name = `${reg!.host}/berth/busybox:round`;
    await a.ok(["tag", "busybox", name]).catch(async () => {
      await a.ok(["run", "--rm", "busybox", "true"]);
      await a.ok(["tag", "busybox", name]);
    });
    const pushed = await a.ok(["push", name]);
    expect(pushed).toContain(`The push refers to repository [${reg!.host}/berth/busybox]`);
    expect(pushed).toMatch(/round: digest: sha256:[0-9a-f]{64} size: \d+/);
    const pulled = await b.ok(["pull", name]);
    expect(pulled).toContain("Pull complete");
    expect(pulled.trim().split("\n").at(-1)).toBe(name);
    expect(await b.ok(["run", "--rm", name, "echo", "pulled"])).toBe("pulled\n");
    expect((await b.ok(["images", "-q"])).trim()).toBe((await a.ok(["images", "-q", name])).trim());
    // skopeo reads what berth pushed.
    const inspect = JSON.parse((await mustRun(["skopeo", "inspect", "--tls-verify=false", `docker://${name}`])).stdout) as { Os: string };
    expect(inspect.Os).toBe("linux");
    // A second pull transfers nothing.
    expect(await b.ok(["pull", "-q", name])).toBe(`${name}\n`);
    await b.ok(["rmi", name]);
  });

  test("berth pull of an image skopeo pushed (umoci-built layout)", async () => {
    const layout = join(a.dir, "umoci-layout");
    await makeBusyboxOciLayout(layout);
    const name = `${reg!.host}/skopeo/busybox:v1`;
    await mustRun(["skopeo", "copy", "--dest-tls-verify=false", `oci:${layout}:latest`, `docker://${name}`]);
    await b.ok(["pull", "-q", name]);
    expect(await b.ok(["run", "--rm", name, "sh", "-c", "echo $PATH"])).toBe("/bin\n");
    await b.ok(["rmi", name]);
  });

  test("save → load round trip onto a fresh root; skopeo reads the archive as an OCI layout", async () => {
    await a.ok(["run", "--rm", "busybox", "true"]);
    await a.ok(["tag", "busybox", "saved/one:1"]);
    const tar = join(a.dir, "saved.tar");
    expect(await a.ok(["save", "-o", tar, "saved/one:1", "busybox"])).toBe("");
    const listing = (await mustRun(["tar", "tf", tar])).stdout.split("\n");
    expect(listing).toContain("manifest.json");
    expect(listing).toContain("index.json");
    expect(listing).toContain("oci-layout");
    const fresh = new Cli("bt-cli-c-");
    try {
      const loaded = await fresh.ok(["load", "-i", tar]);
      expect(loaded.split("\n").filter(Boolean).sort()).toEqual(["Loaded image: busybox:latest", "Loaded image: saved/one:1"]);
      expect(await fresh.ok(["run", "--rm", "saved/one:1", "echo", "loaded"])).toBe("loaded\n");
      // From STDIN too, and the same IDs as the source.
      const viaStdin = new Cli("bt-cli-d-");
      try {
        expect(await viaStdin.ok(["load"], { stdin: await Bun.file(tar).bytes() })).toContain("Loaded image: saved/one:1");
        expect(await viaStdin.ok(["images", "-q"])).toBe(await a.ok(["images", "-q"]));
      } finally {
        await viaStdin.cleanup();
      }
    } finally {
      await fresh.cleanup();
    }
    const layoutDir = join(a.dir, "saved-layout");
    mkdirSync(layoutDir);
    await mustRun(["tar", "-C", layoutDir, "-xf", tar]);
    const out = JSON.parse((await mustRun(["skopeo", "inspect", `oci:${layoutDir}:1`])).stdout) as { Os: string };
    expect(out.Os).toBe("linux");
    // stdout is the default output.
    const p = Bun.spawnSync(a.argv(["save", "busybox"]), { stdout: "pipe" });
    expect(p.exitCode).toBe(0);
    expect(p.stdout.length).toBeGreaterThan(1000);
  });

  test("import: an umoci layout directory, a skopeo copy of it, and a tar of it", async () => {
    const layout = join(b.dir, "umoci-import");
    await makeBusyboxOciLayout(layout);
    const out = await b.ok(["import", layout, "imported/umoci:v1"]);
    expect(out).toMatch(/^sha256:[0-9a-f]{64}\timported\/umoci:v1\n$/);
    expect(await b.ok(["run", "--rm", "imported/umoci:v1", "echo", "umoci"])).toBe("umoci\n");
    const copy = join(b.dir, "skopeocopy");
    await mustRun(["skopeo", "copy", `oci:${layout}:latest`, `oci:${copy}:v2`]);
    // Without a name: podman's rule, the directory names the repository, ref.name the tag.
    expect(await b.ok(["import", copy])).toMatch(/\tlocalhost\/skopeocopy:v2\n$/);
    expect(await b.ok(["run", "--rm", "localhost/skopeocopy:v2", "echo", "skopeo"])).toBe("skopeo\n");
    const tar = join(b.dir, "layout.tar");
    await mustRun(["tar", "-C", layout, "-cf", tar, "."]);
    expect(await b.ok(["import", tar, "imported/tar"])).toMatch(/\timported\/tar:latest\n$/);
    const bad = await b.run(["import", join(b.dir, "nowhere")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("no such file");
  });

  test("import NAME:TAG of a layout with two images is refused before anything is written; NAME alone keeps each tag", async () => {
    const layout = join(b.dir, "two");
    await makeBusyboxOciLayout(layout, "one");
    await mustRun(["skopeo", "copy", `oci:${layout}:one`, `oci:${layout}:two`]);
    const before = await b.ok(["images", "-q", "--no-trunc"]);
    const refused = await b.run(["import", layout, "both:1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("holds 2 images");
    expect(await b.ok(["images", "-q", "--no-trunc"])).toBe(before);
    const ok = await b.ok(["import", layout, "both"]);
    expect(ok).toContain("both:one");
    expect(ok).toContain("both:two");
  });

  test("push lists layers only (as docker: the config blob is not a layer line)", async () => {
    const name = `${reg!.host}/berth/busybox:layers`;
    await a.ok(["tag", "busybox", name]);
    const pushed = await a.run(["push", name]);
    const img = JSON.parse(await a.ok(["inspect", "--type", "image", name])) as { Id: string }[];
    expect(pushed.stdout).not.toContain(img[0]!.Id.slice(7, 19));
    expect(pushed.stdout.split("\n").filter((l) => /: (Pushed|Layer already exists)$/.test(l)).length).toBe(1);
    await a.ok(["rmi", name]);
  });

  test("a registry that is not there: the error says what to check, not the HTTP library's words", async () => {
    const r = await a.run(["pull", "127.0.0.1:1/nothing:here"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("connection refused: nothing listens at 127.0.0.1:1");
    expect(r.stderr).not.toContain("Is the computer able");
  });
});
