#!/usr/bin/env python3
"""A console socket for tests, like containerd's and conmon's: listen on a unix socket, receive the
pty master over SCM_RIGHTS, write the given input to it, and copy what the container prints to
stdout until the terminal closes. Usage: console-receiver.py SOCKET INPUT"""
import array, os, select, socket, sys, time

path, data = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(64, socket.CMSG_SPACE(fds.itemsize))
for level, kind, payload in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(payload[: fds.itemsize])
master = fds[0]
sys.stderr.write("name=%s\n" % msg.decode())
deadline = time.time() + 20
sent = False
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if not sent:
        time.sleep(0.2)
        os.write(master, data)
        sent = True
    if r:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
os.unlink(path)
