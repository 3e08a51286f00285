import { kill } from "../../runtime/container.ts";
import { parseSignal } from "../../sys/signals.ts";
import { command, containerId } from "./command.ts";

export default command("kill", "send a signal (default SIGTERM) to a container's init, or --all its processes", "<container-id> [signal]", {
  all: { kind: "bool", alias: "a", help: "send the signal to every process in the container" },
}, (p, g) => {
  const id = containerId(p, "kill", 2);
  // Signal 0 only checks that the init is alive (kill(2)), as runc accepts it.
  const sig = p.rest[1] === "0" ? 0 : parseSignal(p.rest[1] ?? "SIGTERM");
  kill(g.root, id, sig, p.flags.all === true);
  return 0;
});
