"""Runs inside the container: COUNT connections to HOST:9079 opened within
SPREAD seconds, each asking for `echo ok-I` (after `sleep HOLD`, when HOLD
is given, so that all are open at once) and half-closing like `nc -N`.
Every client must end with its output (served), a `nbnet:` line (refused
with a reason), or nothing at all (silent: closed or reset with no byte, as
systemd does past MaxConnections=). Prints "served=N refused=N silent=N
bad=N" and exits 1 if any client got something else or no answer within
the deadline."""
import errno
import select
import socket
import sys
import time

count = int(sys.argv[1])
spread = float(sys.argv[2])
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
DEADLINE = 60.0 + hold  # seconds for the whole burst to be answered

served = refused = silent = resets = 0
bad = []
open_conns = {}  # fd -> (index, socket, bytes received)
poller = select.poll()


def finish(fd, error=None):
    global served, refused, silent, resets
    i, s, data = open_conns.pop(fd)
    poller.unregister(fd)
    s.close()
    if error is None and data == b"ok-%d\n" % i:
        served += 1
    elif not data:
        silent += 1  # systemd closed it past MaxConnections=, unanswered
        resets += error is not None
    elif data.startswith(b"nbnet: "):
        refused += 1  # the server said why
    else:
        bad.append("client %d: %r %s" % (i, bytes(data[:60]), error or ""))


def pump(timeout_ms):
    for fd, _ in poller.poll(timeout_ms):
        _, s, data = open_conns[fd]
        try:
            chunk = s.recv(65536)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                continue
            finish(fd, e.strerror)
            continue
        if chunk:
            data += chunk
        else:
            finish(fd)


start = time.monotonic()
for i in range(count):
    # Paced: client i connects at start + i * spread / count.
    delay = start + i * spread / count - time.monotonic()
    if delay > 0:
        pump(int(delay * 1000))
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(5)
    cmd = b"echo ok-%d" % i
    if hold > 0:
        cmd = b"sleep %g; " % hold + cmd
    try:
        s.connect((host, 9079))
        s.sendall(b"%010d" % len(cmd) + cmd)
        s.shutdown(socket.SHUT_WR)
    except ConnectionRefusedError:
        bad.append("client %d: connection refused (nothing listening)" % i)
        s.close()
        continue
    except OSError:
        pass  # reset or closed before the frame was sent: read what came
    s.setblocking(False)
    open_conns[s.fileno()] = (i, s, bytearray())
    poller.register(s, select.POLLIN)
opened = time.monotonic() - start

while open_conns and time.monotonic() - start < DEADLINE:
    pump(100)
for fd in list(open_conns):
    bad.append("client %d: no end of answer within %d s" % (open_conns[fd][0], DEADLINE))
    open_conns[fd][1].close()
    del open_conns[fd]

print("served=%d refused=%d silent=%d bad=%d (%d of the silent by a reset; opened in %.2f s, done in %.2f s)"
      % (served, refused, silent, len(bad), resets, opened, time.monotonic() - start))
for line in bad[:10]:
    print(line)
sys.exit(1 if bad else 0)
