#!/usr/bin/python3
# A real sd_notify receiver for the tests, independent of sd-activate's code:
# an AF_UNIX datagram socket with SO_PASSCRED at argv[1] ("/path" or "@abstract").
# Prints one JSON line per datagram: {"text", "pid", "fds": [{"fd", "type", ...}]}.
# Commands on stdin, one per line:
#   stall        stop reading (the kernel queue fills up)
#   resume       read again (the queue is drained before the ack)
#   hold-barrier keep BARRIER=1 fds open (a manager that never confirms)
#   quit
# Received fds are described (fstat / getsockname) and then closed, which is
# what confirms a BARRIER=1 message.
import array, json, os, select, socket, stat, struct, sys

path = sys.argv[1]
addr = "\0" + path[1:] if path.startswith("@") else path
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
if len(sys.argv) > 2:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[2]))
sock.bind(addr)
sock.setblocking(False)
print(json.dumps({"ready": True}), flush=True)

def describe(fd):
    st = os.fstat(fd)
    d = {"fd": fd, "mode": "socket" if stat.S_ISSOCK(st.st_mode) else "fifo" if stat.S_ISFIFO(st.st_mode) else "other"}
    if d["mode"] == "socket":
        s = socket.socket(fileno=os.dup(fd))
        try:
            d["family"] = int(s.family)
            d["type"] = int(s.type)
            d["listening"] = bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
            name = s.getsockname()
            d["name"] = list(name) if isinstance(name, tuple) else (name.decode("latin1") if isinstance(name, bytes) else name)
        finally:
            s.close()
    return d

stalled = False
hold = False
held = []

def drain():
    while True:
        try:
            msg, anc, flags, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4 * 253) + socket.CMSG_SPACE(12))
        except BlockingIOError:
            return
        pid, fds_in = 0, []
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
            elif level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[: len(data) - (len(data) % a.itemsize)])
                fds_in.extend(a)
        text = msg.decode("utf-8", "replace")
        out = {"text": text, "pid": pid, "fds": [describe(fd) for fd in fds_in]}
        # The line first: closing a BARRIER=1 fd is what lets the sender go
        # on, and the test may read the messages as soon as the sender ends.
        print(json.dumps(out), flush=True)
        for fd in fds_in:
            if hold and "BARRIER=1" in text:
                held.append(fd)
            else:
                os.close(fd)

while True:
    fds = [sys.stdin]
    if not stalled:
        fds.append(sock)
    r, _, _ = select.select(fds, [], [])
    if sys.stdin in r:
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            break
        cmd = line.strip()
        if cmd == "stall":
            stalled = True
        elif cmd == "resume":
            # Empty the queue before the ack, so that a send right after
            # "resume" resolves finds room (it raced the next select before).
            stalled = False
            drain()
        elif cmd == "hold-barrier":
            hold = True
        print(json.dumps({"ack": cmd}), flush=True)
    if sock in r and not stalled:
        drain()
sock.close()
if not path.startswith("@"):
    try:
        os.unlink(path)
    except OSError:
        pass
