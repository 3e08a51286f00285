import { command } from "./command.ts";
import { featuresDocument } from "../../runtime/features.ts";

export default command("features", "print what this runtime supports, as JSON (runtime-spec features.md)", "", {}, () => {
  console.log(JSON.stringify(featuresDocument(), null, 4));
  return 0;
});
