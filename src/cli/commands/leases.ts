import { group } from "../command.ts";

export default group("leases", "Look at leases, as ctr leases", {
  ls: ["List leases", () => import("./plumbing.ts").then((m) => ({ default: m.leasesLs }))],
  list: ["", () => import("./plumbing.ts").then((m) => ({ default: m.leasesLs }))],
});
