import { describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  RegistryClient,
  credentialsFromConfig,
  isLoopbackHost,
  loadDockerConfig,
  parseChallenges,
  parsePlatform,
  selectManifest,
} from "../../src/distribution/index.ts";
import type { Descriptor } from "../../src/content/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

describe("WWW-Authenticate parsing", () => {
  test("bearer with quoted params, escapes and commas inside quotes", () => {
    expect(
      parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'),
    ).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" } },
    ]);
    expect(parseChallenges('Basic realm="x \\"y\\""')).toEqual([{ scheme: "basic", params: { realm: 'x "y"' } }]);
    expect(parseChallenges('Basic realm="a", Bearer realm="b",service=s')).toEqual([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: "b", service: "s" } },
    ]);
    expect(parseChallenges("")).toEqual([]);
  });
});

describe("docker config.json credentials", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  test("auth and username/password forms; Docker Hub aliases; URL keys", () => {
    const look = credentialsFromConfig({
      auths: {
        "https://index.docker.io/v1/": { auth: b64("hub:pw:with:colons") },
        "http://127.0.0.1:5000": { username: "u", password: "p" },
        "quay.io": { auth: b64("q:1") },
        "empty.example": {},
      },
    });
    expect(look("docker.io")).toEqual({ username: "hub", password: "pw:with:colons" });
    expect(look("registry-1.docker.io")).toEqual({ username: "hub", password: "pw:with:colons" });
    expect(look("127.0.0.1:5000")).toEqual({ username: "u", password: "p" });
    expect(look("quay.io")).toEqual({ username: "q", password: "1" });
    expect(look("empty.example")).toBeUndefined();
    expect(look("other.example")).toBeUndefined();
  });

  test("file loading: missing file means none; broken JSON names the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-cfg-"));
    try {
      expect((await loadDockerConfig(join(dir, "absent.json")))("docker.io")).toBeUndefined();
      await writeFile(join(dir, "bad.json"), "{nope");
      let err: unknown;
      try {
        await loadDockerConfig(join(dir, "bad.json"));
      } catch (e) {
        err = e;
      }
      expect((err as BerthError).code).toBe("InvalidArgument");
      expect((err as BerthError).message).toContain("bad.json");
      await writeFile(join(dir, "bad-auth.json"), JSON.stringify({ auths: { x: { auth: Buffer.from("nocolon").toString("base64") } } }));
      await expect(loadDockerConfig(join(dir, "bad-auth.json"))).rejects.toThrow("user:password");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("plain HTTP only for loopback or configured hosts", () => {
  test("isLoopbackHost", () => {
    for (const h of ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:8080", "[::1]:5000"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["docker.io", "10.0.0.1:5000", "127.0.0.1.evil.example", "localhost.evil.example:80", "[::2]:5"]) {
      expect(isLoopbackHost(h)).toBe(false);
    }
  });
  test("base URLs", () => {
    const c = new RegistryClient({ insecure: ["reg.lan:5000"] });
    expect(c.baseURL("docker.io")).toBe("https://registry-1.docker.io");
    expect(c.baseURL("127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(c.baseURL("reg.lan:5000")).toBe("http://reg.lan:5000");
    expect(c.baseURL("reg.lan:5001")).toBe("https://reg.lan:5001");
  });
});

describe("platform selection", () => {
  const d = (platform?: Descriptor["platform"], n = 0): Descriptor => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 1,
    ...(platform ? { platform } : {}),
  });
  const list = [
    d({ os: "linux", architecture: "arm", variant: "v6" }, 1),
    d({ os: "linux", architecture: "arm", variant: "v7" }, 2),
    d({ os: "linux", architecture: "arm64", variant: "v8" }, 3),
    d({ os: "linux", architecture: "amd64" }, 4),
    d(undefined, 5), // an attestation without platform
    d({ os: "windows", architecture: "amd64" }, 6),
  ];
  test("default linux/amd64; variants; aliases; arm64 means v8", () => {
    expect(selectManifest(list)).toBe(list[3]!);
    expect(selectManifest(list, parsePlatform("linux/arm/v7"))).toBe(list[1]!);
    expect(selectManifest(list, parsePlatform("linux/aarch64"))).toBe(list[2]!);
    expect(selectManifest(list, parsePlatform("linux/x86_64"))).toBe(list[3]!);
    expect(selectManifest(list, parsePlatform("windows/amd64"))).toBe(list[5]!);
  });
  test("no match names what is there", () => {
    expect(() => selectManifest(list, parsePlatform("linux/arm/v5"))).toThrow("linux/arm/v6, linux/arm/v7");
    expect(() => selectManifest([d(undefined)])).toThrow("no platforms");
    expect(() => parsePlatform("linux")).toThrow("os/architecture");
  });
});
