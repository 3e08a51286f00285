// An OCI image of the host's busybox-static, built with umoci (Debian `umoci`): a layout
// directory for podman (`oci:DIR:tag`) and a tar of it for `ctr images import`.

import * as fs from "node:fs";
import { join } from "node:path";
import { mustRun } from "./run-command.ts";

const busybox = "/bin/busybox";

/** Builds an OCI layout at `layout` (must not exist) with one image tagged `tag`. */
export async function makeBusyboxOciLayout(layout: string, tag = "latest", extraConfig: string[] = []): Promise<void> {
  if (!fs.existsSync(busybox)) throw new Error(`${busybox} is missing: apt-get install busybox-static`);
  const image = `${layout}:${tag}`;
  const bundle = `${layout}.unpacked`;
  await mustRun(["umoci", "init", "--layout", layout]);
  await mustRun(["umoci", "new", "--image", image]);
  await mustRun(["umoci", "unpack", "--rootless", "--image", image, bundle]);
  const rootfs = join(bundle, "rootfs");
  for (const d of ["bin", "etc", "tmp", "root", "proc", "sys", "dev"]) fs.mkdirSync(join(rootfs, d), { recursive: true });
  fs.copyFileSync(busybox, join(rootfs, "bin/busybox"));
  fs.chmodSync(join(rootfs, "bin/busybox"), 0o755);
  const applets = (await mustRun([busybox, "--list"])).stdout.split("\n").filter((a) => a && a !== "busybox");
  for (const applet of applets) fs.symlinkSync("busybox", join(rootfs, "bin", applet));
  fs.chmodSync(join(rootfs, "tmp"), 0o1777);
  fs.writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  fs.writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await mustRun(["umoci", "repack", "--image", image, bundle]);
  await mustRun(["umoci", "config", "--image", image, "--config.cmd", "sh", "--config.env", "PATH=/bin", "--config.workingdir", "/", ...extraConfig]);
  await mustRun(["umoci", "gc", "--layout", layout]);
  fs.rmSync(bundle, { recursive: true, force: true });
}

/** Writes `layout` as an OCI archive (a tar of the layout directory) to `tarPath`. */
export async function ociArchive(layout: string, tarPath: string): Promise<void> {
  await mustRun(["tar", "-C", layout, "-cf", tarPath, "."]);
}
