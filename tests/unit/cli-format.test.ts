import { describe, expect, test } from "bun:test";
import { statusText } from "../../src/docker/status-text.ts";
import type { Container } from "../../src/engine/containers.ts";
import { humanDuration, quoteCommand, renderTemplate, shortId, table } from "../../src/cli/format.ts";
import { humanSize3, humanSize4 } from "../../src/cli/units.ts";

describe("docker-style output", () => {
  test("sizes as docker prints them: images and history with three digits, df, prune and pull progress with four (go-units)", () => {
    expect(humanSize3(0)).toBe("0B");
    expect(humanSize3(512)).toBe("512B");
    expect(humanSize3(1234)).toBe("1.23kB");
    expect(humanSize3(4_261_234)).toBe("4.26MB");
    expect(humanSize3(1_000_000)).toBe("1MB");
    expect(humanSize3(77_800_000_000)).toBe("77.8GB");
    // Go's %g runs out of digits: docker shows 999.6 kB as "1e+03kB".
    expect(humanSize3(999_600)).toBe("1e+03kB");
    expect(humanSize4(4_261_234)).toBe("4.261MB");
    expect(humanSize4(1_000_000)).toBe("1MB");
  });

  test("durations in words", () => {
    expect(humanDuration(500)).toBe("Less than a second");
    expect(humanDuration(1000)).toBe("1 second");
    expect(humanDuration(42_000)).toBe("42 seconds");
    expect(humanDuration(90_000)).toBe("About a minute");
    expect(humanDuration(5 * 60_000)).toBe("5 minutes");
    expect(humanDuration(60 * 60_000)).toBe("About an hour");
    expect(humanDuration(5 * 3_600_000)).toBe("5 hours");
    expect(humanDuration(3 * 86_400_000)).toBe("3 days");
    expect(humanDuration(21 * 86_400_000)).toBe("3 weeks");
    expect(humanDuration(90 * 86_400_000)).toBe("3 months");
    expect(humanDuration(3 * 365 * 86_400_000)).toBe("3 years");
  });

  test("tables: columns padded to their widest cell plus three, at least ten", () => {
    expect(table(["REPOSITORY", "TAG", "IMAGE ID"], [["busybox", "latest", "0123456789ab"]])).toBe(
      "REPOSITORY   TAG       IMAGE ID\nbusybox      latest    0123456789ab\n",
    );
  });

  test("ids, commands, statuses", () => {
    expect(shortId("sha256:0123456789abcdef")).toBe("0123456789ab");
    expect(quoteCommand(["echo", "hello"])).toBe('"echo hello"');
    expect(quoteCommand(["sh", "-c", "a very long command line"])).toBe('"sh -c a very long c…"');
    const t0 = new Date(0);
    const ctr = (c: Record<string, unknown>) => c as unknown as Container;
    expect(statusText(ctr({ state: "exited", exitCode: 3, createdAt: t0, startedAt: t0, finishedAt: new Date(0) }), 5_000)).toBe("Exited (3) 5 seconds ago");
    expect(statusText(ctr({ state: "exited", exitCode: 127, createdAt: t0 }), 5_000)).toBe("Created"); // never started
    expect(statusText(ctr({ state: "running", createdAt: t0, startedAt: t0 }), 120_000)).toBe("Up 2 minutes");
    expect(statusText(ctr({ state: "running", createdAt: t0, startedAt: t0, health: { status: "starting" } }), 3_000)).toBe("Up 3 seconds (health: starting)");
    expect(statusText(ctr({ state: "paused", createdAt: t0, startedAt: t0 }), 3_000)).toBe("Up 3 seconds (Paused)");
    expect(statusText(ctr({ state: "created", createdAt: t0 }))).toBe("Created");
  });

  test("--format templates: fields, paths, json", () => {
    const v = { ID: "abc", State: { ExitCode: 3 }, Config: { Cmd: ["sh", "-c"] } };
    expect(renderTemplate("{{.ID}} {{.State.ExitCode}}", v)).toBe("abc 3");
    expect(renderTemplate("{{json .Config.Cmd}}", v)).toBe('["sh","-c"]');
    expect(renderTemplate("{{.Config.Cmd}}", v)).toBe("[sh -c]");
    expect(renderTemplate("{{.Missing}}", v)).toBe("<no value>");
    expect(renderTemplate("json", { a: 1 })).toBe('{"a":1}');
  });
});
