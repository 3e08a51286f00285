// A berth process that sets up a container's network and is killed: it opens the same root as
// the test, creates the netns, runs setup and, when told, stops dead in the middle — inside the
// explain listener, which runs synchronously between two plugin calls — or after setup, and
// waits there for the SIGKILL. Usage: bun network-crash-child.ts CONFIG_JSON
import { MetadataDB } from "../../src/metadata/db.ts";
import { NetworkManager, parsePublish } from "../../src/network/index.ts";
import { explain } from "../../src/explain/channel.ts";
import { join } from "node:path";

const cfg = JSON.parse(process.argv[2]!) as { root: string; runroot: string; adminChain: string; defaultBridge: string; network: string; id: string; stopAt: string; ports: string[] };
const meta = new MetadataDB(join(cfg.root, "meta.db"));
const m = new NetworkManager({ db: meta.db, root: cfg.root, runroot: cfg.runroot, adminChain: cfg.adminChain, defaultBridge: cfg.defaultBridge, aardvark: { forward: false } });
const hang = () => {
  process.stdout.write(`STOPPED ${cfg.stopAt}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
};
explain.subscribe((e) => {
  if (e.step === cfg.stopAt) hang();
});
const netnsPath = await m.createNetns(cfg.id);
await m.setup({ id: cfg.id, name: "crashy", netnsPath }, [{ network: cfg.network }], cfg.ports.flatMap(parsePublish));
if (cfg.stopAt === "done") hang();
