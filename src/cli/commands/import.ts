import { statSync } from "node:fs";
import { command, args } from "../command.ts";
import { familiarName, findImage } from "../../engine/images.ts";
import { notFound } from "../../sys/errdefs.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "import",
  usage: "SOURCE [REPOSITORY[:TAG]]",
  summary: "Import images from an OCI image layout (a directory, or a tar of one, as skopeo and umoci write) or a docker archive; prints each image's ID",
  flags: {
    quiet: { kind: "bool", short: "q", help: "print nothing" },
  },
  async run(p, e) {
    const [source, name] = args(p, this, 1, 2);
    let st;
    try {
      st = statSync(source!);
    } catch {
      throw notFound(`${source}: no such file or directory (give an OCI layout directory or archive)`, "source");
    }
    const { loadSource, tarSource, dirSource, repoFromPath } = await import("../../engine/archive.ts");
    const src = st.isDirectory() ? dirSource(source!) : tarSource(source!, await Bun.file(source!).bytes());
    const defaultRepo = repoFromPath(source!);
    const r = await loadSource(e, src, { ...(name !== undefined ? { name } : {}), ...(defaultRepo ? { defaultRepo } : {}) });
    if (!p.flags.quiet) {
      for (const n of r.names) {
        const img = await findImage(e, n);
        stdout.write(`${img?.id ?? ""}\t${familiarName(n)}\n`);
      }
      for (const id of r.untagged) stdout.write(`${id}\n`);
    }
    return 0;
  },
});
