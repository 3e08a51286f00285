import { command, containerId } from "./command.ts";

export default command("resume", "resume the processes of a paused container", "<container-id>", {}, async (p, g) => {
  const id = containerId(p, "resume");
  (await import("../../runtime/operations/pause.ts")).resume(g.root, id);
  return 0;
});
