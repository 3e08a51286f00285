// `berth run` without -i gives the container an empty stdin, as docker does. The runtime library
// hands its own stdin to the container, so fd 0 of this process is pointed at /dev/null first
// (dup2 through libc: node:fs has no dup2).
import { closeSync, openSync } from "node:fs";

export async function detachStdin(): Promise<void> {
  const { dlopen, FFIType } = await import("bun:ffi");
  const lib = dlopen("libc.so.6", { dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
  const fd = openSync("/dev/null", "r");
  try {
    if (fd !== 0) lib.symbols.dup2(fd, 0);
  } finally {
    if (fd !== 0) closeSync(fd);
    lib.close();
  }
}
