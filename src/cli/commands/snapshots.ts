import { group } from "../command.ts";

const sub = (name: "snapshotsLs" | "snapshotsTree" | "snapshotsUsage") => () => import("./plumbing.ts").then((m) => ({ default: m[name] }));
export default group("snapshots", "Look at the snapshots (image layers, containers' roots), as ctr snapshots", {
  ls: ["List snapshots", sub("snapshotsLs")],
  list: ["", sub("snapshotsLs")],
  tree: ["Show snapshots as a tree", sub("snapshotsTree")],
  usage: ["Show disk usage of snapshots", sub("snapshotsUsage")],
});
