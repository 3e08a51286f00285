import { remove } from "../../runtime/container.ts";
import { command, containerId } from "./command.ts";

export default command("delete", "delete a container's resources (its process too when created, or with --force)", "<container-id>", {
  force: { kind: "bool", alias: "f", help: "kill the container first if it is still running" },
}, async (p, g) => {
  await remove(g.root, containerId(p, "delete"), p.flags.force === true);
  return 0;
});
