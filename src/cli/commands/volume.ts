import { group } from "../command.ts";

export default group("volume", "Manage volumes", {
  create: ["Create a volume", () => import("./volume-create.ts")],
  ls: ["List volumes", () => import("./volume-ls.ts")],
  list: ["", () => import("./volume-ls.ts")],
  inspect: ["Display detailed information on one or more volumes", () => import("./volume-inspect.ts")],
  rm: ["Remove one or more volumes", () => import("./volume-rm.ts")],
  remove: ["", () => import("./volume-rm.ts")],
  prune: ["Remove unused volumes (anonymous ones; -a for all)", () => import("./volume-prune.ts")],
});
