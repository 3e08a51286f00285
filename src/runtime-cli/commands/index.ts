// Every verb of berth-runtime. Verbs of runc that berth does not have yet answer with a clear error.
import { notImplemented } from "../../sys/errdefs.ts";
import type { Command } from "./command.ts";
import create from "./create.ts";
import start from "./start.ts";
import run from "./run.ts";
import state from "./state.ts";
import kill from "./kill.ts";
import del from "./delete.ts";
import list from "./list.ts";
import spec from "./spec.ts";
import features from "./features.ts";
import pause from "./pause.ts";
import resume from "./resume.ts";
import ps from "./ps.ts";
import update from "./update.ts";
import events from "./events.ts";
import exec from "./exec.ts";

const missing = (name: string, why: string): Command => ({
  summary: `(not supported yet) ${why}`,
  help: () => `berth-runtime ${name}: not supported yet — ${why}`,
  run: async () => {
    throw notImplemented(`${name} is not supported by this berth-runtime yet: ${why}`, name);
  },
});

export const COMMANDS: Record<string, Command> = {
  create, start, run, state, kill, delete: del, list, spec, features, exec,
  ps,
  pause,
  resume,
  update,
  events,
  checkpoint: missing("checkpoint", "CRIU does not work on this kernel"),
  restore: missing("restore", "CRIU does not work on this kernel"),
};
