"""Runs inside the container: starts `sleep 1000` through HOST:9079, waits
until it runs, resets the connection (SO_LINGER 0: close sends RST) and
measures how long the sleep and every unit matching UNITS take to be gone
(UNITS "-": no unit per connection, as under nbnetd). Exits 1 if that takes
more than LIMIT seconds."""
import os
import socket
import struct
import subprocess
import sys
import time

limit = float(sys.argv[1])
units = sys.argv[2]  # e.g. 'nbnet@*', or '-'
CMD = b"sleep 1000"


def sleeping():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if f.read() == b"sleep\x001000\x00":
                    return True
        except OSError:
            pass  # exited meanwhile
    return False


def unit_list():
    if units == "-":
        return []
    out = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", units],
                         capture_output=True, text=True, timeout=10).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def wait(cond, seconds):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > seconds:
            return False
        time.sleep(0.02)
    return True


s = socket.create_connection(("127.0.0.1", 9079), timeout=5)
s.sendall(b"%010d" % len(CMD) + CMD)
if not wait(lambda: sleeping() and (units == "-" or unit_list()), 10):
    sys.exit("sleep 1000 did not start within 10 s (units: %s)" % unit_list())
print("running under", unit_list())
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
t0 = time.monotonic()
gone = wait(lambda: not sleeping() and not unit_list(), limit)
took = time.monotonic() - t0
if not gone:
    sys.exit("after a reset, still there %.2f s later: sleep running=%s, units=%s"
             % (took, sleeping(), unit_list()))
print("sleep and units gone %.3f s after the reset" % took)
