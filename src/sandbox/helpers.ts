// Where the sandbox's two C helpers are: beside the compiled executable (build/berth), or in
// build/ when running from the sources, as berth-init is found (src/runtime/launch.ts).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { failedPrecondition } from "../sys/errdefs.ts";

export type SandboxHelper = "berth-sandbox-init" | "berth-sandbox-guard";

export function sandboxHelperPath(name: SandboxHelper): string {
  for (const p of [join(dirname(process.execPath), name), join(import.meta.dir, "../../build", name)]) if (existsSync(p)) return p;
  throw failedPrecondition(`${name} is not built: run scripts/build.sh (it builds native/${name}.c)`);
}
