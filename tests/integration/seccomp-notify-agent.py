#!/usr/bin/env python3
"""A seccomp agent for tests: listens on a unix socket (linux.seccomp.listenerPath), receives one
container process state with the listener fd per connection (SCM_RIGHTS, runtime-spec
config-linux.md "Seccomp"), and answers every notification on that fd with an errno or a value.

Usage: seccomp-notify-agent.py SOCKET LOG errno:N|value:N
Each line of LOG is JSON: {"conn": n, "payload": {...}, "fds": k} for a connection's message,
{"conn": n, "eof": true} when the runtime closed it,
{"conn": n, "nr": syscall, "pid": pid} for a notification (pid as the kernel gives it: the pid in
the agent's own pid namespace)."""
import array, fcntl, json, os, socket, struct, sys, threading

path, log_path, answer = sys.argv[1], sys.argv[2], sys.argv[3]
kind, _, number = answer.partition(":")
number = int(number)

# linux/seccomp.h: SECCOMP_IOCTL_NOTIF_RECV = _IOWR('!', 0, struct seccomp_notif) (80 bytes),
# SECCOMP_IOCTL_NOTIF_SEND = _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes).
def iowr(nr, size):
    return (3 << 30) | (size << 16) | (ord("!") << 8) | nr
NOTIF_SIZE, RESP_SIZE = 80, 24
NOTIF_RECV, NOTIF_SEND = iowr(0, NOTIF_SIZE), iowr(1, RESP_SIZE)

lock = threading.Lock()
log = open(log_path, "a")
def record(obj):
    with lock:
        log.write(json.dumps(obj) + "\n")
        log.flush()

def serve(conn_no, fd):
    while True:
        buf = bytearray(NOTIF_SIZE)
        try:
            fcntl.ioctl(fd, NOTIF_RECV, buf, True)
        except OSError:
            return  # every process using the filter is gone
        # struct seccomp_notif { u64 id; u32 pid; u32 flags; struct seccomp_data { int nr; ... } }
        nid, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
        record({"conn": conn_no, "nr": nr, "pid": pid})
        # struct seccomp_notif_resp { u64 id; s64 val; s32 error; u32 flags; }
        val, err = (number, 0) if kind == "value" else (0, -number)
        resp = bytearray(struct.pack("=QqiI", nid, val, err, 0))
        try:
            fcntl.ioctl(fd, NOTIF_SEND, resp, True)
        except OSError:
            pass  # the process was killed meanwhile

def connection(conn_no, conn):
    # Serve the fd as soon as the whole payload is in: a runtime may close the connection late.
    fds, data, served = array.array("i"), b"", False
    while True:
        msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
        for level, typ, payload in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if not msg:
            break
        data += msg
        if not served:
            try:
                payload = json.loads(data)
            except ValueError:
                continue  # not all of it yet
            record({"conn": conn_no, "payload": payload, "fds": len(fds)})
            for fd in fds:
                threading.Thread(target=serve, args=(conn_no, fd), daemon=True).start()
            served = True
    if not served:
        record({"conn": conn_no, "payload": {"unparsed": data.decode(errors="replace")}, "fds": len(fds)})
    record({"conn": conn_no, "eof": True})  # the runtime closed the connection
    conn.close()

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
print("listening", flush=True)
conn_no = 0
while True:
    conn, _ = srv.accept()
    conn_no += 1
    threading.Thread(target=connection, args=(conn_no, conn), daemon=True).start()
