// Every verb of berth-runtime. Verbs of runc that berth does not have yet answer with a clear error.
// Each verb's file (and the part of the runtime library it uses) is loaded only when that verb
// runs: `state` or `kill` need not evaluate the planner, and the executable's start time is on
// the path of every container operation containerd and podman make.
import { notImplemented } from "../../sys/errdefs.ts";
import type { Command } from "./command.ts";

const missing = (name: string, why: string): Command => ({
  summary: `(not supported yet) ${why}`,
  help: () => `berth-runtime ${name}: not supported yet — ${why}`,
  run: async (argv) => {
    // -h works on every verb, as runc's: a caller probing for the verb's flags gets its help.
    if (argv.some((a) => a === "-h" || a === "--help" || a === "-help")) {
      console.log(`berth-runtime ${name}: not supported yet — ${why}`);
      return 0;
    }
    throw notImplemented(`${name} is not supported by this berth-runtime yet: ${why}`, name);
  },
});

const VERBS: Record<string, () => Promise<Command>> = {
  create: async () => (await import("./create.ts")).default,
  start: async () => (await import("./start.ts")).default,
  run: async () => (await import("./run.ts")).default,
  state: async () => (await import("./state.ts")).default,
  kill: async () => (await import("./kill.ts")).default,
  delete: async () => (await import("./delete.ts")).default,
  list: async () => (await import("./list.ts")).default,
  spec: async () => (await import("./spec.ts")).default,
  features: async () => (await import("./features.ts")).default,
  exec: async () => (await import("./exec.ts")).default,
  ps: async () => (await import("./ps.ts")).default,
  pause: async () => (await import("./pause.ts")).default,
  resume: async () => (await import("./resume.ts")).default,
  update: async () => (await import("./update.ts")).default,
  events: async () => (await import("./events.ts")).default,
  doctor: async () => (await import("./doctor.ts")).default,
  checkpoint: async () => missing("checkpoint", "CRIU does not work on this kernel"),
  restore: async () => missing("restore", "CRIU does not work on this kernel"),
};

/** The verbs, in the order `help` lists them. */
export const COMMAND_NAMES: readonly string[] = Object.keys(VERBS);

/** The verb's command, or undefined for a name berth-runtime does not know. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(VERBS, name) ? VERBS[name]!() : undefined;
}
