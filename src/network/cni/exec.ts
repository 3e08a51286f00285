// Running one CNI plugin as SPEC.md ("Execution Protocol") says: the binary named by the config's
// `type`, found on CNI_PATH; parameters in CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
// CNI_PATH; the plugin's configuration (with prevResult when chained) on stdin; a result on
// stdout, or an error object and a non-zero exit.
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { BerthError, notFound, type ErrorCode } from "../../sys/errdefs.ts";
import { asResult, type CniErrorObject, type CniResult } from "./types.ts";

/** Debian's containernetworking-plugins installs to /usr/lib/cni; upstream's default is /opt/cni/bin. */
export const DEFAULT_CNI_PATH = ["/usr/lib/cni", "/opt/cni/bin"];
export const CNI_PACKAGE = "containernetworking-plugins";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION";

export interface PluginCall {
  command: CniCommand;
  plugin: string;
  containerId: string;
  netns: string;
  ifName: string;
  /** The plugin's full stdin configuration (name, cniVersion, runtimeConfig, prevResult…). */
  config: Record<string, unknown>;
  /** The network the call is for, named in errors. */
  network: string;
}

export interface PluginOutcome {
  result?: CniResult;
  ms: number;
}

/** The plugin binary's path, or a NotFound error naming the plugin, the path searched and the package. */
export function findPlugin(type: string, cniPath: readonly string[]): string {
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  throw notFound(
    `CNI plugin "${type}" is not installed: no executable ${type} in ${cniPath.join(":")}; install the Debian package ${CNI_PACKAGE} (apt-get install ${CNI_PACKAGE}) or set the CNI plugin path to a directory that has it`,
    `cni.${type}`,
  );
}

/** CNI's well-known error codes (SPEC.md "Error") → berth's. */
function codeFor(cniCode: number): ErrorCode {
  switch (cniCode) {
    case 2: case 4: case 6: case 7: return "InvalidArgument";
    case 3: return "NotFound";
    case 11: return "Unavailable";
    default: return "FailedPrecondition";
  }
}

export class CniPluginError extends BerthError {
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    readonly cni: CniErrorObject,
    network: string,
  ) {
    super(
      codeFor(cni.code),
      `CNI plugin "${plugin}" ${command} failed on network "${network}": ${cni.msg}${cni.details ? `: ${cni.details}` : ""} (CNI error code ${cni.code})`,
      `cni.${plugin}`,
    );
  }
}

export async function execPlugin(call: PluginCall, cniPath: readonly string[]): Promise<PluginOutcome> {
  const bin = findPlugin(call.plugin, cniPath);
  const t0 = performance.now();
  const proc = Bun.spawn([bin], {
    env: {
      // Plugins run iptables, ip and their IPAM plugin: keep a PATH that has /usr/sbin.
      PATH: process.env.PATH?.includes("/sbin") ? process.env.PATH : `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifName,
      CNI_PATH: cniPath.join(":"),
    },
    // A pipe, not the bytes: Bun puts given stdin bytes in a memfd that stays open until a GC,
    // and a daemon (berthd) running many plugins between GCs ran out of descriptors that way.
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  proc.stdin.write(JSON.stringify(call.config));
  void proc.stdin.end();
  // A plugin that hangs (an iptables lock held forever) must not hang the engine.
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [out, err, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (status !== 0) {
    let obj: CniErrorObject | undefined;
    try {
      const parsed = JSON.parse(out) as CniErrorObject;
      if (typeof parsed.msg === "string") obj = parsed;
    } catch {
      // not JSON: use stderr below
    }
    obj ??= { code: 999, msg: (err.trim() || out.trim() || `exited with status ${status}`).split("\n").slice(-3).join("; ") };
    throw new CniPluginError(call.plugin, call.command, obj, call.network);
  }
  if (call.command !== "ADD") return { ms };
  try {
    return { result: asResult(JSON.parse(out), call.plugin), ms };
  } catch (e) {
    throw new CniPluginError(call.plugin, call.command, { code: 999, msg: `printed an unreadable result (${(e as Error).message}): ${out.slice(0, 200)}` }, call.network);
  }
}
