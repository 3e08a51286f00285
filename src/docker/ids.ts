// Docker's short form of an id or digest, shared by the CLI and the Docker API.

/** "sha256:abcdef…" or "abcdef…" → "abcdef012345" (docker's stringid.TruncateID). */
export const shortId = (id: string): string => id.replace(/^sha256:/, "").slice(0, 12);
