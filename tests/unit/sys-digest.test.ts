// src/sys/digest.ts: the hashes and random ids berth uses in place of node:crypto's.
import { describe, expect, test } from "bun:test";
import { hashOf, randomString } from "../../src/sys/digest.ts";

describe("hashOf", () => {
  test("known digests: FIPS 180 \"abc\", RFC 6455's Sec-WebSocket-Accept example, UTF-8 input", () => {
    expect(hashOf("sha256", "abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashOf("sha512", "abc").slice(0, 32)).toBe("ddaf35a193617abacc417349ae204131");
    expect(hashOf("sha1", "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11", "base64")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // what names already on hosts were made with (veth btv…, CNI-… chains, seccomp cache keys)
    expect(hashOf("sha256", "é")).toBe(new Bun.CryptoHasher("sha256").update(new TextEncoder().encode("é")).digest("hex"));
  });
});

describe("randomString", () => {
  test("hex of the asked length, base64url without padding; never the same twice", () => {
    const ids = Array.from({ length: 100 }, () => randomString(32));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(ids).size).toBe(100);
    expect(randomString(12, "base64url")).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(randomString(3)).toMatch(/^[0-9a-f]{6}$/);
  });
});
