// Media types of the OCI image-spec (media-types.md) and their Docker schema2 equivalents
// (Docker's "Image Manifest V 2, Schema 2"), which registries and tools still use side by side.

export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export const isIndexType = (t: string | undefined): boolean =>
  t === MediaType.ociIndex || t === MediaType.dockerManifestList;

export const isManifestType = (t: string | undefined): boolean =>
  t === MediaType.ociManifest || t === MediaType.dockerManifest;

/** The Accept header a client sends for manifests: every kind it can read. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(", ");

/** Guess the kind of a manifest document whose response carried no usable Content-Type. */
export function sniffManifestType(doc: { mediaType?: unknown; manifests?: unknown; config?: unknown }): string | undefined {
  if (typeof doc.mediaType === "string" && (isIndexType(doc.mediaType) || isManifestType(doc.mediaType))) return doc.mediaType;
  if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  if (doc.config && typeof doc.config === "object") return MediaType.ociManifest;
  return undefined;
}
