// The runtime library's `stdio` option (create/run through launch()): the container's fds 0-2
// are the caller's pipes or files instead of the caller's own stdio; the default is unchanged.
// Also: launch() does not leak its report socket (one fd per container in a long-lived caller).
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Harness, leftoverCgroups } from "../lib/runtime.ts";
import { create, remove } from "../../src/runtime/container.ts";

const h = new Harness();
afterAll(async () => {
  await h.cleanup();
  expect(leftoverCgroups()).toEqual([]);
});

test("create({stdio}) gives the container the caller's pipes and files; nothing leaks", async () => {
  const data = h.tmpdir();
  writeFileSync(join(data, "in"), "from the caller\n");
  const fdsBefore = readdirSync("/proc/self/fd").length;
  const input = openSync(join(data, "in"), "r");
  const bundle = h.bundle((s) => (s.process!.args = ["sh", "-c", "cat; echo to-stderr >&2"]));
  const c = await create({ root: h.root, id: `stdio-${process.pid}`, bundle, mode: "foreground", stdio: [input, "pipe", "pipe"] });
  closeSync(input);
  const helper = c.helper!;
  const [out, err, status] = await Promise.all([new Response(helper.stdout as ReadableStream).text(), new Response(helper.stderr as ReadableStream).text(), helper.exited]);
  expect([out, err, status]).toEqual(["from the caller\n", "to-stderr\n", 0]);
  await remove(h.root, `stdio-${process.pid}`, true);
  // The pipes Bun made are closed with the process; the report socket by launch().
  await Bun.sleep(50);
  Bun.gc(true);
  expect(readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(fdsBefore);
  expect(readFileSync(join(data, "in"), "utf8")).toBe("from the caller\n");
});
