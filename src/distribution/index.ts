export * from "./reference.ts";
export * from "./auth.ts";
export * from "./platform.ts";
export { RegistryClient, Repository, isLoopbackHost, registryError, type RegistryClientOptions, type FetchedManifest } from "./registry-client.ts";
export { pull, type PullOptions, type PullProgress, type PullResult } from "./pull.ts";
export { push, type PushOptions, type PushProgress, type PushResult } from "./push.ts";
