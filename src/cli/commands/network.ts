// `berth network create|ls|inspect|rm|prune|connect|disconnect`: docker's verbs, flags and
// output over the network library (and, for connect/disconnect, the engine's containers).
import { command, args } from "../command.ts";
import { parseFlags, UsageError, flagUsage, type FlagTable, type Parsed } from "../flags.ts";
import { table } from "../format.ts";
import type { Engine } from "../../engine/engine.ts";
import type { NetworkManager, NetworkRecord } from "../../network/index.ts";
import { stdout, stderr } from "../stdio.ts";

const SUB: Record<string, { usage: string; summary: string; flags: FlagTable }> = {
  create: {
    usage: "[OPTIONS] NETWORK",
    summary: "Create a network",
    flags: {
      driver: { kind: "string", short: "d", help: 'driver to manage the network (only "bridge")' },
      subnet: { kind: "string", value: "cidr", help: "subnet in CIDR format (default: the first free of docker's pools)" },
      gateway: { kind: "string", value: "ip", help: "gateway for the subnet (default: its first address)" },
      "ip-range": { kind: "string", value: "cidr", help: "allocate container addresses from this sub-range" },
      internal: { kind: "bool", help: "restrict external access to the network (no default route, no NAT)" },
      label: { kind: "list", help: "set metadata on the network (key=value)" },
      opt: { kind: "list", short: "o", help: "driver options: mtu=N, com.docker.network.bridge.name=NAME" },
      ipv6: { kind: "bool", help: "enable IPv6 (not supported yet)" },
    },
  },
  ls: {
    usage: "[OPTIONS]",
    summary: "List networks",
    flags: {
      quiet: { kind: "bool", short: "q", help: "only display network IDs" },
      "no-trunc": { kind: "bool", help: "do not truncate the output" },
      filter: { kind: "list", short: "f", help: "filter: name=, id=, driver=, label=KEY[=VALUE]" },
      format: { kind: "string", help: '"json" or a Go template such as {{.Name}}' },
    },
  },
  inspect: {
    usage: "[OPTIONS] NETWORK [NETWORK...]",
    summary: "Display detailed information on one or more networks",
    flags: { format: { kind: "string", short: "f", help: '"json" or a Go template such as {{.IPAM.Config}}' } },
  },
  rm: {
    usage: "NETWORK [NETWORK...]",
    summary: "Remove one or more networks",
    flags: { force: { kind: "bool", short: "f", help: "do not error if the network does not exist" } },
  },
  connect: {
    usage: "[OPTIONS] NETWORK CONTAINER",
    summary: "Connect a running container to a network",
    flags: {
      ip: { kind: "string", help: "IPv4 address (e.g. 172.30.100.104)" },
      alias: { kind: "list", help: "add a network-scoped alias for the container" },
    },
  },
  disconnect: {
    usage: "[OPTIONS] NETWORK CONTAINER",
    summary: "Disconnect a container from a network",
    flags: { force: { kind: "bool", short: "f", help: "accepted for docker compatibility" } },
  },
  prune: {
    usage: "[OPTIONS]",
    summary: "Remove all unused networks",
    flags: { force: { kind: "bool", short: "f", help: "accepted for docker compatibility; berth does not prompt" } },
  },
};
const ALIASES: Record<string, string> = { list: "ls", remove: "rm" };

function subHelp(name: string): string {
  const s = SUB[name]!;
  return `\nUsage:  berth network ${name} ${s.usage}\n\n${s.summary}\n\nOptions:\n${flagUsage(s.flags)}\n`;
}

function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new UsageError(`${flag} ${JSON.stringify(kv)}: use KEY=VALUE`, flag);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

async function manager(e: Engine): Promise<NetworkManager> {
  const { networkManager } = await import("../../engine/network.ts");
  return networkManager(e);
}

/** Release what dead containers left before deciding what is in use (crash safety). */
async function collect(e: Engine, _m: NetworkManager): Promise<void> {
  const { collectNetworkLeftovers } = await import("../../engine/network.ts");
  await collectNetworkLeftovers(e);
}

function matches(n: NetworkRecord, filters: string[]): boolean {
  for (const f of filters) {
    const i = f.indexOf("=");
    if (i <= 0) throw new UsageError(`--filter ${JSON.stringify(f)}: use KEY=VALUE (name, id, driver, label)`, "--filter");
    const k = f.slice(0, i);
    const v = f.slice(i + 1);
    if (k === "name" && !n.name.includes(v)) return false;
    else if (k === "id" && !n.id.startsWith(v)) return false;
    else if (k === "driver" && n.driver !== v) return false;
    else if (k === "label") {
      const j = v.indexOf("=");
      const lk = j >= 0 ? v.slice(0, j) : v;
      if (!(lk in n.labels) || (j >= 0 && n.labels[lk] !== v.slice(j + 1))) return false;
    } else if (!["name", "id", "driver", "label"].includes(k)) throw new UsageError(`--filter ${k}: unknown filter; use name, id, driver or label`, "--filter");
  }
  return true;
}

async function runSub(sub: string, p: Parsed, e: Engine): Promise<number> {
  const out = (s: string) => stdout.write(s);
  switch (sub) {
    case "create": {
      if (p.rest.length !== 1) throw new UsageError(`"berth network create" requires exactly 1 argument.\nSee 'berth network create --help'.`, "arguments");
      if (p.flags.ipv6) throw new UsageError("--ipv6: IPv6 networks are not supported yet", "--ipv6");
      const m = await manager(e);
      const rec = m.create({
        name: p.rest[0]!,
        ...(p.flags.driver !== undefined ? { driver: p.flags.driver as string } : {}),
        ...(p.flags.subnet !== undefined ? { subnet: p.flags.subnet as string } : {}),
        ...(p.flags.gateway !== undefined ? { gateway: p.flags.gateway as string } : {}),
        ...(p.flags["ip-range"] !== undefined ? { ipRange: p.flags["ip-range"] as string } : {}),
        internal: p.flags.internal === true,
        labels: keyValues(p.flags.label as string[] | undefined, "--label"),
        options: keyValues(p.flags.opt as string[] | undefined, "--opt"),
      });
      out(`${rec.id}\n`);
      return 0;
    }
    case "ls": {
      if (p.rest.length) throw new UsageError(`"berth network ls" accepts no arguments.\nSee 'berth network ls --help'.`, "arguments");
      const { dockerListRow } = await import("../../network/index.ts");
      const m = await manager(e);
      const noTrunc = p.flags["no-trunc"] === true;
      const fmt = p.flags.format as string | undefined;
      // docker's networkContext (cli/command/network/formatter.go).
      const listFormat = fmt && !p.flags.quiet
        ? (await import("../formatter.ts")).ListFormat.parse(fmt, {
            typeName: "*network.networkContext",
            defaultTable: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
            header: { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv4: "IPV4", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED AT" },
          })
        : undefined;
      const nets = m.list().filter((n) => matches(n, (p.flags.filter as string[] | undefined) ?? []));
      if (p.flags.quiet) {
        for (const n of nets) out(`${noTrunc ? n.id : n.id.slice(0, 12)}\n`);
        return 0;
      }
      if (listFormat) {
        const { labelMethod } = await import("../formatter.ts");
        // docker 28's networkContext has IPv4 (berth's networks always have IPv4).
        for (const n of nets) listFormat.add({ ...dockerListRow(n, noTrunc), IPv4: "true" }, { Label: labelMethod(n.labels) });
        out(listFormat.render());
        return 0;
      }
      out(table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"], nets.map((n) => [noTrunc ? n.id : n.id.slice(0, 12), n.name, n.driver, "local"])));
      return 0;
    }
    case "inspect": {
      if (!p.rest.length) throw new UsageError(`"berth network inspect" requires at least 1 argument.\nSee 'berth network inspect --help'.`, "arguments");
      const fmt = p.flags.format as string | undefined;
      const inspectFormat = fmt ? (await import("../formatter.ts")).InspectFormat.parse(fmt) : undefined;
      const m = await manager(e);
      const docs = [];
      let failed = false;
      for (const ref of p.rest) {
        try {
          docs.push(m.inspect(ref));
        } catch (err) {
          stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
          failed = true;
        }
      }
      if (inspectFormat) {
        const r = inspectFormat.render(docs);
        out(r.out);
        for (const msg of r.errors) stderr.write(`${msg}\n`);
        if (r.errors.length) return failed ? 125 : 1;
      } else out(`${JSON.stringify(docs, null, 4)}\n`);
      return failed ? 125 : 0;
    }
    case "rm": {
      if (!p.rest.length) throw new UsageError(`"berth network rm" requires at least 1 argument.\nSee 'berth network rm --help'.`, "arguments");
      const m = await manager(e);
      await collect(e, m);
      let failed = false;
      for (const ref of p.rest) {
        try {
          await m.remove(ref);
          out(`${ref}\n`);
        } catch (err) {
          if (p.flags.force && (err as { code?: string }).code === "NotFound") continue;
          stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
          failed = true;
        }
      }
      return failed ? 125 : 0;
    }
    case "connect":
    case "disconnect": {
      if (p.rest.length !== 2) throw new UsageError(`"berth network ${sub}" requires exactly 2 arguments.\nSee 'berth network ${sub} --help'.`, "arguments");
      const { getContainer } = await import("../../engine/containers.ts");
      const { connectContainer, disconnectContainer } = await import("../../engine/network.ts");
      const c = await getContainer(e, p.rest[1]!);
      if (c.state !== "running" && c.state !== "paused") throw new UsageError(`container ${p.rest[1]} is not running: berth connects running containers (give --network at run for the first one)`, "container");
      if (sub === "connect") await connectContainer(e, c, p.rest[0]!, { ...(p.flags.ip ? { ip: p.flags.ip as string } : {}), aliases: (p.flags.alias as string[] | undefined) ?? [] });
      else await disconnectContainer(e, c, p.rest[0]!);
      return 0;
    }
    case "prune": {
      if (p.rest.length) throw new UsageError(`"berth network prune" accepts no arguments.\nSee 'berth network prune --help'.`, "arguments");
      const m = await manager(e);
      await collect(e, m);
      const gone = await m.prune();
      if (gone.length) out(`Deleted Networks:\n${gone.map((n) => `${n.name}\n`).join("")}`);
      return 0;
    }
  }
  return 1;
}

export default command({
  name: "network",
  usage: "COMMAND",
  summary: "Manage networks: create, ls, inspect, rm, prune",
  flags: {},
  stopAtPositional: true,
  ownErrorStatus: 125,
  async run(p, e) {
    const [given, ...rest] = args(p, this, 1, Infinity);
    const sub = ALIASES[given!] ?? given!;
    const def = SUB[sub];
    if (!def) {
      throw new UsageError(`"berth network ${given}": unknown command; use ${Object.keys(SUB).join(", ")}`, "command");
    }
    const sp = parseFlags(rest, { ...def.flags, help: { kind: "bool", help: "print usage" } }, { what: `berth network ${sub}` });
    if (sp.flags.help) {
      stdout.write(subHelp(sub));
      return 0;
    }
    return runSub(sub, sp, e);
  },
});
