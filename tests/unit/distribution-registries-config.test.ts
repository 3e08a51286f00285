// The registries config format: mirrors per registry, insecure registries, errors naming the field.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RegistryClient, loadRegistriesConfig, parseRegistriesConfig } from "../../src/distribution/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const bad = (doc: unknown): string => {
  try {
    parseRegistriesConfig(doc, "r.json");
  } catch (e) {
    expect(e).toBeInstanceOf(BerthError);
    return (e as Error).message;
  }
  throw new Error("accepted");
};

test("mirrors as host, URL or object; insecure registries", () => {
  const c = parseRegistriesConfig(
    { registries: { "docker.io": { mirrors: ["mirror.lan:5000", "http://10.0.0.9:5000/", { location: "m3.lan", insecure: true }] }, "reg.lan:5000": { insecure: true } } },
    "r.json",
  );
  expect(c.registries["docker.io"]!.mirrors).toEqual([
    { host: "mirror.lan:5000", insecure: false },
    { host: "10.0.0.9:5000", insecure: true },
    { host: "m3.lan", insecure: true },
  ]);
  expect(c.registries["reg.lan:5000"]).toEqual({ mirrors: [], insecure: true });
  const client = new RegistryClient({ registries: c });
  expect(client.baseURL("reg.lan:5000")).toBe("http://reg.lan:5000");
  expect(client.baseURL("10.0.0.9:5000")).toBe("http://10.0.0.9:5000");
  expect(client.baseURL("mirror.lan:5000")).toBe("https://mirror.lan:5000");
  const eps = client.pullEndpoints({ domain: "docker.io", path: "library/busybox" });
  expect(eps.map((e) => e.base)).toEqual([
    "https://mirror.lan:5000/v2/library/busybox",
    "http://10.0.0.9:5000/v2/library/busybox",
    "http://m3.lan/v2/library/busybox",
    "https://registry-1.docker.io/v2/library/busybox",
  ]);
  // Pushes use the registry only.
  expect(client.repository({ domain: "docker.io", path: "library/busybox" }, { forPush: true }).base).toBe("https://registry-1.docker.io/v2/library/busybox");
});

test("errors name the file and the field", () => {
  expect(bad([])).toContain("r.json: expected a JSON object");
  expect(bad({ mirrors: [] })).toContain('unknown key "mirrors"');
  expect(bad({ registries: { "docker.io": { mirror: [] } } })).toContain('registries.docker.io: unknown key "mirror"');
  expect(bad({ registries: { "docker.io": { mirrors: "x" } } })).toContain("registries.docker.io.mirrors must be a list");
  expect(bad({ registries: { "docker.io": { mirrors: ["https://m/v2/x"] } } })).toContain("registries.docker.io.mirrors[0]");
  expect(bad({ registries: { "docker.io": { insecure: "yes" } } })).toContain("insecure must be true or false");
  expect(bad({ registries: { "bad host!": {} } })).toContain("registries.bad host!");
});

test("a missing default file is empty; a missing explicit one and bad JSON are errors", () => {
  const dir = mkdtempSync("/tmp/bt-regconf-");
  try {
    expect(loadRegistriesConfig(join(dir, "none.json"))).toEqual({ registries: {} });
    expect(() => loadRegistriesConfig(join(dir, "none.json"), true)).toThrow(/none\.json/);
    writeFileSync(join(dir, "x.json"), "{");
    expect(() => loadRegistriesConfig(join(dir, "x.json"))).toThrow(/x\.json is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
