import { closeSync, openSync, renameSync, rmSync } from "node:fs";
import { command, args } from "../command.ts";
import { invalidArgument } from "../../sys/errdefs.ts";
import { mustFindImage, normalizeName } from "../../engine/images.ts";
import { nodeStdout } from "../stdio.ts";

export default command({
  name: "save",
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  summary: "Save images to a tar archive (an OCI layout that docker load also reads), to STDOUT by default",
  flags: {
    output: { kind: "string", short: "o", help: "write to a file instead of STDOUT" },
  },
  async run(p, e) {
    const refs = args(p, this, 1, Infinity);
    const images = [];
    for (const ref of refs) {
      const img = await mustFindImage(e, ref);
      let name = img.record.name;
      try {
        // Saved by name: the archive names the image as given (docker's rule), not its other tags.
        if (normalizeName(ref) === img.record.name) name = img.record.name;
      } catch {}
      images.push({ name, img });
    }
    const out = p.flags.output as string | undefined;
    if (out === undefined && nodeStdout().isTTY) {
      throw invalidArgument("cowardly refusing to save to a terminal: use the -o flag or redirect", "--output");
    }
    const { TarWriter } = await import("../../image/tar-writer.ts");
    const { saveImages } = await import("../../engine/archive.ts");
    if (out === undefined) {
      await saveImages(e, images, new TarWriter(1));
      return 0;
    }
    const tmp = `${out}.tmp-${process.pid}`;
    const fd = openSync(tmp, "w", 0o644);
    try {
      await saveImages(e, images, new TarWriter(fd));
      closeSync(fd);
      renameSync(tmp, out);
    } catch (err) {
      try { closeSync(fd); } catch {}
      rmSync(tmp, { force: true });
      throw err;
    }
    return 0;
  },
});
