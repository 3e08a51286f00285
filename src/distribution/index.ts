export * from "./reference.ts";
export * from "./auth.ts";
export * from "./platform.ts";
export * from "./registries-config.ts";
export { RegistryClient, Repository, isLoopbackHost, registryError, type RegistryClientOptions, type FetchedManifest } from "./registry-client.ts";
export { PullSource } from "./pull-source.ts";
export { pull, DEFAULT_PULL_RETRIES, DEFAULT_STALL_TIMEOUT_MS, type PullOptions, type PullProgress, type PullResult, type UnpackRequest } from "./pull.ts";
export { push, type PushOptions, type PushProgress, type PushResult } from "./push.ts";
