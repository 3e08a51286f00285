// The route table of the Docker Engine API (paths after the /vX.Y prefix). `:name*` matches
// across slashes (image names have them); HEAD falls back to the GET route.
import type { Ctx } from "./http.ts";
import * as containers from "./containers.ts";
import * as images from "./images.ts";
import * as transfer from "./transfer.ts";
import * as volumes from "./volumes.ts";
import * as networks from "./networks.ts";
import * as system from "./system.ts";
import * as exec from "./exec.ts";
import { stats } from "./stats.ts";
import * as archive from "./archive.ts";

export interface Route {
  method: string;
  path: string;
  handler: (c: Ctx) => Promise<void>;
}

const r = (method: string, path: string, handler: (c: Ctx) => Promise<void>): Route => ({ method, path, handler });

export const routes: Route[] = [
  r("GET", "/_ping", system.ping),
  r("HEAD", "/_ping", system.ping),
  r("GET", "/version", system.version),
  r("GET", "/info", system.info),
  r("GET", "/events", system.events),
  r("GET", "/system/df", system.df),
  r("POST", "/auth", system.auth),

  r("POST", "/containers/create", containers.create),
  r("GET", "/containers/json", containers.list),
  r("POST", "/containers/prune", containers.prune),
  r("GET", "/containers/:id/json", containers.inspect),
  r("POST", "/containers/:id/start", containers.start),
  r("POST", "/containers/:id/stop", containers.stop),
  r("POST", "/containers/:id/kill", containers.kill),
  r("POST", "/containers/:id/restart", containers.restart),
  r("POST", "/containers/:id/wait", containers.wait),
  r("POST", "/containers/:id/attach", containers.attach),
  r("POST", "/containers/:id/resize", containers.resize),
  r("POST", "/containers/:id/rename", containers.rename),
  r("POST", "/containers/:id/pause", containers.pause),
  r("POST", "/containers/:id/unpause", containers.unpause),
  r("GET", "/containers/:id/top", containers.top),
  r("GET", "/containers/:id/logs", containers.logs),
  r("GET", "/containers/:id/changes", containers.changes),
  r("GET", "/containers/:id/stats", stats),
  r("HEAD", "/containers/:id/archive", archive.head),
  r("GET", "/containers/:id/archive", archive.get),
  r("PUT", "/containers/:id/archive", archive.put),
  r("POST", "/containers/:id/exec", exec.create),
  r("POST", "/exec/:id/start", exec.start),
  r("POST", "/exec/:id/resize", exec.resize),
  r("GET", "/exec/:id/json", exec.inspect),
  r("DELETE", "/containers/:id", containers.remove),

  r("GET", "/images/json", images.list),
  r("POST", "/images/create", transfer.create),
  r("POST", "/images/load", transfer.load),
  r("GET", "/images/get", transfer.save),
  r("GET", "/images/:name*/get", transfer.save),
  r("POST", "/images/:name*/push", transfer.push),
  r("POST", "/images/prune", images.prune),
  r("GET", "/images/search", system.notSupported("searching a registry (docker search)")),
  r("GET", "/images/:name*/json", images.inspect),
  r("GET", "/images/:name*/history", images.history),
  r("POST", "/images/:name*/tag", images.tag),
  r("DELETE", "/images/:name*", images.remove),
  r("POST", "/build", system.notSupported("building images (docker build)")),
  r("POST", "/build/prune", system.buildPrune),

  r("GET", "/volumes", volumes.list),
  r("POST", "/volumes/create", volumes.create),
  r("POST", "/volumes/prune", volumes.prune),
  r("GET", "/volumes/:name", volumes.inspect),
  r("DELETE", "/volumes/:name", volumes.remove),

  r("GET", "/networks", networks.list),
  r("POST", "/networks/create", networks.create),
  r("POST", "/networks/prune", networks.prune),
  r("GET", "/networks/:id", networks.inspect),
  r("DELETE", "/networks/:id", networks.remove),
  r("POST", "/networks/:id/connect", networks.connect),
  r("POST", "/networks/:id/disconnect", networks.disconnect),

  r("GET", "/plugins/:name*/json", system.noPlugin),
  r("GET", "/swarm", system.swarmUnavailable),
  r("GET", "/services", system.swarmUnavailable),
  r("GET", "/nodes", system.swarmUnavailable),
];
