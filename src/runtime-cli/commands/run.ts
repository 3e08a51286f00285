import { resolve } from "node:path";
import { run } from "../../runtime/container.ts";
import { command, containerId } from "./command.ts";
import { createFlags } from "./create.ts";

export default command("run", "create and run a container; waits for it unless --detach", "<container-id>", {
  ...createFlags,
  detach: { kind: "bool", alias: "d", help: "return once the container runs" },
  keep: { kind: "bool", help: "keep the container's state after it exits (delete it later)" },
}, async (p, g, log) => {
  const id = containerId(p, "run");
  const r = await run({
    root: g.root, id, bundle: resolve((p.flags.bundle as string) ?? "."),
    ...(p.flags["pid-file"] ? { pidFile: resolve(p.flags["pid-file"] as string) } : {}),
    onWarning: (m) => log("warning", m),
    noPivot: p.flags["no-pivot"] === true, preserveFds: (p.flags["preserve-fds"] as number) ?? 0,
    detach: p.flags.detach === true, keep: p.flags.keep === true, explain: g.explain,
    ...(p.flags["console-socket"] ? { consoleSocket: resolve(p.flags["console-socket"] as string) } : {}),
  });
  return r.status;
});
