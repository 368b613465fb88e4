#!/usr/bin/env python3
"""Leaves N detached daemons behind, as a careless command would: each a
fork that leaves the session (setsid), closes its descriptors and sleeps
for an hour; the marker argument makes them easy to find (pgrep -f).
Forks without exec, so that 2,000 of them take a second, not a minute."""
import os
import sys
import time


def main() -> int:
    count, _marker = int(sys.argv[1]), sys.argv[2]
    for _ in range(count):
        if os.fork() == 0:
            os.setsid()
            os.closerange(0, 1024)
            time.sleep(3600)
            os._exit(0)
    print("made %d" % count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
