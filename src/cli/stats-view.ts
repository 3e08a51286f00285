// `docker stats`' columns as text (cli/command/container/formatter_stats.go): CPU % and MEM %
// with two decimals, memory in binary units with four significant digits (go-units BytesSize),
// network and block I/O in decimal units with three (HumanSizeWithPrecision), as Go's %g prints
// them (an exponent once the digits run out: 999.6 kB is "1e+03kB", as docker shows it).
import { statsFigures, type StatsSample } from "../engine/stats.ts";

/** Go's strconv %.{prec}g: shortest digits up to prec, exponent when exp < -4 or exp >= prec. */
export function goG(x: number, prec: number): string {
  if (x === 0) return "0";
  const e = x.toExponential(prec - 1); // "d.ddde+N"
  const [mant, expStr] = e.split("e") as [string, string];
  const exp = Number(expStr);
  const trim = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= prec) return `${trim(mant)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return trim(x.toFixed(Math.max(0, prec - 1 - exp)));
}

function customSize(size: number, prec: number, base: number, units: string[]): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${goG(size, prec)}${units[i]}`;
}

/** go-units BytesSize: 1536 → "1.5KiB". */
export const bytesSize = (n: number) => customSize(n, 4, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]);
/** go-units HumanSizeWithPrecision(n, 3): 1234 → "1.23kB". */
export const humanSize3 = (n: number) => customSize(n, 3, 1000, ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]);

/** One row as docker's StatsEntry fields (what `--format` templates and `json` see). */
export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

export function statsRow(cur: StatsSample, pre: StatsSample | undefined, o: { noTrunc: boolean; container?: string }): StatsRow {
  const f = statsFigures(cur, pre);
  return {
    BlockIO: `${humanSize3(f.blockRead)} / ${humanSize3(f.blockWrite)}`,
    CPUPerc: `${f.cpuPercent.toFixed(2)}%`,
    Container: o.container ?? cur.id,
    ID: o.noTrunc ? cur.id : cur.id.slice(0, 12),
    MemPerc: `${f.memoryPercent.toFixed(2)}%`,
    MemUsage: `${bytesSize(f.memory)} / ${bytesSize(f.memoryLimit)}`,
    Name: cur.name,
    NetIO: `${humanSize3(f.netRx)} / ${humanSize3(f.netTx)}`,
    PIDs: String(f.pids),
  };
}

/** The header docker gives each field in a `table` format. */
export const STATS_HEADERS: Record<string, string> = {
  BlockIO: "BLOCK I/O", CPUPerc: "CPU %", Container: "CONTAINER", ID: "CONTAINER ID", MemPerc: "MEM %",
  MemUsage: "MEM USAGE / LIMIT", Name: "NAME", NetIO: "NET I/O", PIDs: "PIDS",
};
export const DEFAULT_STATS_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
