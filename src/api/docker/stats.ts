// GET /containers/{id}/stats: the engine's samples (engine/stats.ts) in docker's StatsResponse
// (docker/stats-json.ts). stream=0 gives one object — with precpu_stats from a sample a second
// earlier unless one-shot=1, as dockerd — and stream=1 one object a second until the container
// stops or the client goes away.
import { containerStats, type StatsSample } from "../../engine/stats.ts";
import { getContainer } from "../../engine/containers.ts";
import { statsJson } from "../../docker/stats-json.ts";
import { qBool, sendJson, startStream, writeChunk, type Ctx } from "./http.ts";

const tick = (c: Ctx, ms: number) => new Promise<void>((r) => {
  const t = setTimeout(r, ms);
  c.signal.addEventListener("abort", () => { clearTimeout(t); r(); }, { once: true });
});

const running = (s: string) => s === "running" || s === "paused";

export async function stats(c: Ctx): Promise<void> {
  const ctr = await getContainer(c.e, c.params.id!);
  const stream = qBool(c, "stream", true);
  if (!stream) {
    let pre: StatsSample | undefined;
    if (!qBool(c, "one-shot") && running(ctr.state)) {
      pre = await containerStats(c.e, ctr.id);
      await tick(c, 1000);
    }
    sendJson(c, 200, statsJson(await containerStats(c.e, ctr.id), pre));
    return;
  }
  const res = startStream(c, "application/json");
  let pre: StatsSample | undefined;
  while (!c.signal.aborted) {
    const cur = await containerStats(c.e, ctr.id).catch(() => undefined);
    if (!cur) break;
    await writeChunk(res, `${JSON.stringify(statsJson(cur, pre))}\n`, c.signal);
    pre = cur;
    const now = await getContainer(c.e, ctr.id).catch(() => undefined);
    if (!now || !running(now.state)) break;
    await tick(c, 1000);
  }
  res.end();
}
