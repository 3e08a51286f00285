import { group } from "../command.ts";

export default group("tasks", "Look at tasks (containers with a live process), as ctr tasks", {
  ls: ["List tasks", () => import("./plumbing.ts").then((m) => ({ default: m.tasksLs }))],
  list: ["", () => import("./plumbing.ts").then((m) => ({ default: m.tasksLs }))],
});
