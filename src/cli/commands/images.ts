import { command, args } from "../command.ts";
import { humanSize3 } from "../units.ts";
import { ago, shortId, table } from "../format.ts";
import { readImage, repoAndTag, normalizeName } from "../../engine/images.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "images",
  usage: "[OPTIONS] [REPOSITORY[:TAG]]",
  summary: "List images",
  flags: {
    quiet: { kind: "bool", short: "q", help: "only show image IDs" },
    "no-trunc": { kind: "bool", help: "don't truncate output" },
    digests: { kind: "bool", help: "show digests" },
    format: { kind: "string", help: "\"table\", \"json\" (one object per line) or a Go template such as {{.Repository}}:{{.Tag}}" },
  },
  async run(p, e) {
    const [filter] = args(p, this, 0, 1);
    const noTrunc = p.flags["no-trunc"] === true;
    const now = Date.now();
    const fmt = p.flags.format as string | undefined;
    const digests = p.flags.digests === true;
    // docker's ImageContext (cli/command/formatter/image.go): header names and default tables.
    const listFormat = fmt && !p.flags.quiet
      ? (await import("../formatter.ts")).ListFormat.parse(fmt, {
          typeName: "*formatter.ImageContext",
          defaultTable: `table {{.Repository}}\t{{.Tag}}${digests ? "\t{{.Digest}}" : ""}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}`,
          header: {
            ID: "IMAGE ID", Repository: "REPOSITORY", Tag: "TAG", Digest: "DIGEST", CreatedSince: "CREATED", CreatedAt: "CREATED AT",
            Size: "SIZE", Containers: "CONTAINERS", SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE",
          },
        })
      : undefined;
    const rows = [];
    for (const rec of e.images.list()) {
      if (filter !== undefined) {
        const want = filter.includes(":") ? normalizeName(filter) : normalizeName(filter).replace(/:latest$/, "");
        if (!(rec.name === want || rec.name.startsWith(`${want}:`))) continue;
      }
      const img = await readImage(e, rec).catch(() => undefined);
      const { repo, tag } = repoAndTag(rec.name);
      // Size: what the image takes in the content store (config and compressed layers).
      const size = img ? img.config.size + img.layers.reduce((a, l) => a + l.size, 0) : 0;
      const created = img?.configDoc.created ? new Date(img.configDoc.created) : rec.createdAt;
      const id = img?.id ?? rec.target.digest;
      rows.push({
        Repository: repo, Tag: tag, ID: noTrunc ? id : shortId(id), Digest: rec.target.digest,
        CreatedAt: created.toISOString(), CreatedSince: ago(created, now), Size: humanSize3(size), VirtualSize: humanSize3(size),
        Containers: "N/A", SharedSize: "N/A", UniqueSize: "N/A",
      });
    }
    if (p.flags.quiet) {
      const seen = new Set<string>();
      for (const r of rows) if (!seen.has(r.ID)) {
        seen.add(r.ID);
        stdout.write(`${r.ID}\n`);
      }
      return 0;
    }
    if (listFormat) {
      for (const r of rows) listFormat.add(r);
      stdout.write(listFormat.render());
      return 0;
    }
    stdout.write(table(
      ["REPOSITORY", "TAG", ...(digests ? ["DIGEST"] : []), "IMAGE ID", "CREATED", "SIZE"],
      rows.map((r) => [r.Repository, r.Tag, ...(digests ? [r.Digest] : []), r.ID, r.CreatedSince, r.Size]),
    ));
    return 0;
  },
});
