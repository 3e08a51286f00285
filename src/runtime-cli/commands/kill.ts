import { kill } from "../../runtime/container.ts";
import { parseSignal } from "../../sys/signals.ts";
import { command, containerId } from "./command.ts";

export default command("kill", "send a signal (default SIGTERM) to a container's init, or --all its processes", "<container-id> [signal]", {
  all: { kind: "bool", alias: "a", help: "send the signal to every process in the container" },
}, (p, g) => {
  const id = containerId(p, "kill", 2);
  kill(g.root, id, parseSignal(p.rest[1] ?? "SIGTERM"), p.flags.all === true);
  return 0;
});
