import { command } from "./command.ts";

export default command("features", "print what this runtime supports, as JSON (runtime-spec features.md)", "", {}, async () => {
  const { featuresDocument } = await import("../../runtime/features.ts");
  console.log(JSON.stringify(featuresDocument(), null, 4));
  return 0;
});
