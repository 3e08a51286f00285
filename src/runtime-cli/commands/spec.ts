import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { alreadyExists } from "../../sys/errdefs.ts";
import { defaultSpec } from "../../runtime/spec/default-spec.ts";
import { command } from "./command.ts";

export default command("spec", "write a default config.json (as `runc spec`)", "", {
  bundle: { kind: "string", alias: "b", help: "directory to write config.json in (default: the current directory)" },
  rootless: { kind: "bool", help: "a config for an unprivileged user (user namespace, no network namespace)" },
}, (p) => {
  const file = join(resolve((p.flags.bundle as string) ?? "."), "config.json");
  if (existsSync(file)) throw alreadyExists(`spec: ${file} already exists: remove it first`, file);
  writeFileSync(file, JSON.stringify(defaultSpec({ rootless: p.flags.rootless === true }), null, "\t"));
  return 0;
});
