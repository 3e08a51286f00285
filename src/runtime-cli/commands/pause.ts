import { command, containerId } from "./command.ts";

export default command("pause", "suspend every process of a container (freezer cgroup)", "<container-id>", {}, async (p, g) => {
  const id = containerId(p, "pause");
  (await import("../../runtime/operations/pause.ts")).pause(g.root, id);
  return 0;
});
