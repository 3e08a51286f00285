import { start } from "../../runtime/container.ts";
import { command, containerId } from "./command.ts";

export default command("start", "run the program of a created container", "<container-id>", {}, async (p, g) => {
  await start(g.root, containerId(p, "start"));
  return 0;
});
