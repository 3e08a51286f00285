import { command, args } from "../command.ts";

export default command({
  name: "container healthcheck",
  usage: "CONTAINER",
  summary: "Run a container's health check once and record the result (run by its monitor)",
  flags: {},
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const { runHealthcheck } = await import("../../engine/health.ts");
    const h = await runHealthcheck(e, ref!);
    // The monitor checks at the start interval until one passes.
    return h?.status === "healthy" ? 0 : 1;
  },
});
