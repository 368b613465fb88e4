#!/usr/bin/env python3
"""Leaves N detached daemons behind, as a careless command would: each a
fork that leaves the session (setsid), closes its descriptors and sleeps
for an hour; the marker argument makes them easy to find (pgrep -f).
Forks without exec, so that 2,000 of them take a second, not a minute.
With a third argument "socket", each daemon then opens a socket of its own
(bound to no port) and holds it while it sleeps, as a daemon that serves
something would.
It ends once every daemon has let go of its inherited descriptors (the
connection among them), so that none still holds it when the command ends."""
import os
import socket
import sys
import time


def main() -> int:
    count, _marker = int(sys.argv[1]), sys.argv[2]
    with_socket = sys.argv[3:] == ["socket"]
    r, w = os.pipe()
    for _ in range(count):
        if os.fork() == 0:
            os.setsid()
            os.closerange(0, w)
            os.closerange(w + 1, 1024)
            if with_socket:
                held = socket.socket()  # noqa: F841 (held until the daemon exits)
            os.write(w, b"x")
            os.close(w)
            time.sleep(3600)
            os._exit(0)
    os.close(w)
    told = 0
    while told < count:
        chunk = os.read(r, count - told)
        if not chunk:
            break
        told += len(chunk)
    print("made %d" % told, flush=True)
    return 0 if told == count else 1


if __name__ == "__main__":
    sys.exit(main())
