// docker events --filter as the daemon applies it to the log's records.
import { expect, test } from "bun:test";
import { eventFilter } from "../../src/docker/event-json.ts";
import type { EventRecord } from "../../src/metadata/events.ts";

const ev = (type: string, action: string, actor: string, attributes: Record<string, string> = {}): EventRecord => ({ seq: 1, time: 0, type, action, actor, attributes });
const d1 = ev("container", "start", "d1e5".padEnd(64, "0"), { name: "web", image: "busybox" });
const other = ev("container", "start", "ab12".padEnd(64, "0"), { name: "d1", image: "busybox" });

test("container=, volume=, network=: the id or the name, whole or a prefix (docker's FuzzyMatch)", () => {
  expect(eventFilter(["container=d1"])(d1)).toBe(true); // "d1" is an id prefix: a name that is hex is ambiguous
  expect(eventFilter(["container=d1"])(other)).toBe(true); // and the name
  expect(eventFilter([`container=${d1.actor}`])(other)).toBe(false);
  expect(eventFilter(["container=we"])(d1)).toBe(true);
  expect(eventFilter(["container=eb"])(d1)).toBe(false);
  expect(eventFilter(["container=web"])(ev("image", "pull", "web"))).toBe(false); // containers' events only
});

test("keys are ANDed, values of one key ORed; event= takes health_status's prefix; label with and without a value", () => {
  const h = ev("container", "health_status: healthy", d1.actor, { name: "web", tier: "front" });
  expect(eventFilter(["event=health_status"])(h)).toBe(true);
  expect(eventFilter(["event=health"])(h)).toBe(false);
  expect(eventFilter(["event=die", "event=start"])(d1)).toBe(true);
  expect(eventFilter(["event=start", "type=image"])(d1)).toBe(false);
  expect(eventFilter(["label=tier"])(h)).toBe(true);
  expect(eventFilter(["label=tier=back"])(h)).toBe(false);
  expect(eventFilter(["label=tier=front", "container=web"])(h)).toBe(true);
  expect(eventFilter(["image=busybox"])(d1)).toBe(true);
  expect(eventFilter(["volume=da"])(ev("volume", "create", "data"))).toBe(true);
  expect(eventFilter(["volume=data2"])(ev("volume", "create", "data"))).toBe(false);
  expect(eventFilter(["network=front"])(ev("network", "connect", "f00d".padEnd(64, "0"), { name: "frontend", container: d1.actor }))).toBe(true);
  expect(eventFilter(["network=f00d"])(ev("network", "connect", "f00d".padEnd(64, "0"), { name: "frontend" }))).toBe(true);
  expect(eventFilter(["network=back"])(ev("network", "connect", "f00d".padEnd(64, "0"), { name: "frontend" }))).toBe(false);
  expect(eventFilter(["nosuch=x"])(d1)).toBe(false);
  expect(eventFilter([])(d1)).toBe(true);
});

test("a filter without name=value is refused, naming it", () => {
  expect(() => eventFilter(["container"])).toThrow("bad format of filter (expected name=value): container");
  expect(() => eventFilter(["=x"])).toThrow(/=x/);
});
