import { command, args } from "../command.ts";
import { stderr } from "../stdio.ts";

export default command({
  name: "daemon",
  usage: "[OPTIONS]",
  summary: "Run berthd: serve the Docker Engine API on a unix socket (containers keep running when it stops)",
  flags: {
    host: { kind: "string", short: "H", value: "address", help: 'socket to serve the Docker API on (default "unix:///run/berth/docker.sock"; TCP is refused: it would need TLS)' },
    pidfile: { kind: "string", value: "file", help: "write berthd's pid here (removed on exit)" },
    "cri-socket": { kind: "string", value: "path", help: "also serve the Kubernetes CRI (runtime.v1) on this unix socket (kubelet's --container-runtime-endpoint; conventionally /run/berth/cri.sock)" },
    debug: { kind: "bool", short: "D", help: "log every request (method, path, status, time) to stderr" },
  },
  async run(p, e) {
    args(p, this, 0);
    // berth is compiled with JIT tier-up thresholds scaled 1000× (scripts/build.sh): right for a
    // command that runs once, wrong for a daemon whose handlers run thousands of times. berthd
    // goes back to the normal tiers (a CRI list of 40 containers: 4 ms → ~1 ms once warm).
    (Bun as unknown as { unsafe: { setJITPolicy?: (scale: number) => void } }).unsafe.setJITPolicy?.(1);
    const { startDaemon } = await import("../../daemon/berthd.ts");
    const debug = p.flags.debug === true;
    const log = debug ? (l: string) => stderr.write(`berthd: ${l}\n`) : undefined;
    const d = await startDaemon({
      engine: e,
      host: (p.flags.host as string | undefined) ?? "unix:///run/berth/docker.sock",
      ...(p.flags.pidfile !== undefined ? { pidfile: p.flags.pidfile as string } : {}),
      ...(p.flags["cri-socket"] !== undefined ? { criSocket: p.flags["cri-socket"] as string } : {}),
      ...(log ? { log } : {}),
    });
    for (const f of d.fronts) stderr.write(`berthd: serving the ${f.name} API on ${f.address}\n`);
    const sig = await new Promise<NodeJS.Signals>((resolve) => {
      for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve(s));
    });
    stderr.write(`berthd: ${sig}: finishing requests in flight; containers keep running\n`);
    await d.close();
    return 0;
  },
});
