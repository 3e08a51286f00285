import { describe, expect, test } from "bun:test";
import { parseBytes, parseFlags, UsageError, type FlagTable } from "../../src/cli/flags.ts";

const T: FlagTable = {
  rm: { kind: "bool", help: "" },
  interactive: { kind: "bool", short: "i", help: "" },
  tty: { kind: "bool", short: "t", help: "" },
  env: { kind: "list", short: "e", help: "" },
  name: { kind: "string", help: "" },
  "pids-limit": { kind: "int", help: "" },
  workdir: { kind: "string", short: "w", help: "" },
};
const run = (argv: string[]) => parseFlags(argv, T, { stopAtPositional: true, what: "berth run" });

describe("docker-style flags", () => {
  test("long flags with and without =, grouped short booleans, values glued to short flags", () => {
    const p = run(["--rm", "-it", "-e", "A=1", "-eB=2", "-e=C=3", "--name=x", "--pids-limit", "5", "-w/tmp", "busybox", "sh", "-c", "echo -e hi"]);
    expect(p.flags).toEqual({ rm: true, interactive: true, tty: true, env: ["A=1", "B=2", "C=3"], name: "x", "pids-limit": 5, workdir: "/tmp" });
    expect(p.rest).toEqual(["busybox", "sh", "-c", "echo -e hi"]);
  });

  test("a grouped short flag that takes a value eats the rest or the next argument", () => {
    expect(run(["-ite", "X=1", "img"]).flags).toEqual({ interactive: true, tty: true, env: ["X=1"] });
    expect(run(["-itw/w", "img"]).flags).toEqual({ interactive: true, tty: true, workdir: "/w" });
  });

  test("booleans take =false; -- ends the flags; without stopAtPositional flags follow arguments", () => {
    expect(run(["--rm=false", "img"]).flags.rm).toBe(false);
    expect(run(["--", "--rm"]).rest).toEqual(["--rm"]);
    const p = parseFlags(["a", "--rm", "b"], T, { what: "berth rm" });
    expect(p).toEqual({ flags: { rm: true }, rest: ["a", "b"] });
  });

  test("errors are docker's wording and UsageErrors (exit 125)", () => {
    expect(() => run(["--nope"])).toThrow("unknown flag: --nope. See 'berth run --help'.");
    expect(() => run(["-x"])).toThrow("unknown shorthand flag: 'x' in -x");
    expect(() => run(["--name"])).toThrow("flag needs an argument: --name");
    expect(() => run(["--pids-limit", "many"])).toThrow('invalid argument "many" for "--pids-limit" flag');
    expect(() => run(["--rm=maybe"])).toThrow(UsageError);
  });

  test("byte sizes as docker reads --memory", () => {
    expect(parseBytes("64m", "--memory")).toBe(64 << 20);
    expect(parseBytes("1g", "--memory")).toBe(1 << 30);
    expect(parseBytes("512k", "--memory")).toBe(512 << 10);
    expect(parseBytes("1.5m", "--memory")).toBe(1.5 * 1024 * 1024);
    expect(parseBytes("1000", "--memory")).toBe(1000);
    expect(parseBytes("64MB", "--memory")).toBe(64 << 20);
    expect(() => parseBytes("lots", "--memory")).toThrow("invalid size");
  });
});
