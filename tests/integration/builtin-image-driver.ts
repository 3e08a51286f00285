// Runs one container through the runtime library (src/runtime/container.ts run()) in its own
// process, so the test can collect the container's stdout, which run() passes through.
//   bun builtin-image-driver.ts ROOT ID BUNDLE
import { run } from "../../src/runtime/container.ts";

const [root, id, bundle] = process.argv.slice(2);
if (!root || !id || !bundle) {
  console.error("usage: builtin-image-driver.ts ROOT ID BUNDLE");
  process.exit(2);
}
const { status } = await run({ root, id, bundle });
process.exit(status);
