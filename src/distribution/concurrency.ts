/**
 * Run `fn` over `items` with at most `limit` in flight. On the first failure the others are told
 * to stop (through the signal) and awaited, so nothing still writes when the call rejects.
 */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  parent?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  const ctrl = new AbortController();
  const onParentAbort = () => ctrl.abort(parent?.reason);
  parent?.addEventListener("abort", onParentAbort, { once: true });
  let next = 0;
  let firstError: { e: unknown } | undefined;
  const worker = async () => {
    while (!ctrl.signal.aborted && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i, ctrl.signal);
      } catch (e) {
        firstError ??= { e };
        ctrl.abort(e);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    parent?.removeEventListener("abort", onParentAbort);
  }
  if (firstError) throw firstError.e;
  if (parent?.aborted) throw parent.reason;
  return out;
}
