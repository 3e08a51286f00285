import { command, args } from "../command.ts";
import { mustFindImage, normalizeName } from "../../engine/images.ts";

export default command({
  name: "tag",
  usage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  flags: {},
  async run(p, e) {
    const [src, dst] = args(p, this, 2);
    const img = await mustFindImage(e, src!);
    const name = normalizeName(dst!);
    e.images.put({ name, target: img.record.target });
    return 0;
  },
});
