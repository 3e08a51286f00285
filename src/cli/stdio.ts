// The CLI's stdout and stderr as plain synchronous writes to fds 1 and 2. Not process.stdout and
// process.stderr: in the compiled berth, the first touch of either builds Bun's node:stream
// machinery, which cost ~10 ms of every command's start here (a binary that only registered an
// error handler on both started in 14.4 ms against 2.4 ms; one that wrote with writeSync, 3.7 ms).
// A synchronous write also needs no flush before exit. A full pipe blocks the write, as docker's
// does; for a container's output that is the back-pressure: the monitor's socket is not read and
// the monitor stops reading the container (see attach-session.ts). EPIPE (the reader went away:
// `berth ps | head`) ends berth with 141, as a SIGPIPE would.
// process.stdout is still there for what needs a terminal's properties (isTTY, rows, columns):
// those paths go through nodeStdout()/nodeStderr(), and main flushes only what was used.
import { writeAllSync } from "../sys/write-all.ts";

export interface Out {
  write(data: string | Uint8Array): boolean;
}

function sink(fd: number): Out {
  return {
    write(data) {
      try {
        writeAllSync(fd, data);
      } catch (e) {
        if ((e as { code?: string }).code === "EPIPE") process.exit(141);
        throw e;
      }
      return true;
    },
  };
}

export const stdout: Out = sink(1);
export const stderr: Out = sink(2);

const used = new Set<NodeJS.WriteStream>();

function use(s: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!used.has(s)) {
    used.add(s);
    s.on?.("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(141);
    });
  }
  return s;
}

/** process.stdout, for its terminal properties or a stream API; main flushes it before exit. */
export function nodeStdout(): NodeJS.WriteStream {
  return use(process.stdout);
}

/** process.stderr, as nodeStdout. */
export function nodeStderr(): NodeJS.WriteStream {
  return use(process.stderr);
}

/** The node streams that were used (to flush before exit). */
export function usedNodeStreams(): NodeJS.WriteStream[] {
  return [...used];
}
