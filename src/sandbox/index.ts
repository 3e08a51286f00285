// berth's sandbox library: `import { Sandbox } from "berth"` (package.json "exports").
export { Sandbox, type SandboxOptions } from "./sandbox.ts";
export { DEFAULT_LIMITS, DEFAULT_TMPFS_BYTES } from "./options.ts";
export { STRICT_KILL } from "./profiles.ts";
export type { SandboxBind, SandboxLimits, SandboxResult, SandboxRunOptions, SandboxSeccomp, SandboxStatus } from "./types.ts";
