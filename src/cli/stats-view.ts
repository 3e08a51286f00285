// `docker stats`' columns as text (cli/command/container/formatter_stats.go): CPU % and MEM %
// with two decimals, memory in binary units with four significant digits (go-units BytesSize),
// network and block I/O in decimal units with three (HumanSizeWithPrecision).
import { statsFigures, type StatsSample } from "../engine/stats.ts";
import { bytesSize, humanSize3 } from "./units.ts";

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

