// Runs the CRI front alone over an Engine, as berthd will with --cri-socket, for tests until the
// daemon serves it: bun cri-server-main.ts ROOT RUNROOT SOCKET. Ends on SIGTERM/SIGINT.
import { join, resolve } from "node:path";
import { Engine } from "../../src/engine/engine.ts";
import { startCriServer } from "../../src/api/cri/server.ts";

const [root, runroot, socket] = process.argv.slice(2) as [string, string, string];
const berth = resolve(import.meta.dir, "../../build/berth");
const e = new Engine({
  root, runroot, storageDriver: "overlay",
  exitCommand: [berth, "--root", root, "--runroot", runroot, "--storage-driver", "overlay", "container", "cleanup"],
  berthInit: join(import.meta.dir, "../../build/berth-init"),
});
const s = await startCriServer(e, { socket, log: (l) => process.stderr.write(`${l}\n`) });
process.stderr.write(`cri: serving on unix://${s.socket}\n`);
await new Promise<void>((res) => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => res());
});
await s.close();
await e.close();
process.exit(0);
