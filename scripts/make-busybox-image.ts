// Makes the built-in busybox:latest from the host's busybox-static and installs it.
//
//   bun scripts/make-busybox-image.ts [--root DIR] [--namespace NS] [--layout DIR] [--busybox PATH]
//
// --root     engine data directory (content store + meta.db); the image is named
//            docker.io/library/busybox:latest in --namespace (default "default")
// --layout   also write an OCI layout directory (skopeo `oci:DIR:latest`, umoci `DIR:latest`)
// With neither, only the digests are printed.

import { join } from "node:path";
import { LocalContentStore } from "../src/content/index.ts";
import { ImageStore, MetadataDB, NamespacedContentStore } from "../src/metadata/index.ts";
import { buildBusyboxImage, writeImageToContentStore, writeOciLayout } from "../src/image/builtin-busybox.ts";
import { BerthError } from "../src/sys/errdefs.ts";

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(root|namespace|layout|busybox)(?:=(.*))?$/.exec(a);
    if (!m) throw new BerthError("InvalidArgument", `unknown argument ${JSON.stringify(a)}; see the comment at the top of this script`, "argv");
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === "") throw new BerthError("InvalidArgument", `--${m[1]} needs a value`, m[1]);
    out[m[1]!] = v;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const img = await buildBusyboxImage(args.busybox ? { busybox: args.busybox } : {});
  if (args.root) {
    const meta = new MetadataDB(join(args.root, "meta.db"));
    try {
      const ns = args.namespace ?? "default";
      await writeImageToContentStore(new NamespacedContentStore(meta, new LocalContentStore(args.root), ns), img);
      new ImageStore(meta, ns).put({ name: img.name, target: img.index, labels: { "io.berth.builtin": "busybox" } });
    } finally {
      meta.close();
    }
  }
  if (args.layout) await writeOciLayout(args.layout, img);
  console.log(`${img.name} (${img.version})`);
  console.log(`  index    ${img.index.digest}`);
  console.log(`  manifest ${img.manifest.digest}`);
  console.log(`  config   ${img.config.digest}`);
  console.log(`  layer    ${img.layer.digest} (${img.layer.size} bytes, diff ${img.diffID})`);
}

main().catch((e: unknown) => {
  console.error(`make-busybox-image: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
