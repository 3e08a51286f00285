// examples/judge.ts as an online judge uses it: gcc from the host compiles in one sandbox, the
// binary runs on three inputs in another, outputs are compared.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { judge } from "../../examples/judge.ts";
import { runCgroups } from "../helpers/sandbox.ts";

const ADD = `#include <stdio.h>
int main(void) { long a, b; scanf("%ld %ld", &a, &b); printf("%ld\\n", a + b); return 0; }`;

test("a correct submission is accepted on every test", async () => {
  const { compile, tests } = await judge(ADD);
  expect(compile.status).toBe("ok");
  expect(tests.map((t) => t.judgement)).toEqual(["accepted", "accepted", "accepted"]);
  expect(tests.every((t) => t.result.cpuMs < 100)).toBe(true);
});

test("wrong answers, time limits, forbidden syscalls and compile errors are told apart", async () => {
  const wrong = await judge(ADD.replace("a + b", "a - b"));
  expect(wrong.tests.map((t) => t.judgement)).toEqual(["wrong answer", "wrong answer", "wrong answer"]);
  const slow = await judge(`int main(void) { for (;;) {} }`);
  expect(slow.tests.map((t) => [t.judgement, t.result.status])).toEqual([["time limit", "time"], ["time limit", "time"], ["time limit", "time"]]);
  const evil = await judge(`#include <sys/mount.h>
int main(void) { mount("none", "/tmp", "tmpfs", 0, 0); return 0; }`);
  expect(evil.tests.map((t) => [t.judgement, t.result.syscall])).toEqual([["security violation", "mount"], ["security violation", "mount"], ["security violation", "mount"]]);
  const broken = await judge(`int main( {`);
  expect(broken.compile.status).toBe("exit");
  expect(broken.compile.stderr.toString()).toMatch(/error:/);
  expect(broken.tests.map((t) => t.judgement)).toEqual(["compile error", "compile error", "compile error"]);
  expect(runCgroups()).toEqual([]);
  expect(readdirSync("/tmp").filter((n) => n.startsWith(`berth-sandbox-${process.pid}-`))).toEqual([]);
});
