// Hashes and random ids without node:crypto. Loading that module is ~2 ms of a cold start
// (1.8–2.0 ms in a compiled berth, against 0.2 ms for Bun's hasher and Web Crypto's random bytes
// used here): it was paid by every berth command that makes a container, exec or volume, and by
// every runtime create with a seccomp profile (the cache key).
import type { SupportedCryptoAlgorithms } from "bun";

/** The digest of `data` in hex (or base64): sha256 for names and cache keys, sha1 where a protocol says so. */
export function hashOf(algorithm: SupportedCryptoAlgorithms, data: string, encoding: "hex" | "base64" = "hex"): string {
  return new Bun.CryptoHasher(algorithm).update(data).digest(encoding);
}

/** `bytes` random bytes (from the kernel's CSPRNG) as hex (or base64url): ids, tokens, names. */
export function randomString(bytes: number, encoding: "hex" | "base64url" = "hex"): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString(encoding);
}
