// docker's multi-argument verbs (stop a b c, rm a b…): act on each, print what it prints on
// success, report each failure on stderr, and exit 1 if any failed.
import { isBerthError } from "../sys/errdefs.ts";
import { stdout, stderr } from "./stdio.ts";

export async function forEach(refs: readonly string[], act: (ref: string) => Promise<string | undefined>): Promise<number> {
  let failed = false;
  for (const ref of refs) {
    try {
      const out = await act(ref);
      if (out !== undefined) stdout.write(`${out}\n`);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      stderr.write(`berth: ${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
