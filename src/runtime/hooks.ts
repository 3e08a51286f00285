// Hooks the runtime runs itself, in the runtime namespace: poststart (after `start`) and
// poststop (after delete). The others run inside berth-init (plan ops HOOK / CHILD_HOOK) because
// they must happen between namespace setup and execve. runtime-spec config.md "POSIX-platform Hooks".
import { internal } from "../sys/errdefs.ts";
import type { HookConfig } from "./config.ts";
import type { State } from "./spec/types.ts";

export async function runHooks(hooks: readonly HookConfig[], state: State, opts: { warnOnly?: boolean } = {}): Promise<void> {
  for (const h of hooks) {
    try {
      await runHook(h, state);
    } catch (e) {
      // poststart/poststop failures must not undo the container (spec: "log a warning").
      if (!opts.warnOnly) throw e;
      process.stderr.write(`berth-runtime: warning: ${(e as Error).message}\n`);
    }
  }
}

export async function runHook(h: HookConfig, state: State): Promise<void> {
  const args = h.args && h.args.length > 0 ? h.args : [h.path];
  const env: Record<string, string> = {};
  for (const e of h.env ?? []) env[e.slice(0, e.indexOf("="))] = e.slice(e.indexOf("=") + 1);
  let p: Bun.Subprocess<"pipe", "inherit", "inherit">;
  try {
    // The hook's path is what runs; args[0] is only its argv[0] (config.md: "args ... same
    // semantics as IEEE Std 1003.1-2008 execv's argv").
    p = Bun.spawn([h.path, ...args.slice(1)], { argv0: args[0]!, env, stdin: "pipe", stdout: "inherit", stderr: "inherit", cwd: "/" });
  } catch (e) {
    throw internal(`${h.field}: cannot run hook ${h.path}: ${(e as Error).message}`, h.field);
  }
  p.stdin.write(JSON.stringify(state));
  await p.stdin.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = h.timeout
    ? new Promise<"timeout">((r) => { timer = setTimeout(() => r("timeout"), h.timeout! * 1000); })
    : new Promise<never>(() => {});
  const r = await Promise.race([p.exited, timedOut]);
  if (timer) clearTimeout(timer);
  if (r === "timeout") {
    p.kill("SIGKILL");
    throw internal(`${h.field}: hook ${h.path} timed out after ${h.timeout}s`, h.field);
  }
  if (r !== 0) throw internal(`${h.field}: hook ${h.path} exited with status ${r}`, h.field);
}
