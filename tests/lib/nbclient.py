#!/usr/bin/env python3
"""A raw NBNET/1 client for byte-exact tests: it sends exactly the bytes it is
told to, in the pieces it is told to, and writes what comes back to stdout."""
import argparse
import socket
import struct
import sys
import time

import nbframe


def connect(args) -> socket.socket:
    if args.unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args.unix)
        return s
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if args.bind:
        s.bind((args.bind, 0))
    if args.rcvbuf:
        # Before connect, so that the window the server sees is small from the start.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    s.settimeout(args.timeout)
    s.connect((args.host, args.port))
    s.settimeout(None)
    return s


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int, nargs="?", default=9079)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--unix", help="connect to this Unix socket instead")
    p.add_argument("--bind", help="local address to connect from")
    p.add_argument("-c", "--command", help="send a well-formed frame for this command")
    p.add_argument("--plus", action="store_true", help="ask for the status trailer")
    p.add_argument("--raw", help="send these bytes as they are (Python escapes allowed)")
    p.add_argument("--one-byte", type=float, metavar="SEC",
                   help="send one byte per segment, SEC apart")
    p.add_argument("--extra", type=int, default=0, help="send this many bytes after the frame")
    p.add_argument("--half-close", action="store_true", help="shutdown(SHUT_WR) after sending")
    p.add_argument("--reset-after", type=float, metavar="SEC",
                   help="close with SO_LINGER 0 (a reset) SEC seconds after sending")
    p.add_argument("--read-limit", type=int, help="stop reading after this many bytes, then reset")
    p.add_argument("--read-delay", type=float, default=0.0, metavar="SEC",
                   help="wait SEC seconds after sending before reading anything")
    p.add_argument("--rcvbuf", type=int, metavar="BYTES",
                   help="a small receive buffer (SO_RCVBUF): the server's output waits unsent")
    p.add_argument("--timeout", type=float, default=30.0, help="give up after SEC seconds")
    p.add_argument("--elapsed-ms", metavar="FILE",
                   help="write the milliseconds from connect to end of output to FILE")
    args = p.parse_args()

    if args.raw is not None:
        data = args.raw.encode("latin-1").decode("unicode_escape").encode("latin-1")
    elif args.command is not None:
        data = nbframe.build(args.command, trailer=args.plus)
    else:
        data = b""
    # Timed here, not around the process: python's start-up is no server's delay.
    started = time.monotonic()
    s = connect(args)
    s.setsockopt(socket.IPPROTO_TCP if not args.unix else socket.SOL_SOCKET,
                 socket.TCP_NODELAY if not args.unix else socket.SO_KEEPALIVE, 1)
    if args.one_byte is not None:
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(args.one_byte)
    else:
        s.sendall(data)
    if args.extra:
        s.sendall(b"x" * args.extra)
    if args.half_close:
        s.shutdown(socket.SHUT_WR)
    if args.reset_after is not None:
        time.sleep(args.reset_after)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return 0
    time.sleep(args.read_delay)
    out = sys.stdout.buffer
    got = 0
    s.settimeout(args.timeout)
    while True:
        try:
            chunk = s.recv(1 << 20)
        except ConnectionResetError:
            print("nbclient: connection reset", file=sys.stderr)
            return 3
        except socket.timeout:
            print("nbclient: timed out", file=sys.stderr)
            return 4
        if not chunk:
            break
        out.write(chunk)
        got += len(chunk)
        if args.read_limit is not None and got >= args.read_limit:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            break
    out.flush()
    s.close()
    if args.elapsed_ms:
        with open(args.elapsed_ms, "w") as f:
            f.write("%d\n" % ((time.monotonic() - started) * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
