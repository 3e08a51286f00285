// /containers/{id}/archive (docker cp): HEAD and GET answer docker's X-Docker-Container-Path-Stat
// header (base64 JSON, os.ModeDir set for directories, which the CLI needs to choose where a
// copy goes); GET streams a tar of the path; PUT extracts an uncompressed tar into a directory.
// The engine does the work inside the container's root (engine/archive.ts, rooted-fs.ts).
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { getContainerArchive, pathStatHeader, putContainerArchive, statContainerPath } from "../../engine/archive.ts";
import { badRequest, q, qBool, type Ctx } from "./http.ts";

const STAT = "X-Docker-Container-Path-Stat";

function pathOf(c: Ctx): string {
  const p = q(c, "path");
  if (!p) throw badRequest("path is required (docker cp CONTAINER:PATH)");
  return p;
}

export async function head(c: Ctx): Promise<void> {
  const st = await statContainerPath(c.e, c.params.id!, pathOf(c));
  c.res!.writeHead(200, { [STAT]: pathStatHeader(st), "Content-Type": "application/json", "Content-Length": 0 });
  c.res!.end();
}

/** The tar is made in a scratch file first: the stat header (taken while archiving) goes before the body. */
export async function get(c: Ctx): Promise<void> {
  const { TarWriter } = await import("../../image/tar-writer.ts");
  mkdirSync(c.e.tmp, { recursive: true });
  const dir = mkdtempSync(join(c.e.tmp, "cp-"));
  const file = join(dir, "archive.tar");
  try {
    const fd = openSync(file, "w", 0o600);
    let st;
    try {
      st = await getContainerArchive(c.e, c.params.id!, pathOf(c), new TarWriter(fd));
    } finally {
      closeSync(fd);
    }
    c.res!.writeHead(200, { [STAT]: pathStatHeader(st), "Content-Type": "application/x-tar" });
    await pipeline(createReadStream(file), c.res!).catch(() => {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function put(c: Ctx): Promise<void> {
  const path = pathOf(c);
  const chunks: Buffer[] = [];
  for await (const ch of c.req) chunks.push(ch as Buffer);
  const tar = new Uint8Array(Buffer.concat(chunks));
  await putContainerArchive(c.e, c.params.id!, path, tar, { noOverwriteDirNonDir: qBool(c, "noOverwriteDirNonDir"), copyUIDGID: qBool(c, "copyUIDGID") });
  c.res!.writeHead(200, { "Content-Length": 0 });
  c.res!.end();
}
