// Docker's Volume JSON (Engine API "Volume") for berth's volume records.
import type { VolumeRecord } from "../metadata/volumes.ts";

export function volumeJson(v: VolumeRecord): Record<string, unknown> {
  return {
    CreatedAt: v.createdAt.toISOString().replace(/\.\d+Z$/, "Z"),
    Driver: v.driver,
    // docker 23+ marks anonymous volumes with this label.
    Labels: v.anonymous ? { "com.docker.volume.anonymous": "", ...v.labels } : v.labels,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: v.options,
    Scope: "local",
  };
}
