// docker's habit before `run`/`create`: an image that is not here is pulled (the built-in
// busybox is installed instead, offline), with the pull's lines on stderr.
import { invalidArgument } from "../sys/errdefs.ts";
import { timed } from "../explain/channel.ts";
import { BUILTIN_BUSYBOX_NAME } from "../image/builtin-busybox.ts";
import type { Engine } from "../engine/engine.ts";
import { findImage, normalizeName } from "../engine/images.ts";
import { UsageError } from "./flags.ts";
import { nodeStderr, stderr } from "./stdio.ts";

export type PullPolicy = "missing" | "always" | "never";

export function parsePullPolicy(v: string | undefined): PullPolicy {
  if (v === undefined) return "missing";
  if (v === "missing" || v === "always" || v === "never") return v;
  throw new UsageError(`invalid pull option: '${v}': must be one of "always", "missing" or "never"`, "--pull");
}

export async function ensureImage(e: Engine, ref: string, o: { pull?: PullPolicy; quiet?: boolean; platform?: string } = {}): Promise<void> {
  const policy = o.pull ?? "missing";
  if (policy !== "always" && (await findImage(e, ref))) return;
  let name: string;
  try {
    name = normalizeName(ref);
  } catch (err) {
    throw invalidArgument(`${(err as Error).message}`, "image");
  }
  if (name === BUILTIN_BUSYBOX_NAME) {
    if (await findImage(e, ref)) return;
    const { installBuiltinBusybox } = await import("../image/builtin-busybox.ts");
    await timed("cli", "image", "install the built-in busybox image", () => installBuiltinBusybox({ content: e.content, images: e.images }));
    return;
  }
  if (policy === "never") throw invalidArgument(`No such image: ${ref} (--pull never: pull it first with berth pull ${ref})`, "image");
  if (policy === "missing") stderr.write(`Unable to find image '${ref}' locally\n`);
  const { pullImage } = await import("./registry.ts");
  await pullImage(e, ref, { out: nodeStderr(), quiet: o.quiet ?? false, ...(o.platform ? { platform: o.platform } : {}) });
}
