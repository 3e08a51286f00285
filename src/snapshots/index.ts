export * from "./types.ts";
export { LocalSnapshotter, type LocalSnapshotterOptions, type SnapshotRecord } from "./local.ts";
export { OverlaySnapshotter, overlaySupported } from "./overlay.ts";
export { NativeSnapshotter, copyTree } from "./native.ts";
export { mountAll, mountOne, unmount, unmountAll, parseMountOptions, MountError, type ParsedOptions } from "./mount.ts";
export { diskUsage } from "./disk-usage.ts";
export { applyLayers, chainIDs, type LayerToApply, type ApplyResult } from "./apply-layers.ts";
