import { describe, expect, test } from "bun:test";
import { familiarReference, formatReference, parseReference, registryHost } from "../../src/distribution/reference.ts";
import { BerthError } from "../../src/sys/errdefs.ts";

const D = `sha256:${"0123456789abcdef".repeat(4)}`;

const good: [string, string, string][] = [
  ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
  ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
  ["library/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
  ["docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
  ["index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"],
  ["user/app", "docker.io/user/app:latest", "user/app:latest"],
  ["localhost/app", "localhost/app:latest", "localhost/app:latest"],
  ["localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1"],
  ["127.0.0.1:43211/x:tag", "127.0.0.1:43211/x:tag", "127.0.0.1:43211/x:tag"],
  ["quay.io/org/app_name__x-y.z:v_1.2-3", "quay.io/org/app_name__x-y.z:v_1.2-3", "quay.io/org/app_name__x-y.z:v_1.2-3"],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
  [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  [`reg.example:5000/x@${D}`, `reg.example:5000/x@${D}`, `reg.example:5000/x@${D}`],
  ["[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"],
  ["Registry/x", "Registry/x:latest", "Registry/x:latest"],
];

describe("parseReference", () => {
  for (const [input, full, familiar] of good) {
    test(`${input} → ${full}`, () => {
      const r = parseReference(input);
      expect(formatReference(r)).toBe(full);
      expect(familiarReference(r)).toBe(familiar);
      // Normalisation is idempotent.
      expect(formatReference(parseReference(full))).toBe(full);
    });
  }

  test("parts", () => {
    expect(parseReference(`localhost:5000/a/b:t@${D}`)).toEqual({ domain: "localhost:5000", path: "a/b", tag: "t", digest: D });
    expect(parseReference("x", { defaultTag: false })).toEqual({ domain: "docker.io", path: "library/x" });
    expect(registryHost("docker.io")).toBe("registry-1.docker.io");
    expect(registryHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });

  const badInputs: [string, string][] = [
    ["", "empty"],
    ["BusyBox", "lowercase"],
    ["docker.io/User/app", "lowercase"],
    ["busybox:", "tag"],
    ["busybox:-x", "tag"],
    [`busybox:${"a".repeat(129)}`, "tag"],
    ["busybox@sha256:abc", "digest"],
    ["busybox@md5:0123", "digest"],
    ["a//b", "component"],
    ["a/-b", "component"],
    ["a/b_", "component"],
    ["a/b.", "component"],
    ["host:port/x", "registry"],
    ["-bad.example/x", "registry"],
    ["localhost:5000/", "empty"],
    [`x.io/${"a".repeat(260)}`, "longer"],
  ];
  for (const [input, why] of badInputs) {
    test(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).code).toBe("InvalidArgument");
      expect((err as BerthError).message).toContain(why);
      expect((err as BerthError).message).toContain(JSON.stringify(input));
    });
  }
});
