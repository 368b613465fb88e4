#!/usr/bin/env python3
"""A tiny stand-in NBNET/1 server of the revision before the stderr channel:
it honours the '+' and '<' flags and answers anything else before the digits
('&', '~', a channel's '=') as a bad header (status 125), as an nbnet server
that predates them does. The clients' tests of that fallback run against it.

It reads exactly the frame, [+][<] 10DIGIT command, one byte at a time so
that not one byte past it is taken; runs `sh -c COMMAND` in a process group
of its own with the connection as fds 1 and 2, and as fd 0 with '<' (else
/dev/null); watches the socket only for errors while the command runs and
kills the group on a reset; then, for '+', writes the trailer in one write
once nothing is unsent (SIOCOUTQNSD 0, the delivery rule), shuts down its
write side, drains what the client still sends (bounded) and closes.

Usage: nbfake.py PORT [--log FILE]. One thread per connection.
"""
import argparse
import fcntl
import os
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


def log(args, text):
    if args.log:
        with open(args.log, "a") as f:
            f.write(text + "\n")


def read_frame(c):
    """(want_status, stdin, command) or None for a bad or cut frame."""
    flags = set()
    b = c.recv(1)
    for flag in (b"+", b"<"):
        if b == flag:
            flags.add(flag)
            b = c.recv(1)
    digits = b
    while len(digits) < 10:
        b = c.recv(1)
        if not b:
            return None
        digits += b
    if not digits.isdigit() or int(digits) == 0:
        return None
    length = int(digits)
    command = b""
    while len(command) < length:
        b = c.recv(length - len(command))
        if not b:
            return None
        command += b
    return b"+" in flags, b"<" in flags, command


def wait_unsent(c, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        n = struct.unpack("i", fcntl.ioctl(c.fileno(), SIOCOUTQNSD, b"\0" * 4))[0]
        if n == 0:
            return
        time.sleep(0.001)


def finish(c):
    """Shut down the write side and drain what the client still sends: closing
    with unread bytes would reset the connection and could destroy the answer."""
    c.shutdown(socket.SHUT_WR)
    c.settimeout(2)
    while c.recv(65536):
        pass


def serve(args, c):
    try:
        frame = read_frame(c)
        if frame is None:
            # As a server that predates a flag answers it (a channel's '=' too).
            c.sendall(b"nbnet: bad header\n" + nbframe.trailer(125))
            finish(c)
            return
        want_status, with_stdin, command = frame
        stdin = c.fileno() if with_stdin else subprocess.DEVNULL
        proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=stdin, stdout=c.fileno(),
                                stderr=c.fileno(), start_new_session=True)
        log(args, "started %d %r stdin=%s" % (proc.pid, command, with_stdin))
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
                return
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what the command left behind
        except ProcessLookupError:
            pass
        rc = proc.returncode
        status = 128 - rc if rc < 0 else rc
        log(args, "ended %d status %d" % (proc.pid, status))
        if want_status:
            wait_unsent(c)
            c.sendall(nbframe.trailer(status))
        finish(c)
    except OSError:
        pass
    finally:
        c.close()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("--log")
    args = p.parse_args()
    s = socket.create_server(("127.0.0.1", args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(args, c), daemon=True).start()


if __name__ == "__main__":
    main()
