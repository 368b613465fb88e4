#!/usr/bin/env python3
"""The classic nbNet exercise's server, as a peer for bench/run: one selectors
(epoll) loop reads each connection's 10-digit length and command, then runs
`subprocess.Popen(cmd, shell=True, stdout=conn, stderr=conn)` and closes its
own copy of the connection. With --pipe, the variant that reads the command's
output from a pipe and copies it into the connection.

    python3 bench/peers/nbnet_py.py PORT [--pipe]
"""
import os
import selectors
import socket
import subprocess
import sys

HEADER = 10
MAX_COMMAND = 65536


def main() -> None:
    port = int(sys.argv[1])
    pipe = "--pipe" in sys.argv[2:]
    sel = selectors.DefaultSelector()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1024)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ, ("accept", None))
    running = []

    def start(conn: socket.socket, command: bytes) -> None:
        conn.setblocking(True)
        if not pipe:
            proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL,
                                    stdout=conn, stderr=conn)
            conn.close()
            running.append(proc)
            return
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        sel.register(proc.stdout, selectors.EVENT_READ, ("copy", (conn, proc)))

    while True:
        for key, _ in sel.select(timeout=0.5):
            kind, state = key.data
            if kind == "accept":
                try:
                    conn, _ = srv.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, ("read", bytearray()))
            elif kind == "read":
                conn = key.fileobj
                try:
                    data = conn.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                state += data
                length = int(state[:HEADER]) if len(state) >= HEADER and state[:HEADER].isdigit() else -1
                if not data or (len(state) >= HEADER and not 0 < length <= MAX_COMMAND):
                    sel.unregister(conn)
                    conn.close()
                elif len(state) >= HEADER + length:
                    sel.unregister(conn)
                    start(conn, bytes(state[HEADER:HEADER + length]))
            else:
                conn, proc = state
                chunk = os.read(key.fileobj.fileno(), 1 << 20)
                if chunk:
                    try:
                        conn.sendall(chunk)
                        continue
                    except OSError:
                        pass
                sel.unregister(key.fileobj)
                proc.stdout.close()
                conn.close()
                running.append(proc)
        running[:] = [p for p in running if p.poll() is None]


if __name__ == "__main__":
    main()
