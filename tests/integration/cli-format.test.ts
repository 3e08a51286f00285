// --format/-f end to end with the compiled CLI on real containers, and berth's template errors
// beside the real docker CLI's (28.x, installed as a client: its template errors come before
// it would talk to a daemon, so it needs none).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { Cli, BERTH } from "./cli-helpers.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox");
const DOCKER = ["/usr/local/bin/docker", "/usr/bin/docker"].find((p) => existsSync(p));
let cli: Cli;

beforeAll(() => {
  cli = new Cli("bt-fmt-");
});

afterAll(async () => {
  const left = await cli.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("--format on real containers", () => {
  test("ps --format 'table …': docker's header names, columns aligned as tabwriter", async () => {
    await cli.ok(["run", "-d", "--name", "fmt-web", "-l", "tier=front", "-v", "fmtdata:/data", "-v", "/tmp:/hosttmp:ro", "busybox", "sleep", "300"]);
    await cli.ok(["run", "--name", "fmt-done-with-a-long-name", "busybox", "true"]);
    const out = await cli.ok(["ps", "-a", "--format", "table {{.Names}}\\t{{.Status}}"]);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAMES {23}STATUS$/); // "fmt-done-with-a-long-name" (25) + 3
    expect(lines).toHaveLength(3);
    expect(lines.filter((l) => /^fmt-done-with-a-long-name {3}Exited \(0\) .+ ago$/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^fmt-web {21}Up .+$/.test(l))).toHaveLength(1);
    // A real tab in the format works as the two characters \t do; ID's header is CONTAINER ID.
    const t = await cli.ok(["ps", "--format", "table {{.ID}}\t{{.Names}}\t{{.Label \"tier\"}}"]);
    expect(t.split("\n")[0]).toBe("CONTAINER ID   NAMES     tier");
    expect(t.split("\n")[1]).toMatch(/^[0-9a-f]{12} {3}fmt-web {3}front$/);
    // `table` alone is the default table; `json` is one object per line.
    expect((await cli.ok(["ps", "--format", "table"])).split("\n")[0]).toMatch(/^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
    const j = (await cli.ok(["ps", "-a", "--format", "json"])).trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    expect(j.map((r) => r.Names).sort()).toEqual(["fmt-done-with-a-long-name", "fmt-web"]);
    expect(Object.keys(j[0]!)).toEqual([...Object.keys(j[0]!)].sort());
    // Go template logic over a row.
    expect((await cli.ok(["ps", "-a", "--format", '{{if eq .State "running"}}{{.Names}} is up{{else}}{{.Names}} is {{.State}}{{end}}'])).trim().split("\n").sort()).toEqual([
      "fmt-done-with-a-long-name is exited",
      "fmt-web is up",
    ]);
  });

  test("inspect -f: range over Mounts, json, typed map keys, numbers", async () => {
    expect(await cli.ok(["inspect", "-f", "{{range .Mounts}}{{.Destination}} {{end}}", "fmt-web"])).toBe("/data /hosttmp \n");
    expect(await cli.ok(["inspect", "-f", "{{.Config.Labels.tier}}|{{.Config.Labels.nope}}|{{index .Config.Labels \"tier\"}}", "fmt-web"])).toBe("front|<no value>|front\n");
    expect(JSON.parse(await cli.ok(["inspect", "-f", "{{json .State}}", "fmt-web"]))).toMatchObject({ Status: "running", Running: true });
    const pid = Number((await cli.ok(["inspect", "-f", "{{.State.Pid}}", "fmt-web"])).trim());
    expect(pid).toBeGreaterThan(1);
    expect(await cli.ok(["inspect", "-f", "{{.State.ExitCode}} {{if .State.Running}}running{{end}} {{printf \"%.3s\" .Name}}", "fmt-web"])).toBe("0 running /fm\n");
    // Two objects: one line each; --format json is one JSON array.
    expect(await cli.ok(["inspect", "-f", "{{.Name}}", "fmt-web", "fmt-done-with-a-long-name"])).toBe("/fmt-web\n/fmt-done-with-a-long-name\n");
    const arr = JSON.parse(await cli.ok(["inspect", "-f", "json", "fmt-web", "busybox"])) as unknown[];
    expect(arr).toHaveLength(2);
    // An image too, and volumes and networks.
    expect(await cli.ok(["inspect", "-f", "{{index .RepoTags 0}}", "busybox"])).toBe("busybox:latest\n");
    expect(await cli.ok(["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "fmtdata"])).toBe("fmtdata local\n");
    expect(await cli.ok(["network", "inspect", "-f", "{{.Name}} {{.Driver}}", "bridge"])).toBe("bridge bridge\n");
  });

  test("inspect -f '{{.State.Bogus}}' fails as docker's raw fallback; '{{.State.Bogus' does not parse (exit 64)", async () => {
    const missing = await cli.run(["inspect", "-f", "{{.State.Bogus}}", "fmt-web"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("\n");
    expect(missing.stderr).toBe('berth: template parsing error: template: :1:8: executing "" at <.State.Bogus>: map has no entry for key "Bogus"\n');
    const bad = await cli.run(["inspect", "-f", "{{.State.Bogus", "fmt-web"]);
    expect(bad.code).toBe(64);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe("berth: template parsing error: template: :1: unclosed action\n");
    const fn = await cli.run(["inspect", "-f", "{{foo .}}", "fmt-web"]);
    expect([fn.code, fn.stderr]).toEqual([64, 'berth: template parsing error: template: :1: function "foo" not defined\n']);
  });

  test("images, volume ls, network ls, system df, events, info, version", async () => {
    const img = JSON.parse((await cli.ok(["images", "--format", "{{json .}}"])).trim().split("\n")[0]!) as Record<string, string>;
    expect(img).toMatchObject({ Repository: "busybox", Tag: "latest" });
    expect((await cli.ok(["images", "--format", "table {{.Repository}}\\t{{.Tag}}"])).split("\n").slice(0, 2)).toEqual(["REPOSITORY   TAG", "busybox      latest"]);
    expect(await cli.ok(["volume", "ls", "--format", "table {{.Name}}\\t{{.Driver}}", "--filter", "name=fmtdata"])).toBe("VOLUME NAME   DRIVER\nfmtdata       local\n");
    expect(await cli.ok(["network", "ls", "--format", "{{.Name}}", "--filter", "name=bridge"])).toBe("bridge\n");
    expect((await cli.ok(["system", "df", "--format", "{{.Type}}"])).split("\n")[0]).toBe("Images");
    const ev = await cli.ok(["events", "--since", "1h", "--until", "0s", "--filter", "container=fmt-web", "--filter", "event=start", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]);
    expect(ev).toBe("container start fmt-web\n");
    // TimeNano is exact (past 2^53): the microseconds of the record, times 1000; json agrees.
    const [nano, js] = (await cli.ok(["events", "--since", "1h", "--until", "0s", "--filter", "container=fmt-web", "--filter", "event=start", "--format", "{{.TimeNano}} {{json .}}"])).trim().split(" ", 2);
    expect(nano).toMatch(/^\d{19}$/);
    expect(nano!.endsWith("000")).toBe(true);
    expect(js).toContain(`"timeNano":${nano}`);
    expect((await cli.ok(["info", "-f", "{{.Driver}} {{gt .NCPU 0}}"])).trim()).toBe("overlay true");
    expect((await cli.ok(["version", "-f", "{{.Client.Os}} {{json .Server}}"])).trim()).toBe("linux null");
    // version aligns tab-separated cells as docker's tabwriter (minwidth 20, padding 1).
    expect(await cli.ok(["version", "-f", "OS:\t{{.Client.Os}}\nAPI:\t{{.Client.ApiVersion}}"].map((a) => a.replace(/\\t/g, "\t").replace(/\\n/g, "\n")))).toBe("OS:                 linux\nAPI:                1.47\n");
    // What a failing template wrote comes first (Go's Execute writes as it goes), then the error.
    const inf = await cli.run(["info", "-f", "{{.Driver}} {{.Bogus}}"]);
    expect([inf.code, inf.stdout]).toEqual([1, "overlay \n"]);
    expect(inf.stderr).toBe('berth: template: :1:14: executing "" at <.Bogus>: can\'t evaluate field Bogus in type system.Info\n');
    // A bad ps template fails before listing, with nothing on stdout (docker's own check).
    const r = await cli.run(["ps", "--format", "{{.Foo}}"]);
    expect([r.code, r.stdout]).toEqual([1, ""]);
    expect(r.stderr).toBe('berth: failed to execute template: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext\n');
    const q = await cli.run(["ps", "-q", "--format", "{{.Names}}"]);
    expect(q.stderr).toBe("WARNING: Ignoring custom format, because both --format and --quiet are set.\n");
    expect(q.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    // `--format table` runs docker's default template through the engine: the same as the plain output.
    for (const verb of [["images"], ["volume", "ls"], ["network", "ls"], ["system", "df"]]) {
      expect(await cli.ok([...verb, "--format", "table"])).toBe(await cli.ok(verb));
    }
    await cli.ok(["rm", "-f", "fmt-web", "fmt-done-with-a-long-name"]);
    await cli.ok(["volume", "rm", "fmtdata"]);
  }, 60_000);
});

/** The same bad templates given to docker 28 and to berth: the same message, the same exit status. */
describe.if(ready && DOCKER !== undefined)("template errors as the docker CLI's", () => {
  // Made when a test of this block runs (a filtered run makes none), removed after them.
  let home = "";
  beforeAll(() => {
    home = mkdtempSync("/tmp/bt-fmt-docker-");
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });
  const docker = async (args: string[]) => {
    const p = Bun.spawn([DOCKER!, ...args], {
      stdout: "pipe",
      stderr: "pipe",
      // A socket nobody listens on, and a config dir of our own: nothing reaches a daemon.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, DOCKER_CONFIG: home, DOCKER_HOST: `unix://${home}/none.sock` },
    });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  };
  test.each([
    [["inspect", "-f", "{{.State.Bogus", "x"]],
    [["inspect", "-f", "{{foo .}}", "x"]],
    [["inspect", "-f", "{{if .A}}", "x"]],
    [["inspect", "-f", "{{end}}", "x"]],
    [["inspect", "-f", "{{.A | 3}}", "x"]],
    [["inspect", "-f", '{{"abc}}', "x"]],
    [["inspect", "-f", "{{$x}}", "x"]],
    [["inspect", "-f", "{{.A.}}", "x"]],
    [["inspect", "-f", "{{(.A}}", "x"]],
    [["inspect", "-f", "{{.A)}}", "x"]],
    [["inspect", "-f", '{{template "x" .A}}{{define "x"}}', "x"]],
    [["inspect", "-f", "{{with 1}}{{else with}}{{end}}", "x"]],
    [["inspect", "-f", "{{break}}", "x"]],
    [["inspect", "-f", "{{3x}}", "x"]],
    [["inspect", "-f", "a\n{{.A\n", "x"]],
    [["container", "inspect", "-f", "{{.A", "x"]],
    [["volume", "inspect", "-f", "{{.A", "x"]],
    [["version", "-f", "{{.Client.Version"]],
    [["events", "--format", "{{.Type"]],
    [["events", "--format", "{{.Bogus}}"]],
    [["ps", "--format", "{{.Foo"]],
    [["ps", "--format", "{{.Foo}}"]],
    [["ps", "--format", "table {{.Names}}\t{{.Foo}}"]],
    [["ps", "--format", "{{.Names \"x\"}}"]],
    // Errors of a run: docker ps and events run the template once on an empty row before listing.
    [["ps", "--format", "{{.Label}}"]],
    [["ps", "--format", "{{.Label 1}}"]],
    [["ps", "--format", "{{upper .Foo}}"]],
    [["ps", "--format", "{{index .Names 5}}"]],
    [["ps", "--format", '{{truncate .Names "x"}}']],
    [["ps", "--format", "{{range .Names}}{{end}}"]],
    [["ps", "--format", "{{.Names.Foo}}"]],
    [["ps", "--format", '{{template "x"}}']],
    [["ps", "--format", "{{eq .Names 1}}"]],
    [["events", "--format", "{{.Actor.Bogus}}"]],
    [["events", "--format", "{{.Actor.ID.X}}"]],
  ])("%p", async (args) => {
    const d = await docker(args);
    const b = await cli.run(args);
    expect(d.stderr).not.toContain("Cannot connect"); // the check happened before any daemon call
    expect(b.stderr).toBe(`berth: ${d.stderr}`);
    expect(b.code).toBe(d.code);
  });
});
