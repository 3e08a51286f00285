// Conformance suite for content stores (containerd's content/testsuite habit): every Store
// implementation runs these same cases. `open(root)` must return a store over `root`; calling it
// twice on one root models a process restart.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf, writeBlob, writeBytes, type Store } from "../../src/content/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BerthError) return e.code;
    throw e;
  }
  return "no error";
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

export function contentStoreSuite(name: string, open: (root: string) => Store | Promise<Store>): void {
  describe(`content store conformance: ${name}`, () => {
    let root: string;
    let store: Store;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), "berth-content-"));
      store = await open(root);
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    test("write, commit, info, read, readerAt, stream, list", async () => {
      const data = enc("hello, content store");
      const dgst = digestOf(data);
      const w = await store.writer({ ref: "ref-1", expected: dgst, total: data.length });
      await w.write(data.subarray(0, 5));
      expect(w.status().offset).toBe(5);
      await w.write(data.subarray(5));
      expect(w.digest()).toBe(dgst);
      await w.commit();

      const info = await store.info(dgst);
      expect(info.digest).toBe(dgst);
      expect(info.size).toBe(data.length);
      expect(dec(await store.read(dgst))).toBe("hello, content store");

      const ra = await store.readerAt({ digest: dgst });
      expect(ra.size).toBe(data.length);
      expect(dec(await ra.readAt(7, 7))).toBe("content");
      expect(dec(await ra.readAt(15, 100))).toBe("store");
      expect((await ra.readAt(100, 10)).length).toBe(0);
      await ra.close();

      expect(dec(await new Response(await store.stream(dgst, 7)).bytes())).toBe("content store");
      expect((await store.list()).map((i) => i.digest)).toEqual([dgst]);
      expect(await store.listStatuses()).toEqual([]);
    });

    test("a blob that does not match its digest never becomes visible", async () => {
      const good = enc("the bytes the registry promised");
      const bad = enc("the bytes that actually arrived!");
      const expected = digestOf(good);
      const w = await store.writer({ ref: "mismatch", expected });
      await w.write(bad);
      let err: unknown;
      try {
        await w.commit();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).code).toBe("FailedPrecondition");
      expect((err as BerthError).message).toContain(expected);
      expect((err as BerthError).message).toContain(digestOf(bad));
      expect(await codeOf(store.info(expected))).toBe("NotFound");
      expect(await codeOf(store.info(digestOf(bad)))).toBe("NotFound");
      expect(await store.list()).toEqual([]);
      // The ingest was dropped, so nothing half-written is left behind.
      expect(await codeOf(store.status("mismatch"))).toBe("NotFound");
      expect(await store.listStatuses()).toEqual([]);
    });

    test("size mismatch is refused at commit", async () => {
      const data = enc("short");
      const w = await store.writer({ ref: "size", expected: digestOf(data), total: 99 });
      await w.write(data);
      expect(await codeOf(w.commit())).toBe("FailedPrecondition");
      expect(await codeOf(store.info(digestOf(data)))).toBe("NotFound");
      expect(await store.listStatuses()).toEqual([]);
    });

    test("commit with an expected digest given only at commit", async () => {
      const data = enc("late expectation");
      const w = await store.writer({ ref: "late" });
      await w.write(data);
      expect(await codeOf(w.commit({ expected: digestOf(enc("other")) }))).toBe("FailedPrecondition");
      const w2 = await store.writer({ ref: "late" });
      expect(w2.status().offset).toBe(0);
      await w2.write(data);
      await w2.commit({ expected: digestOf(data), size: data.length });
      expect((await store.info(digestOf(data))).size).toBe(data.length);
    });

    test("an existing blob: writer and commit report AlreadyExists", async () => {
      const desc = await writeBytes(store, "same bytes", "text/plain");
      expect(await codeOf(store.writer({ ref: "again", expected: desc.digest }))).toBe("AlreadyExists");
      const w = await store.writer({ ref: "again-unannounced" });
      await w.write(enc("same bytes"));
      expect(await codeOf(w.commit())).toBe("AlreadyExists");
      expect(await store.listStatuses()).toEqual([]);
      expect((await store.list()).length).toBe(1);
    });

    test("an ingest survives a restart and resumes at its offset", async () => {
      const data = randomBytes(300_000);
      const dgst = digestOf(data);
      const w = await store.writer({ ref: "layer-1", expected: dgst, total: data.length });
      await w.write(data.subarray(0, 123_456));
      await w.close();

      const st = await store.status("layer-1");
      expect(st.offset).toBe(123_456);
      expect(st.expected).toBe(dgst);
      expect(st.total).toBe(data.length);

      const reopened = await open(root); // a new process over the same root
      const w2 = await reopened.writer({ ref: "layer-1", expected: dgst, total: data.length });
      expect(w2.status().offset).toBe(123_456);
      await w2.write(data.subarray(123_456));
      expect(w2.digest()).toBe(dgst);
      await w2.commit();
      expect((await reopened.info(dgst)).size).toBe(data.length);
      expect(await reopened.listStatuses()).toEqual([]);
    });

    test("a ref held by a writer is unavailable to a second writer", async () => {
      const w = await store.writer({ ref: "busy" });
      expect(await codeOf(store.writer({ ref: "busy" }))).toBe("Unavailable");
      await w.close();
      const w2 = await store.writer({ ref: "busy" });
      await w2.close();
    });

    test("an ingest for a different digest under the same ref starts over", async () => {
      const w = await store.writer({ ref: "reused", expected: digestOf(enc("one")) });
      await w.write(enc("on"));
      await w.close();
      const w2 = await store.writer({ ref: "reused", expected: digestOf(enc("two")) });
      expect(w2.status().offset).toBe(0);
      await w2.write(enc("two"));
      await w2.commit();
      expect(dec(await store.read(digestOf(enc("two"))))).toBe("two");
    });

    test("truncate, abort, listStatuses with a prefix", async () => {
      const w = await store.writer({ ref: "pull/a" });
      await w.write(enc("garbage"));
      await w.truncate(0);
      expect(w.status().offset).toBe(0);
      await w.write(enc("fine"));
      await w.close();
      const w2 = await store.writer({ ref: "push/b" });
      await w2.close();
      expect((await store.listStatuses("pull/")).map((s) => [s.ref, s.offset])).toEqual([["pull/a", 4]]);
      expect((await store.listStatuses()).length).toBe(2);
      await store.abort("pull/a");
      expect(await codeOf(store.status("pull/a"))).toBe("NotFound");
      expect(await codeOf(store.abort("pull/a"))).toBe("NotFound");
      expect((await store.listStatuses()).map((s) => s.ref)).toEqual(["push/b"]);
    });

    test("labels: set at commit, update by fieldpath, replace", async () => {
      const desc = await writeBytes(store, "labelled", "text/plain", { a: "1", b: "2" });
      expect((await store.info(desc.digest)).labels).toEqual({ a: "1", b: "2" });
      await store.update({ digest: desc.digest, labels: { b: "20", c: "3" } }, ["labels.b", "labels.c", "labels.a"]);
      expect((await store.info(desc.digest)).labels).toEqual({ b: "20", c: "3" });
      await store.update({ digest: desc.digest, labels: { only: "x" } });
      expect((await store.info(desc.digest)).labels).toEqual({ only: "x" });
      expect(await codeOf(store.update({ digest: desc.digest, labels: {} }, ["size"]))).toBe("InvalidArgument");
      expect(await codeOf(store.update({ digest: digestOf("absent"), labels: {} }))).toBe("NotFound");
      const filtered = await store.list((i) => i.labels.only === "x");
      expect(filtered.map((i) => i.digest)).toEqual([desc.digest]);
    });

    test("delete removes the blob; missing content is NotFound everywhere", async () => {
      const desc = await writeBytes(store, "to delete", "text/plain");
      await store.delete(desc.digest);
      expect(await codeOf(store.info(desc.digest))).toBe("NotFound");
      expect(await codeOf(store.read(desc.digest))).toBe("NotFound");
      expect(await codeOf(store.readerAt(desc))).toBe("NotFound");
      expect(await codeOf(store.stream(desc.digest))).toBe("NotFound");
      expect(await codeOf(store.delete(desc.digest))).toBe("NotFound");
      expect(await store.list()).toEqual([]);
    });

    test("malformed digests are InvalidArgument", async () => {
      expect(await codeOf(store.info("sha256:xyz"))).toBe("InvalidArgument");
      expect(await codeOf(store.info("md5:d41d8cd98f00b204e9800998ecf8427e"))).toBe("InvalidArgument");
      expect(await codeOf(store.writer({ ref: "r", expected: "sha256:../../etc/passwd" }))).toBe("InvalidArgument");
      expect(await codeOf(store.read(`sha256:${"A".repeat(64)}`))).toBe("InvalidArgument");
    });

    test("writeBlob resumes an interrupted transfer with a ranged source", async () => {
      const data = randomBytes(200_000);
      const desc = { digest: digestOf(data), size: data.length };
      const ctrl = new AbortController();
      const chunked = (from: number) =>
        new ReadableStream<Uint8Array>({
          start(c) {
            for (let o = from; o < data.length; o += 50_000) c.enqueue(data.slice(o, Math.min(data.length, o + 50_000)));
            c.close();
          },
        });
      const first = writeBlob(store, "resume", desc, async (o) => ({ stream: chunked(o), offset: o }), {
        signal: ctrl.signal,
        onProgress: (s) => {
          if (s.offset >= 100_000) ctrl.abort();
        },
      });
      expect(first).rejects.toThrow();
      await first.catch(() => {});
      expect((await store.status("resume")).offset).toBe(100_000);
      expect(await codeOf(store.info(desc.digest))).toBe("NotFound");

      const offsets: number[] = [];
      const res = await writeBlob(store, "resume", desc, async (o) => {
        offsets.push(o);
        return { stream: chunked(o), offset: o };
      });
      expect(offsets).toEqual([100_000]);
      expect(res).toEqual({ existed: false, resumedFrom: 100_000, transferred: 100_000 });
      expect((await store.info(desc.digest)).size).toBe(data.length);

      // Already present: nothing is fetched.
      const again = await writeBlob(store, "resume-2", desc, async () => {
        throw new Error("must not open the source");
      });
      expect(again.existed).toBe(true);
    });

    test("writeBlob starts over when the source cannot seek", async () => {
      const data = randomBytes(10_000);
      const desc = { digest: digestOf(data), size: data.length };
      const w = await store.writer({ ref: "noseek", expected: desc.digest, total: desc.size });
      await w.write(data.subarray(0, 4000));
      await w.close();
      const res = await writeBlob(store, "noseek", desc, async () => ({ stream: new Blob([data]).stream(), offset: 0 }));
      expect(res.resumedFrom).toBe(0);
      expect(res.transferred).toBe(data.length);
      expect(await store.read(desc.digest)).toEqual(data);
    });

    test("read returns a blob whole on both sides of the size read without the thread pool (1 MiB)", async () => {
      for (const n of [0, 1 << 20, (1 << 20) + 1, 3 << 20]) {
        const data = randomBytes(n);
        const desc = { digest: digestOf(data), size: n };
        const w = await store.writer({ ref: `sized-${n}`, expected: desc.digest, total: n });
        await w.write(data);
        await w.commit();
        const back = await store.read(desc.digest);
        expect(back.length).toBe(n);
        expect(digestOf(back)).toBe(desc.digest);
      }
    });

    test("store root holds an OCI layout and no stray temp files after commits", async () => {
      await writeBytes(store, "x", "text/plain");
      const entries = (await readdir(root)).sort();
      expect(entries).toContain("blobs");
      expect(entries).toContain("oci-layout");
      expect(await readdir(join(root, "ingest")).catch(() => [])).toEqual([]);
    });
  });
}
