import { command, args } from "../command.ts";
import { humanSize, table } from "../format.ts";

export default command({
  name: "system df",
  usage: "[OPTIONS]",
  summary: "Show berth disk usage (images, containers, volumes)",
  flags: {
    format: { kind: "string", help: "json" },
    verbose: { kind: "bool", short: "v", help: "accepted; the summary is printed" },
  },
  async run(p, e) {
    args(p, this, 0);
    const { diskUsage } = await import("../../engine/disk-usage.ts");
    const d = await diskUsage(e);
    const pct = (r: number, t: number) => `${humanSize(r)} (${t > 0 ? Math.round((r / t) * 100) : 0}%)`;
    const rows = [
      { Type: "Images", TotalCount: d.images.total, Active: d.images.active, Size: humanSize(d.images.size), Reclaimable: pct(d.images.reclaimable, d.images.size) },
      { Type: "Containers", TotalCount: d.containers.total, Active: d.containers.active, Size: humanSize(d.containers.size), Reclaimable: pct(d.containers.reclaimable, d.containers.size) },
      { Type: "Local Volumes", TotalCount: d.volumes.total, Active: d.volumes.active, Size: humanSize(d.volumes.size), Reclaimable: pct(d.volumes.reclaimable, d.volumes.size) },
      { Type: "Build Cache", TotalCount: 0, Active: 0, Size: "0B", Reclaimable: "0B" },
    ];
    if (p.flags.format === "json") {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    process.stdout.write(table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows.map((r) => [r.Type, String(r.TotalCount), String(r.Active), r.Size, r.Reclaimable])));
    return 0;
  },
});
