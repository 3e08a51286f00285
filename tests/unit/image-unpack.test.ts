// Unpack tests with hand-made tarballs, malicious ones included. The tar writer below is the
// test's own, so each archive says exactly what an attacker could put in a layer.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../../src/content/index.ts";
import { readTar, unpackLayer } from "../../src/image/unpack.ts";
import { lgetxattr } from "../../src/image/fs-ops.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

interface E {
  name: string;
  type?: "0" | "1" | "2" | "3" | "4" | "5" | "6";
  data?: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  link?: string;
  dev?: [number, number];
  pax?: Record<string, string | Uint8Array>;
  gnuLongName?: boolean;
}

const enc = new TextEncoder();
const bytes = (d: string | Uint8Array) => (typeof d === "string" ? enc.encode(d) : d);

function header(name: string, type: string, size: number, e: E): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, len: number, s: string) => h.set(enc.encode(s).subarray(0, len), off);
  const oct = (off: number, len: number, v: number) => put(off, len, `${v.toString(8).padStart(len - 1, "0")}\0`);
  put(0, 100, name);
  oct(100, 8, e.mode ?? (type === "5" ? 0o755 : 0o644));
  oct(108, 8, e.uid ?? 0);
  oct(116, 8, e.gid ?? 0);
  oct(124, 12, size);
  oct(136, 12, e.mtime ?? 1_000_000);
  put(156, 1, type);
  put(157, 100, e.link ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  oct(329, 8, e.dev?.[0] ?? 0);
  oct(337, 8, e.dev?.[1] ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

function pad(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(d.length / 512) * 512);
  out.set(d);
  return out;
}

function paxRecords(rec: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(rec)) {
    const body = new Uint8Array([...enc.encode(` ${k}=`), ...bytes(v), 0x0a]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(new Uint8Array([...enc.encode(String(len)), ...body]));
  }
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

export function tar(entries: E[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const type = e.type ?? "0";
    const data = bytes(e.data ?? "");
    let name = e.name;
    if (e.pax) {
      const p = paxRecords(e.pax);
      blocks.push(header("PaxHeader", "x", p.length, { name: "" }), pad(p));
    }
    if (e.gnuLongName) {
      const ln = enc.encode(`${name}\0`);
      blocks.push(header("././@LongLink", "L", ln.length, { name: "" }), pad(ln));
      name = name.slice(0, 99);
    }
    blocks.push(header(name, type, type === "0" ? data.length : 0, e));
    if (type === "0") blocks.push(pad(data));
  }
  blocks.push(new Uint8Array(1024));
  return new Uint8Array(blocks.flatMap((b) => [...b]));
}

let work: string;
let root: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-unpack-"));
  root = join(work, "rootfs");
  await mkdir(root);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<BerthError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error("expected the layer to be refused");
}

/** Everything under `work` except the target: must stay exactly as it was. */
async function outside(): Promise<string[]> {
  // Walk by hand with lstat: the target holds symlinks to "/" that a recursive readdir would follow.
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of await readdir(join(work, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === "rootfs") continue;
      const st = await lstat(join(work, r));
      out.push(`${r} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk("");
  return out.sort();
}

describe("applying layers", () => {
  test("files, dirs, modes, ownership, mtimes, symlinks, hardlinks, xattrs, long names", async () => {
    const long = `deep/${"d".repeat(120)}/file`;
    const layer = tar([
      { name: "bin/", type: "5", mode: 0o755, mtime: 1234 },
      { name: "bin/tool", data: "#!/bin/sh\necho hi\n", mode: 0o4755, uid: 1000, gid: 1001, mtime: 5678 },
      { name: "bin/sh", type: "2", link: "tool" },
      { name: "bin/tool-hard", type: "1", link: "bin/tool" },
      { name: "etc/tmp", type: "5", mode: 0o1777 },
      { name: "etc/x", data: "x", pax: { "SCHILY.xattr.user.berth": new Uint8Array([0, 1, 0xff, 2]), mtime: "1700000000.5" } },
      { name: long, data: "long", pax: { path: long } },
      { name: `gnu/${"g".repeat(130)}`, data: "gnu", gnuLongName: true },
      { name: "dev/null", type: "3", mode: 0o666, dev: [1, 3] },
      { name: "run/fifo", type: "6", mode: 0o600 },
    ]);
    const res = await unpackLayer(root, Bun.gzipSync(layer as Uint8Array<ArrayBuffer>));
    expect(res.diffID).toBe(digestOf(layer));
    expect(res.entries).toBe(10);

    const tool = await stat(join(root, "bin/tool"));
    expect(tool.mode & 0o7777).toBe(0o4755);
    expect([tool.uid, tool.gid]).toEqual([1000, 1001]);
    expect(tool.mtimeMs).toBe(5678_000);
    expect((await stat(join(root, "bin"))).mtimeMs).toBe(1234_000);
    expect(await readlink(join(root, "bin/sh"))).toBe("tool");
    expect((await stat(join(root, "bin/tool-hard"))).ino).toBe(tool.ino);
    expect((await stat(join(root, "etc/tmp"))).mode & 0o7777).toBe(0o1777);
    expect((await stat(join(root, "etc/x"))).mtimeMs).toBe(1700000000_500);
    expect(res.skipped).toEqual([]);
    expect(lgetxattr(join(root, "etc/x"), "user.berth")).toEqual(new Uint8Array([0, 1, 0xff, 2]));
    expect(await readFile(join(root, long), "utf8")).toBe("long");
    expect(await readFile(join(root, `gnu/${"g".repeat(130)}`), "utf8")).toBe("gnu");
    if (process.getuid?.() === 0) {
      const dev = await stat(join(root, "dev/null"));
      expect(dev.isCharacterDevice()).toBe(true);
      expect(dev.rdev).toBe((1 << 8) | 3);
    }
    expect((await lstat(join(root, "run/fifo"))).isFIFO()).toBe(true);
  });

  test("device nodes are skipped when unprivileged", async () => {
    const res = await unpackLayer(root, tar([{ name: "dev/sda", type: "4", dev: [8, 0] }]), { privileged: false });
    expect(res.skipped).toEqual(["dev/sda: device node (needs root)"]);
    expect(await lstat(join(root, "dev/sda")).catch(() => "absent")).toBe("absent");
  });

  test("zstd layers", async () => {
    const layer = tar([{ name: "z", data: "zstd!" }]);
    await unpackLayer(root, Bun.zstdCompressSync(layer));
    expect(await readFile(join(root, "z"), "utf8")).toBe("zstd!");
  });

  test("whiteouts and opaque directories", async () => {
    await unpackLayer(root, tar([
      { name: "a/b", data: "b" }, { name: "a/c", data: "c" }, { name: "o/old1", data: "1" }, { name: "o/sub/old2", data: "2" },
      { name: "f", data: "file becomes dir" },
    ]));
    await unpackLayer(root, tar([
      { name: "a/.wh.b" },
      { name: "o/", type: "5" },
      { name: "o/new", data: "new" },
      { name: "o/.wh..wh..opq" },
      { name: "f/", type: "5" },
      { name: "f/inside", data: "ok" },
      { name: "nowhere/.wh.x" },
    ]));
    expect((await readdir(join(root, "a"))).sort()).toEqual(["c"]);
    expect((await readdir(join(root, "o"))).sort()).toEqual(["new"]);
    expect(await readFile(join(root, "f/inside"), "utf8")).toBe("ok");
    expect(await lstat(join(root, "nowhere")).catch(() => "absent")).toBe("absent");
  });

  test("diffID is verified when the config gives it", async () => {
    const layer = tar([{ name: "x", data: "x" }]);
    const e = await refusal(unpackLayer(root, layer, { expectedDiffID: digestOf("other") }));
    expect(e.message).toContain(digestOf(layer));
    expect(await readdir(root)).toEqual([]);
  });

  test("a corrupt header is refused", async () => {
    const layer = tar([{ name: "x", data: "x" }]);
    layer[10] = layer[10]! ^ 1;
    expect((await refusal(unpackLayer(root, layer))).message).toContain("checksum");
    const truncated = tar([{ name: "x", data: "x".repeat(2000) }]).subarray(0, 1024);
    expect((await refusal(unpackLayer(root, truncated))).message).toContain("truncated");
  });
});

describe("malicious layers never write outside the target", () => {
  const before = async () => {
    await writeFile(join(work, "victim"), "original");
    return outside();
  };

  test("`..` in a name is refused", async () => {
    const snap = await before();
    const e = await refusal(unpackLayer(root, tar([{ name: "../escaped", data: "pwned" }])));
    expect(e.message).toContain('"../escaped"');
    await refusal(unpackLayer(root, tar([{ name: "a/../../victim", data: "pwned" }])));
    expect(await outside()).toEqual(snap);
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
  });

  test("absolute names are refused", async () => {
    await before();
    const e = await refusal(unpackLayer(root, tar([{ name: `${work}/victim`, data: "pwned" }])));
    expect(e.message).toContain("absolute");
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
  });

  test("writing through a symlink that points out stays inside", async () => {
    const snap = await before();
    await unpackLayer(root, tar([
      { name: "up", type: "2", link: "../.." },
      { name: "abs", type: "2", link: work },
      { name: "up/victim", data: "contained-1" },
      { name: "abs/victim", data: "contained-2" },
      { name: "abs/newdir/file", data: "contained-3" },
    ]));
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
    expect(await outside()).toEqual(snap);
    // Resolved as if root were "/": "../.." → root, and `work` → root/<work>.
    expect(await readFile(join(root, "victim"), "utf8")).toBe("contained-1");
    expect(await readFile(join(root, work, "victim"), "utf8")).toBe("contained-2");
    expect(await readFile(join(root, work, "newdir/file"), "utf8")).toBe("contained-3");
  });

  test("a symlink from a lower layer cannot be used by a later layer to escape", async () => {
    const snap = await before();
    await unpackLayer(root, tar([{ name: "etc", type: "2", link: "/../../../" }]));
    await unpackLayer(root, tar([{ name: "etc/victim", data: "contained" }, { name: "etc/.wh.victim" }]));
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
    expect(await outside()).toEqual(snap);
  });

  test("a whiteout through a symlink deletes nothing outside", async () => {
    const snap = await before();
    await unpackLayer(root, tar([{ name: "l", type: "2", link: "../" }, { name: "l/.wh.victim" }, { name: "l/.wh..wh..opq" }]));
    expect(await outside()).toEqual(snap);
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
  });

  test("hardlinks to files outside are refused", async () => {
    const snap = await before();
    expect((await refusal(unpackLayer(root, tar([{ name: "h", type: "1", link: "../victim" }])))).code).toBe("InvalidArgument");
    expect((await refusal(unpackLayer(root, tar([{ name: "h", type: "1", link: `${work}/victim` }])))).code).toBe("InvalidArgument");
    // Through a symlink: resolved inside the target, where there is no such file.
    const e = await refusal(unpackLayer(root, tar([{ name: "s", type: "2", link: work }, { name: "h", type: "1", link: "s/victim" }])));
    expect(e.code).toBe("NotFound");
    expect(await outside()).toEqual(snap);
    // And appending through the link (if one had been made) would have changed the victim.
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
  });

  test("a file replacing a symlink does not follow it", async () => {
    await before();
    await unpackLayer(root, tar([{ name: "x", type: "2", link: `../victim` }, { name: "x", data: "replaced" }]));
    expect(await readFile(join(work, "victim"), "utf8")).toBe("original");
    expect(await readFile(join(root, "x"), "utf8")).toBe("replaced");
    expect((await lstat(join(root, "x"))).isFile()).toBe(true);
  });
});

describe("tar reader", () => {
  test("reads what GNU tar writes", async () => {
    const src = join(work, "src");
    await mkdir(join(src, "d"), { recursive: true });
    await writeFile(join(src, "d", "f"), "data");
    const p = Bun.spawnSync(["tar", "--format=pax", "-C", src, "-cf", "-", "."]);
    const names = [...readTar(new Uint8Array(p.stdout))].map((e) => `${e.type}:${e.name}`);
    expect(names).toEqual(["directory:./", "directory:./d/", "file:./d/f"]);
  });
});
