#!/usr/bin/env python3
"""nbnetd beside nbnet-handler (under systemd-socket-activate --accept), in
one run on loopback: requests per second of `true` at concurrency 1 and 8,
and MB/s of `head -c 1G /dev/zero` on one connection. Not a test: numbers.

    python3 bench/modes.py [--seconds 5] [--bin bin]
"""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

GIB = 1 << 30


def frame(command: bytes) -> bytes:
    return b"+%010d" % len(command) + command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, data: bytes, buf: bytearray) -> tuple[int, bytes]:
    """One request; returns the byte count and the last 18 bytes."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(data)
        view, total, tail = memoryview(buf), 0, b""
        while True:
            n = s.recv_into(view)
            if n == 0:
                return total, tail
            total += n
            tail = (tail + bytes(view[max(0, n - 18):n]))[-18:]


def rate(port: int, concurrency: int, seconds: float) -> float:
    data, count, failed = frame(b"true"), [0] * concurrency, []
    deadline = time.monotonic() + seconds

    def worker(i):
        buf = bytearray(4096)
        while time.monotonic() < deadline:
            _, tail = request(port, data, buf)
            if tail != b"\x1eNBNET-STATUS 000\n":
                failed.append(tail)
            count[i] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        sys.exit(f"bench: {len(failed)} requests failed, e.g. {failed[0]!r}")
    return sum(count) / (time.monotonic() - t0)


def throughput(port: int) -> float:
    buf = bytearray(1 << 20)
    t0 = time.monotonic()
    total, tail = request(port, frame(b"head -c 1G /dev/zero"), buf)
    t = time.monotonic() - t0
    if total != GIB + 18 or tail != b"\x1eNBNET-STATUS 000\n":
        sys.exit(f"bench: got {total} bytes ending {tail!r}")
    return GIB / t / 1e6


def serve(argv: list[str], port: int) -> subprocess.Popen:
    p = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p
        except ConnectionRefusedError:
            time.sleep(0.05)
    p.kill()
    sys.exit(f"bench: {argv[0]} did not listen on {port}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="per request-rate figure")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "bin"))
    args = ap.parse_args()
    servers = {
        "nbnet-handler (socket-activate --accept)":
            lambda port: ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "--accept",
                          os.path.join(args.bin, "nbnet-handler")],
        "nbnetd (--listen)":
            lambda port: [os.path.join(args.bin, "nbnetd"), "--listen", f"127.0.0.1:{port}"],
    }
    print(f"{'server':42} {'true c=1':>12} {'true c=8':>12} {'1 GiB':>10}")
    for name, argv in servers.items():
        port = free_port()
        p = serve(argv(port), port)
        try:
            r1 = rate(port, 1, args.seconds)
            r8 = rate(port, 8, args.seconds)
            mb = throughput(port)
        finally:
            p.terminate()
            p.wait()
        print(f"{name:42} {r1:10.0f}/s {r8:10.0f}/s {mb:7.0f} MB/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
