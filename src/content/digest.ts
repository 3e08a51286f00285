// Digests as the OCI image-spec defines them (descriptor.md, "Digests"):
//   digest ::= algorithm ":" encoded; sha256 → 64 lowercase hex, sha512 → 128 lowercase hex.
// Only registered algorithms are accepted: an unknown one cannot be verified, so it is refused.

import { invalidArgument } from "../sys/errdefs.ts";

export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parse and validate a digest string; the error names the input and the expected form. */
export function parseDigest(digest: string, field = "digest"): ParsedDigest {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (colon < 0 || (algorithm !== "sha256" && algorithm !== "sha512")) {
    throw invalidArgument(
      `invalid digest ${JSON.stringify(digest)}: expected "sha256:<64 hex>" or "sha512:<128 hex>"`,
      field,
    );
  }
  const want = HEX_LENGTH[algorithm];
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    throw invalidArgument(
      `invalid digest ${JSON.stringify(digest)}: ${algorithm} needs exactly ${want} lowercase hex characters`,
      field,
    );
  }
  return { algorithm, hex };
}

export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** Incremental digester; `copy()` lets a writer report its digest so far without finishing. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  private hasher: Bun.CryptoHasher;
  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.hasher = new Bun.CryptoHasher(algorithm);
  }
  update(data: Uint8Array): void {
    this.hasher.update(data);
  }
  digest(): string {
    return `${this.algorithm}:${this.hasher.copy().digest("hex")}`;
  }
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): string {
  const h = new Bun.CryptoHasher(algorithm);
  h.update(data);
  return `${algorithm}:${h.digest("hex")}`;
}
