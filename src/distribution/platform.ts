// Platform selection from an image index (image-index.md "platform"): the first manifest whose
// os/architecture match, preferring an exact variant; entries without a platform (attestations,
// artifacts) are never picked.

import { invalidArgument, notFound } from "../sys/errdefs.ts";
import type { Descriptor, Platform } from "../content/types.ts";

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm" };

export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

/** "linux/arm64/v8" → {os, architecture, variant}. */
export function parsePlatform(s: string): Platform {
  const [os, arch, variant, ...rest] = s.split("/");
  if (!os || !arch || rest.length > 0) {
    throw invalidArgument(`invalid platform ${JSON.stringify(s)}: expected os/architecture[/variant], e.g. linux/amd64`, "platform");
  }
  const p: Platform = { os, architecture: ARCH_ALIASES[arch] ?? arch };
  if (variant) p.variant = variant;
  return p;
}

export const formatPlatform = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join("/");

/** arm64's only variant is v8: an absent variant means v8 (as containerd normalises it). */
function variantOf(p: Platform): string {
  if (p.variant) return p.variant;
  return p.architecture === "arm64" ? "v8" : "";
}

export function selectManifest(manifests: Descriptor[], want: Platform = DEFAULT_PLATFORM, what = "index"): Descriptor {
  const candidates = manifests.filter(
    (m) => m.platform && m.platform.os === want.os && (ARCH_ALIASES[m.platform.architecture] ?? m.platform.architecture) === want.architecture,
  );
  const wantVariant = variantOf(want);
  const exact = candidates.find((m) => variantOf(m.platform!) === wantVariant);
  const pick = exact ?? (want.variant ? undefined : candidates[0]);
  if (!pick) {
    const have = manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!)).join(", ");
    throw notFound(`${what} has no manifest for ${formatPlatform(want)} (it has: ${have || "no platforms"}); choose one with --platform`, "platform");
  }
  return pick;
}
