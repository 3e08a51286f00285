import { command, args } from "../command.ts";
import { CONTAINER_FLAGS, specFromFlags } from "../container-flags.ts";
import { ensureImage, parsePullPolicy } from "../ensure-image.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "create",
  usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  summary: "Create a new container (start it with berth start)",
  stopAtPositional: true,
  ownErrorStatus: 125,
  flags: CONTAINER_FLAGS,
  async run(p, e) {
    const [image, ...cmd] = args(p, this, 1, Infinity);
    const spec = specFromFlags(p, image!, cmd, process.env);
    await ensureImage(e, image!, { pull: parsePullPolicy(p.flags.pull as string | undefined), quiet: p.flags.quiet === true, ...(p.flags.platform ? { platform: p.flags.platform as string } : {}) });
    const { createContainer } = await import("../../engine/containers.ts");
    const c = await createContainer(e, spec);
    stdout.write(`${c.id}\n`);
    return 0;
  },
});
