import { state } from "../../runtime/container.ts";
import { command, containerId } from "./command.ts";

export default command("state", "print the state of a container as JSON", "<container-id>", {}, (p, g) => {
  console.log(JSON.stringify(state(g.root, containerId(p, "state")), null, 2));
  return 0;
});
