import { command } from "../command.ts";
import { UsageError } from "../flags.ts";
export default command({ name: "cp", usage: "", summary: "", flags: {}, async run() { throw new UsageError("not yet"); } });
