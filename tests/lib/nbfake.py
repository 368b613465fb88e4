#!/usr/bin/env python3
"""A tiny stand-in NBNET/1 server for the client's tests, speaking the
protocol as revised (PROTOCOL.md): '<' (stdin), '&' and the stderr channel,
'~' (the user asked for), until both real servers do.

It reads exactly the frame (tests/lib/nbframe.py's read_request, one byte at
a time so that not one byte past it is taken). A request with '&' waits
(up to --request-timeout) for the channel that sends '=' and its token from
the same peer address, and a channel for its request, in either order; then
every line of its own goes to the channel. A '~' that names a user other than
the one it runs as is refused: "nbnet: cannot run as USER here", 126. It runs
`sh -c COMMAND` in a process group of its own with the connection as fd 1,
the channel (or the connection) as fd 2, the connection as fd 0 with '<'
(else /dev/null); watches the socket only for errors while the command runs
and kills the group on a reset; closes the channel, then, for '+', writes the
trailer in one write once nothing is unsent (SIOCOUTQNSD 0, the delivery
rule), shuts down its write side, drains what the client still sends
(bounded) and closes.

--old makes it a server that predates '&' and '~': it answers them, and a
channel's '=', with a bad header, as the real servers did.

Usage: nbfake.py PORT [--log FILE] [--old] [--request-timeout SEC].
One thread per connection. The log has a line per request:
"request FLAGS COMMAND", the token shown as '&' alone.
"""
import argparse
import fcntl
import os
import pwd
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import nbframe

SIOCOUTQNSD = 0x894B

# token -> (peer host, channel socket, event set when its request took it)
waiting = {}
waiting_lock = threading.Condition()


def log(args, text):
    if args.log:
        with open(args.log, "a") as f:
            f.write(text + "\n")


def wait_unsent(c, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        n = struct.unpack("i", fcntl.ioctl(c.fileno(), SIOCOUTQNSD, b"\0" * 4))[0]
        if n == 0:
            return
        time.sleep(0.001)


def finish(c, status, want_status):
    if want_status:
        wait_unsent(c)
        c.sendall(nbframe.trailer(status))
    c.shutdown(socket.SHUT_WR)
    c.settimeout(2)
    while c.recv(65536):
        pass


def offer_channel(args, c, token):
    """A channel: handed to its request, which closes it; False when none took it."""
    taken = threading.Event()
    with waiting_lock:
        if token in waiting:
            return False
        waiting[token] = (c.getpeername()[0], c, taken)
        waiting_lock.notify_all()
    if taken.wait(args.request_timeout):
        return True
    with waiting_lock:
        waiting.pop(token, None)
    log(args, "channel %s not paired" % token[:8])
    return False


def take_channel(args, c, token):
    end = time.monotonic() + args.request_timeout
    with waiting_lock:
        while True:
            entry = waiting.get(token)
            if entry and entry[0] == c.getpeername()[0]:
                del waiting[token]
                entry[2].set()
                return entry[1]
            left = end - time.monotonic()
            if left <= 0:
                return None
            waiting_lock.wait(left)


def run(args, c, req, err):
    stdin = c.fileno() if req["stdin"] else subprocess.DEVNULL
    proc = subprocess.Popen(["/bin/sh", "-c", req["command"]], stdin=stdin, stdout=c.fileno(),
                            stderr=err.fileno(), start_new_session=True)
    log(args, "started %d %r stdin=%s" % (proc.pid, req["command"], req["stdin"]))
    poller = select.poll()
    poller.register(c.fileno(), 0)  # errors and hang-ups only: never read
    while proc.poll() is None:
        events = poller.poll(50)
        if any(ev & (select.POLLERR | select.POLLHUP) for _, ev in events):
            log(args, "reset: killing %d" % proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return None
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what the command left behind
    except ProcessLookupError:
        pass
    rc = proc.returncode
    status = 128 - rc if rc < 0 else rc
    log(args, "ended %d status %d" % (proc.pid, status))
    return status


def serve(args, c):
    channel = None
    keep = False
    try:
        try:
            req = nbframe.read_request(c.recv, b"+<@" if args.old else nbframe.FLAG_ORDER)
        except nbframe.BadHeader as e:
            c.sendall(str(e).encode() + b"\n")
            finish(c, 125, e.trailer)
            return
        if req is None:
            return
        if req["channel"]:
            keep = offer_channel(args, c, req["channel"])
            return
        log(args, "request %s%s%s%s %s" % ("+" if req["status"] else "", "<" if req["stdin"] else "",
                                           "&" if req["token"] else "",
                                           "~" + req["user"] if req["user"] else "",
                                           req["command"].decode(errors="replace")))
        if req["token"]:
            channel = take_channel(args, c, req["token"])
            if channel is None:
                c.sendall(b"nbnet: the stderr channel did not arrive\n")
                finish(c, 125, req["status"])
                return
        err = channel or c
        me = pwd.getpwuid(os.geteuid()).pw_name
        if req["user"] and req["user"] != me:
            err.sendall(b"nbnet: cannot run as %s here\n" % req["user"].encode())
            status = 126
        else:
            status = run(args, c, req, err)
            if status is None:
                return
        if channel:
            channel.shutdown(socket.SHUT_WR)
            channel.close()
            channel = None
        finish(c, status, req["status"])
    except OSError:
        pass
    finally:
        if channel:
            channel.close()
        if not keep:
            c.close()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("--log")
    p.add_argument("--old", action="store_true")
    p.add_argument("--request-timeout", type=float, default=10)
    args = p.parse_args()
    s = socket.create_server(("127.0.0.1", args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(args, c), daemon=True).start()


if __name__ == "__main__":
    main()
