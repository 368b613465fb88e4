#!/usr/bin/env python3
"""Misbehaving and measuring NBNET/1 clients for tests/fault.bats and tests/soak.

fetch PORT -c CMD [--plus] [--pid-file F]
    One request; prints "bytes=N sha256=H status=S ms=T": the byte count and
    checksum of the output (the trailer held back with --plus), the trailer's
    status (or none), and the time from connect to EOF measured in here, so
    that python's start-up does not count.
drip PORT --clients N --interval SEC -c CMD [--ready-file F]
    N connections from this one process, each sending the frame of
    "CMD N-I" one byte per SEC, all in step; prints "dripped=N answered=K",
    K being the connections whose answer was "CMD's output I" and status 0.
misbehave PORT --kind KIND[,KIND...] (--count N | --seconds SEC)
    Misbehaving clients, one at a time, of each kind in turn: reset (RST in
    the middle of output), slow (ten frames dripped past the request timeout,
    which the server must cut), badheader, stopread (asks for 20 MB, reads
    nothing, then resets), daemon (a command that daemonizes); prints
    "misbehaved=N errors=E", errors being the server's unexpected answers."""
import argparse
import hashlib
import os
import selectors
import socket
import struct
import sys
import time

import nbframe


def connect(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s: socket.socket) -> None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def fetch(args) -> int:
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    t0 = time.monotonic()
    s = connect(args.host, args.port, args.timeout)
    s.sendall(nbframe.build(args.command, trailer=args.plus))
    h = hashlib.sha256()
    held = b""
    total = 0
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        if args.plus:
            # The last 18 bytes may be the trailer: hash only what precedes them.
            held += chunk
            if len(held) > 18:
                h.update(held[:-18])
                total += len(held) - 18
                held = held[-18:]
        else:
            h.update(chunk)
            total += len(chunk)
    ms = (time.monotonic() - t0) * 1000
    s.close()
    status = "none"
    if args.plus:
        code = nbframe.status_of(held)
        if code is not None:
            status = str(code)
        else:
            h.update(held)
            total += len(held)
    print(f"bytes={total} sha256={h.hexdigest()} status={status} ms={ms:.0f}")
    return 0


def drip(args) -> int:
    conns = []
    for i in range(args.clients):
        s = connect(args.host, args.port, args.timeout)
        command = b"%s %d" % (args.command.encode(), i)
        conns.append([s, nbframe.build(command, trailer=True), 0, b""])
    if args.ready_file:
        open(args.ready_file, "w").close()
    deadline = time.monotonic() + args.timeout
    # All in step: byte k of every frame, then SEC of rest.
    length = max(len(c[1]) for c in conns)
    for k in range(length):
        for c in conns:
            if k < len(c[1]):
                try:
                    c[0].send(c[1][k:k + 1])
                except OSError as e:
                    print(f"nbfault: drip send: {e}", file=sys.stderr)
        time.sleep(args.interval)
    sel = selectors.DefaultSelector()
    for c in conns:
        c[0].setblocking(False)
        sel.register(c[0], selectors.EVENT_READ, c)
    left = len(conns)
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                chunk = c[0].recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                c[3] += chunk
                continue
            sel.unregister(c[0])
            c[0].close()
            left -= 1
    answered = 0
    for i, c in enumerate(conns):
        want = b"%s %d\n" % (args.expect.encode(), i) + nbframe.trailer(0)
        if c[3] == want:
            answered += 1
        elif answered + 5 > i:
            print(f"nbfault: drip {i} got {c[3][-80:]!r}, not {want!r}", file=sys.stderr)
    print(f"dripped={len(conns)} answered={answered}")
    return 0 if answered == len(conns) else 1


def read_to_eof(s: socket.socket, limit: float) -> bytes:
    s.settimeout(limit)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return out
        out += chunk


def misbehave_one(args, kind: str, i: int) -> bool:
    """One misbehaving client; True when the server behaved as it should."""
    s = connect(args.host, args.port)
    try:
        if kind == "reset":
            s.sendall(nbframe.build(b"yes nbnet-soak-reset | head -c 100000000"))
            s.recv(65536)
            reset(s)
            return True
        if kind == "slow":
            # Ten frames dripped one byte per 100 ms, too long to arrive within
            # the server's request timeout: each must be cut, and nothing run.
            socks = [s] + [connect(args.host, args.port) for _ in range(9)]
            data = nbframe.build(b"echo never " + b"x" * 100, trailer=True)
            cut = set()
            deadline = time.monotonic() + args.slow_limit
            k = 0
            while len(cut) < len(socks) and time.monotonic() < deadline and k < len(data):
                for j, t in enumerate(socks):
                    if j in cut:
                        continue
                    try:
                        t.send(data[k:k + 1])
                        t.setblocking(False)
                        if t.recv(4096) == b"":
                            cut.add(j)
                    except BlockingIOError:
                        pass
                    except OSError:
                        cut.add(j)
                    finally:
                        t.setblocking(True)
                k += 1
                time.sleep(0.1)
            for t in socks[1:]:
                t.close()
            return len(cut) == len(socks)
        if kind == "badheader":
            s.sendall(b"+00000000x1echo bad")
            out = read_to_eof(s, 10)
            return out.startswith(b"nbnet: ") and out.endswith(nbframe.trailer(125))
        if kind == "stopread":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(nbframe.build(b"head -c 20000000 /dev/zero"))
            time.sleep(0.3)
            reset(s)
            return True
        if kind == "daemon":
            command = b"setsid sh -c 'sleep 100.%s &'; echo bye" % args.marker.encode()
            s.sendall(nbframe.build(command, trailer=True))
            out = read_to_eof(s, 10)
            return out == b"bye\n" + nbframe.trailer(0)
        raise ValueError(kind)
    except OSError as e:
        print(f"nbfault: {kind} {i}: {e}", file=sys.stderr)
        return False
    finally:
        s.close()


def misbehave(args) -> int:
    """--count clients, or with --seconds as many as fit, of each kind in turn."""
    kinds = args.kind.split(",")
    deadline = time.monotonic() + args.seconds if args.seconds else None
    n = errors = 0
    while (n < args.count) if deadline is None else (time.monotonic() < deadline):
        if not misbehave_one(args, kinds[n % len(kinds)], n):
            errors += 1
        n += 1
    print(f"misbehaved={n} errors={errors}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["fetch", "drip", "misbehave"])
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("-c", "--command", default="echo")
    p.add_argument("--expect", help="drip: what each answer starts with (default: the command)")
    p.add_argument("--plus", action="store_true")
    p.add_argument("--pid-file")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--ready-file")
    p.add_argument("--kind", default="reset")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seconds", type=float, help="misbehave: go on for SEC instead of --count")
    p.add_argument("--slow-limit", type=float, default=5.0,
                   help="misbehave slow: how long the server may take to cut a dripping frame")
    p.add_argument("--marker", default="0", help="misbehave daemon: sleep 100.MARKER")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    if args.expect is None:
        args.expect = args.command
    if args.mode == "fetch":
        return fetch(args)
    if args.mode == "drip":
        return drip(args)
    return misbehave(args)


if __name__ == "__main__":
    sys.exit(main())
