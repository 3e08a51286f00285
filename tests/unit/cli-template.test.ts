// The Go text/template engine of --format/-f. Expected outputs follow Go's documented semantics
// (pkg.go.dev/text/template, fmt, text/tabwriter) and docker's CLI (github.com/docker/cli
// templates/, cli/command/formatter, cli/command/inspect); comments name the rule where it is not
// obvious. Error texts are Go's: a docker user's scripts match them.
import { describe, expect, test } from "bun:test";
import { GoFloat, goStruct, render, sprintf, tabwrite, Template, TemplateError } from "../../src/cli/template/index.ts";
import { InspectFormat, ListFormat, FormatError, labelMethod, ValueFormat } from "../../src/cli/formatter.ts";
import { formatRows, renderTemplate } from "../../src/cli/format.ts";

const doc = {
  Id: "abc123",
  Name: "/web",
  State: { Status: "running", Running: true, ExitCode: 0, Pid: 4242, Error: "" },
  Config: { Labels: { b: "2", a: "1" }, Env: ["A=1", "B=2"], Cmd: ["sh", "-c", "echo hi"] },
  Mounts: [{ Destination: "/data", RW: true }, { Destination: "/etc/x", RW: false }],
  Empty: [],
  Nil: null,
  Size: 1234567,
  Ratio: 0.25,
};

const ok = (t: string, data: unknown = doc) => render(t, data);
function err(t: string, data: unknown = doc, missingKeyError = false): string {
  try {
    render(t, data, { missingKeyError });
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as Error).message;
  }
  throw new Error(`${t} did not fail`);
}

describe("actions and field chains", () => {
  test("fields, nested fields, dot, text around", () => {
    expect(ok("id={{.Id}} st={{.State.Status}} pid={{.State.Pid}}")).toBe("id=abc123 st=running pid=4242");
    expect(ok("{{.}}", "plain")).toBe("plain");
    expect(ok("no actions")).toBe("no actions");
  });
  test("a missing map key prints <no value>; as an argument it is nil (<nil>)", () => {
    // exec.go evalField: a map without the key gives the invalid value, printed "<no value>";
    // passed to a func taking interface{} it becomes nil, which fmt prints as <nil>.
    expect(ok("{{.State.Bogus}}")).toBe("<no value>");
    expect(ok("{{.A.B.C}}")).toBe("<no value>");
    expect(ok("{{print .State.Bogus}}")).toBe("<nil>");
  });
  test("missingkey=error (docker inspect's raw fallback)", () => {
    expect(err("{{.State.Bogus}}", doc, true)).toBe('template: :1:8: executing "" at <.State.Bogus>: map has no entry for key "Bogus"');
  });
  test("a missing struct field is an error naming the type", () => {
    const row = goStruct({ Names: "web" }, "*formatter.ContainerContext");
    expect(ok("{{.Names}}", row)).toBe("web");
    expect(err("{{.Foo}}", row)).toBe('template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext');
  });
  test("fields of non-objects and of nil", () => {
    // The position is the chain's second field (parse.go operand: the chain starts at the peeked field).
    // A value read out of a map[string]interface{} has the static type interface {} (Go 1.19 says so too).
    expect(err("{{.State.Status.Foo}}")).toBe('template: :1:8: executing "" at <.State.Status.Foo>: can\'t evaluate field Foo in type interface {}');
    expect(err("{{.Status.Foo}}", goStruct({ Status: "x" }, "T"))).toBe('template: :1:9: executing "" at <.Status.Foo>: can\'t evaluate field Foo in type string');
    expect(err("{{.Nil.X}}")).toBe('template: :1:6: executing "" at <.Nil.X>: nil pointer evaluating interface {}.X');
  });
  test("methods take arguments; a field given arguments is an error", () => {
    const row = goStruct({ Names: "web" }, "*formatter.ContainerContext", { Label: labelMethod({ tier: "front" }) });
    expect(ok('{{.Label "tier"}}|{{.Label "nope"}}', row)).toBe("front|");
    expect(err('{{.Names "x"}}', row)).toBe('template: :1:2: executing "" at <.Names>: Names has arguments but cannot be invoked as function');
    expect(err('{{.State.Status "x"}}')).toBe('template: :1:8: executing "" at <.State.Status>: Status is not a method but has arguments');
  });
});

describe("printing values as Go's fmt", () => {
  test("maps sorted as map[k:v], slices as [a b], nil, bools", () => {
    expect(ok("{{.Config.Labels}}")).toBe("map[a:1 b:2]");
    expect(ok("{{.Config.Env}}")).toBe("[A=1 B=2]");
    expect(ok("{{.Empty}}")).toBe("[]");
    // A nil interface{} from a map is dug down to no value (exec.go evalPipeline); a struct's nil stays <nil>.
    expect(ok("{{.Nil}}")).toBe("<no value>");
    expect(ok("{{print .Nil}} {{.Nil | print}}")).toBe("<nil> <nil>");
    expect(ok("{{.H}}", goStruct({ H: null }, "T"))).toBe("<nil>");
    expect(ok("{{.State.Running}}")).toBe("true");
    expect(ok("{{.Mounts}}")).toBe("[map[Destination:/data RW:true] map[Destination:/etc/x RW:false]]");
    expect(ok("{{.}}", goStruct({ A: 1, B: "x" }, "T"))).toBe("{1 x}");
  });
  test("numbers: ints exact, float64 as %v (shortest, %e from exponent 21 for %v is not Go: it is 6 with %g)", () => {
    // fmt %v of a float64 is %g with the shortest precision: exponent < -4 or >= 6 → 1e+06.
    expect(ok("{{.Size}}")).toBe("1234567"); // an int
    expect(ok("{{.}}", new GoFloat(1e6))).toBe("1e+06");
    expect(ok("{{.}}", 1234567.5)).toBe("1.2345675e+06");
    expect(ok("{{.}}", 1e21)).toBe("1e+21");
    expect(ok("{{.}}", 0.0001)).toBe("0.0001");
    expect(ok("{{.}}", 0.00001)).toBe("1e-05");
    expect(ok("{{.Ratio}}")).toBe("0.25");
    expect(ok("{{.}}", 0)).toBe("0");
    expect(ok("{{1.0}} {{1.5}} {{0x1F}} {{1e3}} {{-7}} {{'a'}}")).toBe("1 1.5 31 1000 -7 97");
  });
  test("strings: interpreted, raw, escapes", () => {
    expect(ok('{{"a\\tb\\n"}}')).toBe("a\tb\n");
    expect(ok("{{`raw\\n`}}")).toBe("raw\\n");
    expect(ok('{{"\\u00e9\\x41"}}')).toBe("éA");
  });
});

describe("pipelines, parentheses, variables", () => {
  test("the previous value is the last argument", () => {
    expect(ok('{{.State.Status | printf "%s!"}}')).toBe("running!");
    expect(ok('{{"A" | lower | printf "%s-%s" "x"}}')).toBe("x-a");
    expect(ok("{{(index .Mounts 1).Destination}}")).toBe("/etc/x");
    expect(ok('{{printf "%d" (len .Mounts)}}')).toBe("2");
  });
  test("variables: declare, assign, $ is the data, scope ends at end", () => {
    expect(ok("{{$x := 5}}{{$x}}{{$x = 6}}{{$x}}")).toBe("56");
    expect(ok("{{with .State}}{{$.Id}}:{{.Pid}}{{end}}")).toBe("abc123:4242");
    expect(ok("{{$n := .Name}}{{range .Mounts}}{{$n}}{{.Destination}} {{end}}")).toBe("/web/data /web/etc/x ");
    // A variable declared inside if is gone after its end (parse.go popVars).
    expect(() => Template.parse("{{if 1}}{{$v := 1}}{{end}}{{$v}}")).toThrow('template: :1: undefined variable "$v"');
  });
});

describe("if, with, range", () => {
  test("if / else if / else and truth", () => {
    const t = Template.parse('{{if eq .State.Status "running"}}up{{else if .State.Error}}err{{else}}down{{end}}');
    expect(t.execute(doc)).toBe("up");
    expect(t.execute({ State: { Status: "exited", Error: "boom" } })).toBe("err");
    expect(t.execute({ State: { Status: "exited", Error: "" } })).toBe("down");
    // Truth: false, 0, nil, empty string/slice/map are false (text/template "if").
    expect(ok("{{if .Empty}}y{{else}}n{{end}}{{if .Nil}}y{{else}}n{{end}}{{if 0}}y{{else}}n{{end}}{{if .Config.Labels}}y{{end}}")).toBe("nnny");
  });
  test("with / else with / else", () => {
    expect(ok("{{with .State.Error}}e={{.}}{{else with .State.Status}}s={{.}}{{else}}none{{end}}")).toBe("s=running");
    expect(ok("{{with .Nope}}x{{else}}none{{end}}")).toBe("none");
  });
  test("range over slices, maps (sorted keys), ints, with else, break and continue", () => {
    expect(ok("{{range .Mounts}}{{.Destination}} {{end}}")).toBe("/data /etc/x ");
    expect(ok("{{range $i, $m := .Mounts}}{{$i}}={{$m.Destination}};{{end}}")).toBe("0=/data;1=/etc/x;");
    expect(ok("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}")).toBe("a=1,b=2,");
    expect(ok("{{range $v := .Config.Env}}[{{$v}}]{{end}}")).toBe("[A=1][B=2]");
    expect(ok("{{range .Empty}}x{{else}}empty{{end}}|{{range .Missing}}x{{else}}none{{end}}")).toBe("empty|none");
    expect(ok("{{range 3}}{{.}}{{end}}")).toBe("012");
    expect(ok("{{range .Config.Cmd}}{{if eq . \"-c\"}}{{continue}}{{end}}{{if eq . \"echo hi\"}}{{break}}{{end}}{{.}}{{end}}")).toBe("sh");
    expect(err("{{range .State.Running}}{{end}}")).toBe('template: :1:14: executing "" at <.State.Running>: range can\'t iterate over true');
  });
  test("comments and trim markers", () => {
    expect(ok("a {{- /* note */ -}} b")).toBe("ab");
    expect(ok("{{/* only */}}x")).toBe("x");
    expect(ok("x  \n {{- .Id -}} \n  y")).toBe("xabc123y");
    // "{{-3}}" is the number -3, not a trim marker (the marker needs a space).
    expect(ok("{{-3}}")).toBe("-3");
  });
});

describe("builtin functions", () => {
  test("and, or (short-circuit, return a value), not", () => {
    expect(ok('{{and 1 0 "x"}} {{and 1 "x"}} {{or 0 "" "y"}} {{or 0 ""}} {{not .Empty}}')).toBe("0 x y  true");
    // and stops at the first false argument: the failing call after it is never made.
    expect(ok("{{and .Nil (index .Nil 1)}}")).toBe("<no value>");
  });
  test("comparisons: eq with several arguments, ne, lt, le, gt, ge; kinds must match", () => {
    expect(ok('{{eq .State.Status "exited" "running"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe("true true true true true false");
    expect(ok("{{eq .State.ExitCode 0}}")).toBe("true");
    expect(err("{{eq 1.0 1}}")).toBe('template: :1:2: executing "" at <eq 1.0 1>: error calling eq: incompatible types for comparison');
    expect(err('{{lt true false}}')).toBe('template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison');
    expect(ok('{{eq .Bogus "x"}}')).toBe("false");
  });
  test("len, index, slice", () => {
    expect(ok('{{len .Mounts}} {{len "héllo"}} {{len .Config.Labels}}')).toBe("2 6 2"); // len of a string counts bytes
    expect(ok('{{index .Config.Env 1}} {{index .Config.Labels "a"}} {{index .Mounts 0 | len}}')).toBe("B=2 1 2");
    // A missing key is the zero value of the element type: nil for map[string]interface{} (no value
    // once dug down), "" for a map[string]string (docker's labels, as inspect's typed pass marks them).
    expect(ok('[{{index .Config.Labels "zz"}}]')).toBe("[<no value>]");
    expect(InspectFormat.parse('[{{index .Config.Labels "zz"}}]').render([doc]).out).toBe("[]\n");
    expect(ok('{{index "abc" 1}}')).toBe("98"); // a byte
    expect(err("{{index .Config.Env 5}}")).toBe('template: :1:2: executing "" at <index .Config.Env 5>: error calling index: index out of range: 5');
    expect(ok('{{slice "hello" 1 3}} {{slice .Config.Cmd 1}} {{slice .Config.Cmd 0 1}}')).toBe("el [-c echo hi] [sh]");
  });
  test("print, println, printf verbs", () => {
    // Sprint adds spaces between operands when neither is a string.
    expect(ok('{{print 1 2 "a" "b" 3}}')).toBe("1 2ab3");
    expect(ok("{{println 1 \"a\"}}")).toBe("1 a\n");
    expect(sprintf("%s|%d|%v|%q|%x|%X|%5.2f|%-4d|%04d|%t|%T|%%", ["s", 42, [1, "a"], "q\"", "hi", 255, 3.14159, 7, 7, true, 1.5])).toBe('s|42|[1 a]|"q\\""|6869|FF| 3.14|7   |0007|true|float64|%');
    expect(sprintf("%e %g %.3g %8.3e %+d %o %b %c %U", [123456.789, 1e-7, 3.14159, 1234.5, 5, 8, 5, 65, 0x1f600])).toBe("1.234568e+05 1e-07 3.14 1.234e+03 +5 10 101 A U+1F600");
    expect(sprintf("%d %s", ["x", 1])).toBe("%!d(string=x) %!s(int=1)");
    expect(sprintf("%d", [])).toBe("%!d(MISSING)");
    expect(sprintf("%d", [1, 2])).toBe("1%!(EXTRA int=2)");
    expect(ok('{{printf "%-8s|%6.1f" .State.Status .Ratio}}')).toBe("running |   0.2"); // 0.25 → 0.2: round half to even on the exact binary value
    expect(ok('{{printf "%v %+v" . .}}', goStruct({ A: 1, B: "x" }, "T"))).toBe("{1 x} {A:1 B:x}");
  });
  test("html, js, urlquery, call", () => {
    expect(ok('{{html "<a href=\'x\'>&\\""}}')).toBe("&lt;a href=&#39;x&#39;&gt;&amp;&#34;");
    expect(ok(`{{js "it's <b>=\\"x\\"\\n"}}`)).toBe("it\\'s \\u003Cb\\u003E\\u003D\\\"x\\\"\\u000A");
    expect(ok('{{urlquery "a b&c/é"}}')).toBe("a+b%26c%2F%C3%A9");
    expect(ok("{{call .F 2 3}}", { F: (a: number, b: number) => a * b })).toBe("6");
  });
});

describe("docker's functions", () => {
  test("json (no HTML escaping, maps sorted, structs in field order), join, split, lower, upper, title, pad, truncate", () => {
    expect(ok("{{json .Config.Labels}}")).toBe('{"a":"1","b":"2"}');
    expect(ok('{{json "<&>"}}')).toBe('"<&>"');
    expect(ok("{{json .Nil}} {{json .Bogus}}")).toBe("null null");
    expect(ok("{{json .}}", goStruct({ Z: 1, A: [1.5, "x"] }, "T"))).toBe('{"Z":1,"A":[1.5,"x"]}');
    expect(ok('{{join .Config.Env ","}} {{join .Config.Labels "+"}}')).toBe("A=1,B=2 1+2");
    expect(ok('{{split "a:b:c" ":"}} {{len (split "a:b" ":")}}')).toBe("[a b c] 2");
    expect(ok('{{lower "AbC"}} {{upper "AbC"}} {{title "hello wide-world"}}')).toBe("abc ABC Hello Wide-World");
    expect(ok('[{{pad "x" 2 1}}][{{pad "" 2 1}}] {{truncate "abcdef" 3}} {{truncate "ab" 3}}')).toBe("[  x ][] abc ab");
    expect(err("{{upper .State.Pid}}")).toBe('template: :1:14: executing "" at <.State.Pid>: wrong type for value; expected string; got int');
    expect(err("{{truncate .Name}}")).toBe('template: :1:2: executing "" at <truncate>: wrong number of args for truncate: want 2 got 1');
  });
});

describe("parse errors: Go's messages", () => {
  const parseErr = (t: string) => {
    try {
      Template.parse(t);
    } catch (e) {
      expect((e as TemplateError).phase).toBe("parse");
      return (e as Error).message;
    }
    throw new Error(`${t} parsed`);
  };
  test.each([
    ["{{.State.Bogus", "template: :1: unclosed action"],
    ["{{foo .}}", 'template: :1: function "foo" not defined'],
    ["{{if .A}}x", "template: :1: unexpected EOF"],
    ["{{end}}", "template: :1: unexpected {{end}}"],
    ["{{else}}", "template: :1: unexpected {{else}}"],
    ["{{}}", "template: :1: missing value for command"],
    ["{{if}}{{end}}", "template: :1: missing value for if"],
    ["{{.A.}}", "template: :1: unexpected <.> in operand"],
    ["{{$x}}", 'template: :1: undefined variable "$x"'],
    ['{{"abc}}', "template: :1: unterminated quoted string"],
    ["{{`abc}}", "template: :1: unterminated raw quoted string"],
    ["{{/* x }}", "template: :1: unclosed comment"],
    ["{{/* x */ .A}}", "template: :1: comment ends before closing delimiter"],
    ["{{(.A}}", "template: :1: unclosed left paren"],
    ["{{.A)}}", "template: :1: unexpected right paren"],
    ["{{3x}}", 'template: :1: bad number syntax: "3x"'],
    ["{{.A | 3}}", "template: :1: non executable command in pipeline stage 2"],
    ["{{break}}", "template: :1: {{break}} outside {{range}}"],
    ["{{range $i, $v, $w := .}}{{end}}", "template: :1: too many declarations in range"],
    ["{{#}}", "template: :1: unexpected \"#\" in command"],
    ["line1\n{{.A", "template: :2: unclosed action"],
    // The error is on the line where the input ended; the action's first line is named (parse.go unexpected).
    ["{{.A\n\n", "template: :3: unclosed action started at :1"],
  ])("%p", (t, want) => {
    expect(parseErr(t)).toBe(want);
  });
});

test("nesting deeper than JavaScript's stack lets the parser go is an error, not a crash", () => {
  expect(() => Template.parse(`{{${"(".repeat(30000)}1${")".repeat(30000)}}}`)).toThrow(new TemplateError("template: :1: nesting is too deep (berth parses some thousands of nested levels)", "parse"));
});

describe("tabwriter and docker's table", () => {
  test("columns padded to the widest cell + 3, at least 10; the last cell is not padded", () => {
    expect(tabwrite("NAMES\tSTATUS\nweb\tUp 2 seconds\nlong-container-name\tExited (0)\n")).toBe(
      "NAMES                 STATUS\nweb                   Up 2 seconds\nlong-container-name   Exited (0)\n",
    );
    // Wide characters take two columns (go-runewidth, as docker's tabwriter fork).
    expect(tabwrite("名前\tX\nab\tY\n")).toBe("名前      X\nab        Y\n");
    // A line with fewer cells ends the column block (elastic tabstops).
    expect(tabwrite("a\tb\nx\nlonger-than-ten\tc\n")).toBe("a         b\nx\nlonger-than-ten   c\n");
  });
  const spec = {
    typeName: "*formatter.ContainerContext",
    defaultTable: "table {{.ID}}\t{{.Names}}",
    header: { ID: "CONTAINER ID", Names: "NAMES", Status: "STATUS", RunningFor: "CREATED" },
  };
  test("table: the header row is the template run on the header names", () => {
    const f = ListFormat.parse("table {{.Names}}\\t{{.Status}}", spec);
    f.add({ Names: "web", Status: "Up 1 second" });
    f.add({ Names: "db", Status: "Exited (0) 2 seconds ago" });
    expect(f.render()).toBe("NAMES     STATUS\nweb       Up 1 second\ndb        Exited (0) 2 seconds ago\n");
    // `table` alone is the default table; the header has no rows under it when the list is empty.
    expect(ListFormat.parse("table", spec).render()).toBe("CONTAINER ID   NAMES\n");
    // Header functions leave the names as they are (templates.HeaderFunctions); Label names the key's last part.
    const g = ListFormat.parse('table {{upper .Names}}\t{{.Label "com.example.tier"}}', spec);
    g.add({ Names: "web" }, { Label: labelMethod({ "com.example.tier": "front" }) });
    expect(g.render()).toBe("NAMES     tier\nWEB       front\n");
  });
  test("json: one object per line, keys sorted as docker's marshalled contexts; a custom format per row", () => {
    const f = ListFormat.parse("json", spec);
    f.add({ Names: "web", ID: "abc" });
    expect(f.render()).toBe('{"ID":"abc","Names":"web"}\n');
    const g = ListFormat.parse("{{.Names}}:{{.ID}}", spec);
    g.add({ Names: "web", ID: "abc" });
    expect(g.render()).toBe("web:abc\n");
  });
  test("errors: parse and an unknown field fail with docker's text and exit status 1", () => {
    expect(() => ListFormat.parse("{{.Names", spec)).toThrow(new FormatError("template parsing error: template: :1: unclosed action", 1));
    const f = ListFormat.parse("{{.Foo}}", spec);
    try {
      f.add({ Names: "x" });
      throw new Error("no error");
    } catch (e) {
      expect((e as FormatError).exitStatus).toBe(1);
      expect((e as Error).message).toBe('template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext');
    }
    // A row's fields are docker's methods without parameters: arguments are counted.
    expect(() => ListFormat.precheck('{{.Names "x"}}', { Names: "" }, spec)).toThrow('failed to execute template: template: :1:2: executing "" at <.Names>: wrong number of args for Names: want 0 got 1');
    expect(() => ListFormat.precheck("table {{.Foo}}", { Names: "" }, spec)).toThrow('failed to execute template: template: :1:8: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext');
  });
});

describe("inspect: typed first, then the raw JSON with missingkey=error", () => {
  test("a missing field fails as docker's; a missing label prints <no value>; json is one array", () => {
    const f = InspectFormat.parse("{{.State.Bogus}}");
    expect(f.render([doc])).toEqual({ out: "\n", errors: ['template parsing error: template: :1:8: executing "" at <.State.Bogus>: map has no entry for key "Bogus"'] });
    expect(InspectFormat.parse("{{.Config.Labels.zz}}|{{.Config.Labels.a}}").render([doc])).toEqual({ out: "<no value>|1\n", errors: [] });
    expect(InspectFormat.parse("{{range .Mounts}}{{.Destination}} {{end}}").render([doc, doc]).out).toBe("/data /etc/x \n/data /etc/x \n");
    expect(InspectFormat.parse("json").render([{ a: 1 }, { b: 2 }]).out).toBe('[{"a":1},{"b":2}]\n');
    // inspect does not turn a written "\t" into a tab (docker parses the -f string as it is).
    expect(InspectFormat.parse("{{.Id}}\\t{{.Name}}").render([doc]).out).toBe("abc123\\t/web\n");
    // {{json .}} of a struct keeps the document's field order.
    expect(InspectFormat.parse("{{json .State}}").render([doc]).out).toBe('{"Status":"running","Running":true,"ExitCode":0,"Pid":4242,"Error":""}\n');
  });
  test("a template that does not parse exits 64", () => {
    try {
      InspectFormat.parse("{{.State.Bogus");
      throw new Error("parsed");
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      expect((e as FormatError).exitStatus).toBe(64);
      expect((e as Error).message).toBe("template parsing error: template: :1: unclosed action");
    }
  });
  test("version/info/events: named templates, typed structs", () => {
    expect(() => ValueFormat.parse("{{.Client.Version", { name: "version" })).toThrow("template parsing error: template: version:1: unclosed action");
    const v = ValueFormat.parse("{{.Client.Version}}", { name: "version" });
    expect(v.render({ Client: { Version: "1" }, Server: null }, { struct: "main.versionInfo" })).toBe("1");
    expect(() => v.render({ Other: 1 }, { struct: "main.versionInfo" })).toThrow("can't evaluate field Client in type main.versionInfo");
  });
});

describe("format.ts's synchronous API", () => {
  test("renderTemplate: Go templates, escapes, json, Go-shaped errors", () => {
    expect(renderTemplate("{{.ID}}\\t{{range .L}}{{.}},{{end}}", { ID: "x", L: [1, 2] })).toBe("x\t1,2,");
    expect(renderTemplate("json", { a: 1 })).toBe('{"a":1}');
    expect(() => renderTemplate("{{.ID", {})).toThrow("template parsing error: template: :1: unclosed action");
  });
  test("formatRows: docker's list output", () => {
    const spec = { typeName: "*container.statsContext", defaultTable: "table {{.Name}}\t{{.CPUPerc}}", header: { Name: "NAME", CPUPerc: "CPU %" } };
    expect(formatRows("table", [{ Name: "web", CPUPerc: "0.10%" }], spec)).toBe("NAME      CPU %\nweb       0.10%\n");
  });
});

describe("inspect's typed run has docker's zero values", () => {
  const c = { State: { Status: "exited", Pid: 0 }, Config: { Image: "busybox", Volumes: null, Cmd: null }, HostConfig: { Binds: null } };
  test("omitted fields are Go's zero values; nil slices and maps print empty; json leaves them out", () => {
    const r = (t: string) => InspectFormat.parse(t).render([c]);
    // State.Health is a nil *Health: printed <nil>; a field of it fails (then the raw run: no key Health).
    expect(r("{{.State}}").out).toBe("{exited 0 <nil>}\n");
    expect(r("{{.State.Health.Status}}").errors).toEqual(['template parsing error: template: :1:8: executing "" at <.State.Health.Status>: map has no entry for key "Health"']);
    expect(r("{{.Config.ExposedPorts}} {{.Config.Volumes}} {{.Config.Cmd}} {{.HostConfig.Binds}} {{len .HostConfig.Binds}}").out).toBe("map[] map[] [] [] 0\n");
    expect(r("{{range .Config.Cmd}}x{{else}}none{{end}}").out).toBe("none\n");
    expect(r("{{json .Config}}").out).toBe('{"Image":"busybox","Volumes":null,"Cmd":null}\n');
    expect(r("{{.SizeRw}} {{json .}}").out).toBe('<nil> {"State":{"Status":"exited","Pid":0},"Config":{"Image":"busybox","Volumes":null,"Cmd":null},"HostConfig":{"Binds":null}}\n');
    // A volume's Status (cluster volumes only) is a nil map.
    expect(InspectFormat.parse("{{.Status}} {{.Name}}").render([{ Name: "v", Driver: "local", Mountpoint: "/x" }]).out).toBe("map[] v\n");
  });
});
