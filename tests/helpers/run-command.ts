// Runs a command to completion with a deadline and returns its exit code and output as text.
// Tests use it for real clients (ctr, podman, runc) whose output they compare.

export interface CommandResult {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** SIGKILL after this many ms (default 20 s); the result then has code -1. */
  timeoutMs?: number;
  stdin?: string;
}

export async function runCommand(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
  const started = performance.now();
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return {
    argv,
    code: timedOut ? -1 : code,
    stdout,
    stderr: timedOut ? `${stderr}\n(killed after ${opts.timeoutMs ?? 20_000} ms)` : stderr,
    ms: Math.round(performance.now() - started),
  };
}

/** Like runCommand, but throws with the command line and its stderr unless it exits 0. */
export async function mustRun(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
