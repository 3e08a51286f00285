import { command, args } from "../command.ts";
import { isBerthError, notFound, invalidArgument } from "../../sys/errdefs.ts";
import { findImage, namesOf, familiarName, type ResolvedImage } from "../../engine/images.ts";
import type { Engine } from "../../engine/engine.ts";
import { stdout, stderr } from "../stdio.ts";

/** docker's image inspect shape, for the fields berth knows. */
async function imageDoc(e: Engine, img: ResolvedImage): Promise<Record<string, unknown>> {
  const names = await namesOf(e, img.id);
  const c = img.configDoc;
  return {
    Id: img.id,
    RepoTags: names.filter((n) => !n.includes("@")).map(familiarName),
    RepoDigests: names.map((n) => `${familiarName(n).replace(/[:@].*$/, "")}@${img.record.target.digest}`),
    Parent: "",
    Comment: "",
    Created: c.created ?? "",
    Config: c.config ?? {},
    Architecture: c.architecture ?? "",
    Os: c.os ?? "",
    Size: img.layers.reduce((a, l) => a + l.size, 0),
    RootFS: { Type: c.rootfs?.type ?? "layers", Layers: c.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: img.record.updatedAt.toISOString() },
    Descriptor: img.record.target,
    Manifest: img.manifest,
  };
}

export default command({
  name: "inspect",
  usage: "[OPTIONS] NAME|ID [NAME|ID...]",
  summary: "Return low-level information on containers and images (JSON)",
  flags: {
    format: { kind: "string", short: "f", help: "\"json\" or a Go template such as {{.State.ExitCode}} or {{json .Config}}" },
    type: { kind: "string", help: "container or image (default: a container if one matches, else an image)" },
  },
  async run(p, e) {
    const type = p.flags.type as string | undefined;
    if (type !== undefined && type !== "container" && type !== "image") throw invalidArgument(`--type ${type}: use container or image`, "--type");
    const fmt = p.flags.format as string | undefined;
    // The template is parsed before any object is looked up (a bad one exits 64, as docker).
    const inspectFormat = fmt ? (await import("../formatter.ts")).InspectFormat.parse(fmt) : undefined;
    const docs: Record<string, unknown>[] = [];
    let failed = false;
    for (const ref of args(p, this, 1, Infinity)) {
      try {
        let doc: Record<string, unknown> | undefined;
        if (type !== "image") {
          try {
            const { getContainer } = await import("../../engine/containers.ts");
            const { containerInspect } = await import("../../docker/container-json.ts");
            const { networkView } = await import("../../engine/network.ts");
            const { listExecs } = await import("../../engine/exec.ts");
            const c = await getContainer(e, ref);
            // docker's ExecIDs: the sessions not yet ended (an ended one is still inspectable by id).
            const execIds = listExecs(e, c.id).filter((x) => x.state !== "exited").map((x) => x.id);
            doc = containerInspect(e, c, await networkView(e, c), execIds);
          } catch (err) {
            if (!isBerthError(err, "NotFound")) throw err;
          }
        }
        if (!doc && type !== "container") {
          const img = await findImage(e, ref);
          if (img) doc = await imageDoc(e, img);
        }
        if (!doc) throw notFound(`No such ${type ?? "object"}: ${ref}`, "name");
        docs.push(doc);
      } catch (err) {
        if (!isBerthError(err)) throw err;
        stderr.write(`berth: ${err.message}\n`);
        failed = true;
      }
    }
    if (inspectFormat) {
      const r = inspectFormat.render(docs);
      stdout.write(r.out);
      for (const msg of r.errors) stderr.write(`berth: ${msg}\n`);
      if (r.errors.length) failed = true;
    } else stdout.write(`${JSON.stringify(docs, null, 4)}\n`);
    return failed ? 1 : 0;
  },
});
