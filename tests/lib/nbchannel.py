#!/usr/bin/env python3
"""A raw client of a request with '&' and its stderr channel (doc/protocol.md):
the two connections opened in the order asked, what came on each written to
files, the channel's bytes stamped with when they came."""
import argparse
import socket
import sys
import threading
import time

import nbframe


def connect(args, bind=None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if bind:
        s.bind((bind, 0))
    s.settimeout(args.timeout)
    s.connect((args.host, args.port))
    return s


def read_all(s: socket.socket, out: bytearray, stamps=None) -> None:
    while True:
        try:
            chunk = s.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        if stamps is not None and not out:
            stamps.append(time.monotonic())
        out += chunk


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("-c", "--command", required=True)
    p.add_argument("--plus", action="store_true", help="ask for the status trailer")
    p.add_argument("--order", choices=["request-first", "channel-first", "request-only",
                                       "channel-only"], default="request-first")
    p.add_argument("--gap", type=float, default=0.2, help="seconds between the two connections")
    p.add_argument("--token", help="the token (default: a new one)")
    p.add_argument("--channel-bind", help="local address the channel connects from")
    p.add_argument("--out", required=True, help="file for the main connection's bytes")
    p.add_argument("--err", required=True, help="file for the channel's bytes")
    p.add_argument("--err-first-ms", help="file for ms from start to the channel's first byte")
    p.add_argument("--out-end-ms", help="file for ms from start to the main connection's EOF")
    p.add_argument("--hold", type=float, default=0.0,
                   help="seconds to keep both connections open after sending")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()

    token = args.token or nbframe.new_token()
    out, err, stamps, ends = bytearray(), bytearray(), [], []
    threads, socks = [], []
    started = time.monotonic()

    def open_request():
        s = connect(args)
        s.sendall(nbframe.build(args.command, trailer=args.plus, token=token))
        socks.append(s)
        t = threading.Thread(target=lambda: (read_all(s, out), ends.append(time.monotonic())))
        t.start()
        threads.append(t)

    def open_channel():
        s = connect(args, args.channel_bind)
        s.sendall(nbframe.channel(token))
        socks.append(s)
        t = threading.Thread(target=read_all, args=(s, err, stamps))
        t.start()
        threads.append(t)

    steps = {"request-first": [open_request, open_channel],
             "channel-first": [open_channel, open_request],
             "request-only": [open_request], "channel-only": [open_channel]}[args.order]
    for i, step in enumerate(steps):
        if i > 0:
            time.sleep(args.gap)
        step()
    time.sleep(args.hold)
    for t in threads:
        t.join(args.timeout)
    for s in socks:
        s.close()
    with open(args.out, "wb") as f:
        f.write(out)
    with open(args.err, "wb") as f:
        f.write(err)
    if args.err_first_ms and stamps:
        with open(args.err_first_ms, "w") as f:
            f.write("%d\n" % ((stamps[0] - started) * 1000))
    if args.out_end_ms and ends:
        with open(args.out_end_ms, "w") as f:
            f.write("%d\n" % ((ends[0] - started) * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
