import { command, args } from "../command.ts";
import { failedPrecondition, isBerthError, notFound } from "../../sys/errdefs.ts";
import { familiarName, findImage, namesOf, normalizeName } from "../../engine/images.ts";
import { stdout, stderr } from "../stdio.ts";

export default command({
  name: "rmi",
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  summary: "Remove one or more images (untag; content and snapshots nothing else uses are freed)",
  flags: {
    force: { kind: "bool", short: "f", help: "remove the image even if containers use it, and every tag of an ID" },
  },
  async run(p, e) {
    let failed = false;
    let freed = false;
    for (const ref of args(p, this, 1, Infinity)) {
      try {
        const img = await findImage(e, ref);
        if (!img) throw notFound(`No such image: ${ref}`, "image");
        let byName = false;
        try {
          byName = normalizeName(ref) === img.record.name;
        } catch {}
        const names = await namesOf(e, img.id);
        // By ID: every tag goes (docker asks for -f when there are several).
        const untag = byName ? [img.record.name] : names;
        if (!byName && names.length > 1 && !p.flags.force) {
          throw failedPrecondition(`conflict: unable to delete ${ref} (must be forced) - image is referenced in multiple repositories`, "image");
        }
        const last = untag.length === names.length;
        const users = e.containers.list().filter((c) => c.imageId === img.id);
        if (last && users.length > 0 && !p.flags.force) {
          throw failedPrecondition(`conflict: unable to remove image ${ref} (must be forced) - container ${users[0]!.id.slice(0, 12)} (${users[0]!.name}) is using it; remove the container first (berth rm)`, "image");
        }
        for (const n of untag) {
          e.images.delete(n);
          stdout.write(`Untagged: ${familiarName(n)}\n`);
        }
        if (last) {
          stdout.write(`Deleted: ${img.id}\n`);
          freed = true;
        }
      } catch (err) {
        if (!isBerthError(err)) throw err;
        stderr.write(`berth: ${err.message}\n`);
        failed = true;
      }
    }
    // Content and snapshots nothing else uses go (a layer a container still runs on stays).
    if (freed) {
      const { collectEngineGarbage } = await import("../../engine/gc.ts");
      await collectEngineGarbage(e);
    }
    return failed ? 1 : 0;
  },
});
