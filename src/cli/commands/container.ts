import { group } from "../command.ts";

export default group("container", "Manage containers", {
  create: ["Create a new container", () => import("./create.ts")],
  run: ["Create and run a new container from an image", () => import("./run.ts")],
  start: ["Start one or more stopped containers", () => import("./start.ts")],
  attach: ["Attach to a running container", () => import("./attach.ts")],
  exec: ["Execute a command in a running container", () => import("./exec.ts")],
  stop: ["Stop one or more running containers", () => import("./stop.ts")],
  kill: ["Kill one or more running containers", () => import("./kill.ts")],
  restart: ["Restart one or more containers", () => import("./restart.ts")],
  wait: ["Block until one or more containers stop, then print their exit codes", () => import("./wait.ts")],
  rm: ["Remove one or more containers", () => import("./rm.ts")],
  rename: ["Rename a container", () => import("./rename.ts")],
  pause: ["Pause all processes within one or more containers", () => import("./pause.ts")],
  unpause: ["Unpause all processes within one or more containers", () => import("./unpause.ts")],
  top: ["Display the running processes of a container", () => import("./top.ts")],
  stats: ["Display a live stream of container(s) resource usage statistics", () => import("./stats.ts")],
  cp: ["Copy files/folders between a container and the local filesystem", () => import("./cp.ts")],
  port: ["List port mappings or a specific mapping for the container", () => import("./port.ts")],
  logs: ["Fetch the logs of a container", () => import("./logs.ts")],
  ls: ["List containers", () => import("./ps.ts")],
  ps: ["List containers", () => import("./ps.ts")],
  inspect: ["Display detailed information on one or more containers", () => import("./inspect.ts")],
  prune: ["Remove all stopped containers", () => import("./container-prune.ts")],
  // Run by a container's monitor after its last exit (not by hand): record it, release, --rm.
  cleanup: ["", () => import("./container-cleanup.ts")],
  // Run by a container's monitor at each health-check interval: one check, its state recorded.
  healthcheck: ["", () => import("./container-healthcheck.ts")],
});
