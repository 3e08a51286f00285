import { command, args } from "../command.ts";
import { familiarName } from "../../engine/images.ts";
import { notFound } from "../../sys/errdefs.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "load",
  usage: "[OPTIONS]",
  summary: "Load images from a tar archive (docker save, OCI layout) or STDIN",
  flags: {
    input: { kind: "string", short: "i", help: "read from a tar archive file instead of STDIN" },
    quiet: { kind: "bool", short: "q", help: "suppress the load output" },
  },
  async run(p, e) {
    args(p, this, 0);
    const input = p.flags.input as string | undefined;
    let data: Uint8Array;
    if (input !== undefined) {
      const f = Bun.file(input);
      if (!(await f.exists())) throw notFound(`open ${input}: no such file or directory`, "--input");
      data = await f.bytes();
    } else data = await Bun.stdin.bytes();
    const { loadSource, tarSource } = await import("../../engine/archive.ts");
    const r = await loadSource(e, tarSource(input ?? "STDIN", data));
    if (!p.flags.quiet) {
      for (const n of r.names) stdout.write(`Loaded image: ${familiarName(n)}\n`);
      for (const id of r.untagged) stdout.write(`Loaded image ID: ${id}\n`);
    }
    return 0;
  },
});
