import { invalidArgument } from "../../sys/errdefs.ts";
import { command } from "./command.ts";

export default command("doctor", "say what this host can and cannot enforce (cgroups, namespaces, capabilities, seccomp)", "", {
  format: { kind: "string", alias: "f", help: "text or json" },
}, async (p) => {
  const format = (p.flags.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "json") throw invalidArgument(`doctor: --format must be text or json, not "${format}"`, "--format");
  const { doctor } = await import("../../runtime/doctor.ts");
  const checks = doctor();
  if (format === "json") console.log(JSON.stringify(checks, null, 2));
  else for (const c of checks) console.log(`${c.verdict.padEnd(5)}${c.name.padEnd(20)}${c.detail}`);
  return 0;
});
