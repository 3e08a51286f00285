// The pull display as data: what it writes to a terminal and to a pipe.
import { expect, test } from "bun:test";
import { PullDisplay, bar } from "../../src/cli/progress.ts";

const sink = (isTTY: boolean, columns?: number) => {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, ...(columns !== undefined ? { columns } : {}), write: (s: string) => chunks.push(s) } };
};
const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;

test("bar: docker's arrow, sizes, and a given width", () => {
  expect(bar(0, 10_000_000, 10)).toBe("[          ]      0B/10MB");
  expect(bar(5_000_000, 10_000_000, 10)).toBe("[====>     ]     5MB/10MB");
  expect(bar(10_000_000, 10_000_000, 10)).toBe("[==========]    10MB/10MB");
});

test("pipe: one plain line per status change, bytes never, no escapes", () => {
  const { chunks, out } = sink(false);
  const d = new PullDisplay(out);
  d.say("1: Pulling from x");
  d.set(D1, "Pulling fs layer");
  d.set(D2, "Pulling fs layer");
  d.set(D1, "Downloading", [1, 10]);
  d.set(D1, "Downloading", [5, 10]);
  d.set(D1, "Download complete");
  d.set(D1, "Pull complete");
  d.flush();
  expect(chunks.join("")).toBe(["1: Pulling from x", "aaaaaaaaaaaa: Pulling fs layer", "bbbbbbbbbbbb: Pulling fs layer", "aaaaaaaaaaaa: Download complete", "aaaaaaaaaaaa: Pull complete", ""].join("\n"));
});

test("terminal: lines redrawn in place, cut to the width; quiet writes nothing", () => {
  const { chunks, out } = sink(true, 60);
  const d = new PullDisplay(out);
  d.set(D1, "Pulling fs layer");
  d.set(D2, "Pulling fs layer");
  d.set(D1, "Downloading", [5_000_000, 10_000_000]);
  const last = chunks.at(-1)!;
  expect(last.startsWith("\x1b[2A\x1b[2Kaaaaaaaaaaaa: Downloading [")).toBe(true);
  for (const line of last.split("\n").filter(Boolean)) expect(line.replace(/\x1b\[\d*[AK]/g, "").length).toBeLessThan(60);
  const q = sink(true);
  const quiet = new PullDisplay(q.out, true);
  quiet.say("x");
  quiet.set(D1, "Pulling fs layer");
  quiet.flush();
  expect(q.chunks).toEqual([]);
});
