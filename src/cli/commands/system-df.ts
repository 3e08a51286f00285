import { command, args } from "../command.ts";
import { humanSize4 } from "../units.ts";
import { table } from "../format.ts";
import { stdout } from "../stdio.ts";

export default command({
  name: "system df",
  usage: "[OPTIONS]",
  summary: "Show berth disk usage (images, containers, volumes)",
  flags: {
    format: { kind: "string", help: "json, table, or a Go template such as {{.Type}}\\t{{.Size}}" },
    verbose: { kind: "bool", short: "v", help: "accepted; the summary is printed" },
  },
  async run(p, e) {
    args(p, this, 0);
    const fmt = p.flags.format as string | undefined;
    // docker's diskUsageContext rows (cli/command/formatter/disk_usage.go).
    const listFormat = fmt
      ? (await import("../formatter.ts")).ListFormat.parse(fmt, {
          typeName: "*formatter.diskUsageImagesContext",
          defaultTable: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
          header: { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" },
        })
      : undefined;
    const { diskUsage } = await import("../../engine/disk-usage.ts");
    const d = await diskUsage(e);
    const pct = (r: number, t: number) => `${humanSize4(r)} (${t > 0 ? Math.round((r / t) * 100) : 0}%)`;
    const rows = [
      { Type: "Images", TotalCount: String(d.images.total), Active: String(d.images.active), Size: humanSize4(d.images.size), Reclaimable: pct(d.images.reclaimable, d.images.size) },
      { Type: "Containers", TotalCount: String(d.containers.total), Active: String(d.containers.active), Size: humanSize4(d.containers.size), Reclaimable: pct(d.containers.reclaimable, d.containers.size) },
      { Type: "Local Volumes", TotalCount: String(d.volumes.total), Active: String(d.volumes.active), Size: humanSize4(d.volumes.size), Reclaimable: pct(d.volumes.reclaimable, d.volumes.size) },
      { Type: "Build Cache", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B" },
    ];
    if (listFormat) {
      for (const r of rows) listFormat.add(r);
      stdout.write(listFormat.render());
      return 0;
    }
    stdout.write(table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows.map((r) => [r.Type, String(r.TotalCount), String(r.Active), r.Size, r.Reclaimable])));
    return 0;
  },
});
