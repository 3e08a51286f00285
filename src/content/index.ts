export * from "./types.ts";
export * from "./digest.ts";
export { LocalContentStore, applyLabelUpdate } from "./local-store.ts";
export * from "./write-blob.ts";
