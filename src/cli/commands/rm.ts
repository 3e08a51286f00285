import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { command, args } from "../command.ts";
import { failedPrecondition, isBerthError } from "../../sys/errdefs.ts";
import { alive, statusOf } from "../containers.ts";

export default command({
  name: "rm",
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Remove one or more containers (record, snapshot, runtime files)",
  flags: {
    force: { kind: "bool", short: "f", help: "force the removal of a running container (SIGKILL)" },
  },
  async run(p, e) {
    let failed = false;
    for (const ref of args(p, this, 1, Infinity)) {
      try {
        const c = e.containers.find(ref);
        if (statusOf(c) === "running") {
          if (!p.flags.force) throw failedPrecondition(`cannot remove container "${c.name}": container is running: stop the container before removing or force remove (berth rm -f)`, "container");
          const { kill } = await import("../../runtime/container.ts");
          try {
            kill(e.runtimeRoot, c.id, 9, true);
          } catch (err) {
            if (!isBerthError(err)) throw err;
          }
          // The foreground `berth run` unmounts and records the exit; wait for it.
          for (let i = 0; i < 1000 && c.pid !== undefined && alive(c.pid); i++) await Bun.sleep(10);
        }
        // A `berth run` that was killed itself leaves the runtime's state and cgroup: remove them.
        if (existsSync(join(e.runtimeRoot, c.id))) {
          const { remove } = await import("../../runtime/container.ts");
          await remove(e.runtimeRoot, c.id, true);
        }
        const rootfs = join(e.containerDir(c.id), "rootfs");
        if (existsSync(rootfs)) {
          const { unmountAll } = await import("../../snapshots/mount.ts");
          unmountAll(rootfs, { detach: true });
        }
        const sn = await e.snapshotter();
        await sn.remove(c.snapshotKey).catch((err: unknown) => {
          if (!isBerthError(err, "NotFound")) throw err;
        });
        rmSync(e.containerDir(c.id), { recursive: true, force: true });
        e.containers.delete(c.id);
        process.stdout.write(`${ref}\n`);
      } catch (err) {
        if (!isBerthError(err)) throw err;
        process.stderr.write(`berth: ${err.message}\n`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
});
