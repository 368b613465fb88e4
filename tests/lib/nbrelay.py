#!/usr/bin/env python3
"""A TCP relay between a client and an nbnet server that re-chunks the
response, as a proxy or a tunnel may: what the server sends goes on in pieces
of --piece bytes, each its own segment (TCP_NODELAY), --pause seconds apart, so
that the trailer the server sent whole reaches the client split. What the
client sends goes to the server as it comes, its FIN too.

nbrelay.py LISTEN_PORT SERVER_PORT [--piece N] [--pause SEC]

Serves connections one at a time until killed; prints "listening" once it is."""
import argparse
import selectors
import socket
import sys
import time


def relay(client: socket.socket, server: socket.socket, piece: int, pause: float) -> None:
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, server)
    sel.register(server, selectors.EVENT_READ, client)
    open_ends = 2
    while open_ends:
        for key, _ in sel.select():
            src, dst = key.fileobj, key.data
            try:
                data = src.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                sel.unregister(src)
                open_ends -= 1
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            if src is client:
                dst.sendall(data)
                continue
            for i in range(0, len(data), piece):
                if i:
                    time.sleep(pause)
                dst.sendall(data[i:i + piece])
            time.sleep(pause)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("listen_port", type=int)
    p.add_argument("server_port", type=int)
    p.add_argument("--piece", type=int, default=1, help="bytes per piece of the response")
    p.add_argument("--pause", type=float, default=0.02, help="seconds between pieces")
    args = p.parse_args()
    if args.piece < 1:
        p.error("--piece must be 1 or more")

    listener = socket.create_server(("127.0.0.1", args.listen_port))
    print("listening", flush=True)
    while True:
        client, _ = listener.accept()
        with client, socket.create_connection(("127.0.0.1", args.server_port)) as server:
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            relay(client, server, args.piece, args.pause)


if __name__ == "__main__":
    sys.exit(main())
