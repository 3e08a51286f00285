import { command, args } from "../command.ts";
import { failedPrecondition, isBerthError, notFound } from "../../sys/errdefs.ts";
import { familiarName, findImage, namesOf, normalizeName, readImage } from "../images.ts";
import { chainIDs } from "../../snapshots/apply-layers.ts";

export default command({
  name: "rmi",
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  summary: "Remove one or more images (untag; content and snapshots nothing else uses are freed)",
  flags: {
    force: { kind: "bool", short: "f", help: "remove the image even if containers use it, and every tag of an ID" },
  },
  async run(p, e) {
    let failed = false;
    const freed: string[][] = [];
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
          process.stdout.write(`Untagged: ${familiarName(n)}\n`);
        }
        if (last) {
          process.stdout.write(`Deleted: ${img.id}\n`);
          freed.push(chainIDs(img.configDoc.rootfs?.diff_ids ?? []));
        }
      } catch (err) {
        if (!isBerthError(err)) throw err;
        process.stderr.write(`berth: ${err.message}\n`);
        failed = true;
      }
    }
    if (freed.length > 0) {
      const { collectGarbage } = await import("../../metadata/gc.ts");
      await collectGarbage(e.meta, e.shared);
      // Committed layer snapshots no remaining image uses, top first (a parent of another
      // snapshot, such as a container's, stays: remove() refuses it).
      const used = new Set<string>();
      for (const rec of e.images.list()) {
        const r = await readImage(e, rec).catch(() => undefined);
        for (const c of chainIDs(r?.configDoc.rootfs?.diff_ids ?? [])) used.add(c);
      }
      const sn = await e.snapshotter();
      for (const chain of freed) {
        for (const c of [...chain].reverse()) {
          if (used.has(c)) break;
          try {
            await sn.remove(c);
          } catch (err) {
            if (!isBerthError(err)) throw err;
            break;
          }
        }
      }
    }
    return failed ? 1 : 0;
  },
});
