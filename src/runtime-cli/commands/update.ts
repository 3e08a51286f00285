import { readFileSync } from "node:fs";
import { invalidArgument } from "../../sys/errdefs.ts";
import { command, containerId } from "./command.ts";

export default command("update", "change a running container's resource limits", "<container-id>", {
  resources: { kind: "string", alias: "r", help: "LinuxResources JSON file, or - for stdin (other flags are then ignored)" },
  "blkio-weight": { kind: "int", help: "block I/O weight, 10..1000" },
  "cpu-period": { kind: "string", help: "CPU CFS period (µs)" },
  "cpu-quota": { kind: "string", help: "CPU CFS quota per period (µs), -1 for none" },
  "cpu-share": { kind: "string", alias: "cpu-shares", help: "CPU shares (relative weight)" },
  "cpu-rt-period": { kind: "string", help: "CPU realtime period (µs)" },
  "cpu-rt-runtime": { kind: "string", help: "CPU realtime runtime per period (µs)" },
  "cpuset-cpus": { kind: "string", help: "CPUs to use, e.g. 0-1" },
  "cpuset-mems": { kind: "string", help: "memory nodes to use" },
  "kernel-memory": { kind: "string", help: "(ignored, as by runc 1.1)" },
  "kernel-memory-tcp": { kind: "string", help: "(ignored, as by runc 1.1)" },
  memory: { kind: "string", help: "memory limit: bytes or a size like 64m; -1 for none" },
  "memory-reservation": { kind: "string", help: "memory soft limit" },
  "memory-swap": { kind: "string", help: "memory+swap limit; -1 for unlimited swap" },
  "pids-limit": { kind: "int", help: "maximum number of processes; -1 for none" },
  "l3-cache-schema": { kind: "string", help: "Intel RDT (not supported)" },
  "mem-bw-schema": { kind: "string", help: "Intel RDT (not supported)" },
}, async (p, g, log) => {
  const id = containerId(p, "update");
  const ops = await import("../../runtime/operations/update.ts");
  const src = p.flags.resources as string | undefined;
  let req: import("../../runtime/operations/update.ts").ResourceUpdate;
  if (src !== undefined && src !== "") {
    let text: string;
    try {
      text = readFileSync(src === "-" ? 0 : src, "utf8");
    } catch (e) {
      throw invalidArgument(`cannot read resources from ${src === "-" ? "stdin" : src}: ${(e as Error).message}`, "--resources");
    }
    req = ops.resourcesFromJson(text, src === "-" ? "stdin" : src);
  } else {
    req = ops.resourcesFromFlags(p.flags as import("../../runtime/operations/update.ts").UpdateFlags);
  }
  for (const w of req.warnings) log("warning", w);
  for (const w of ops.update(g.root, id, req.resources)) log("debug", w);
  return 0;
});
