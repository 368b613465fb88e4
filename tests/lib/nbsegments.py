#!/usr/bin/env python3
"""Runs one '+' request over IPv4 loopback while it watches the server's TCP
segments on lo (AF_PACKET, root only), and prints the payload size of each
segment the server sent, one per line, then "last-is-trailer yes|no": whether
the last segment with payload is the 18-byte trailer alone."""
import argparse
import socket
import struct
import sys
import threading
import time

import nbframe

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SOL_PACKET = 263
PACKET_STATISTICS = 6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("-c", "--command", required=True)
    p.add_argument("--read-delay", type=float, default=0.0,
                   help="seconds before the client starts reading (the output piles up)")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()

    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # Room for every segment of the run: a dropped one would hide the last.
    sniff.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 256 << 20)
    sniff.bind(("lo", 0))
    sniff.settimeout(0.05)
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    local_port = s.getsockname()[1]
    payloads = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            try:
                pkt, addr = sniff.recvfrom(1 << 17)
            except socket.timeout:
                continue
            # Each loopback packet is seen going out and coming in: count it once.
            if addr[2] != PACKET_OUTGOING or len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 6:
                continue
            tcp = ip[ihl:]
            sport, dport = struct.unpack("!HH", tcp[:4])
            if sport != args.port or dport != local_port:
                continue
            off = (tcp[12] >> 4) * 4
            data = ip[ihl + off:total]
            if data:
                payloads.append(bytes(data))

    t = threading.Thread(target=watch)
    t.start()
    s.sendall(nbframe.build(args.command, trailer=True))
    time.sleep(args.read_delay)
    got = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    s.close()
    time.sleep(0.2)
    done.set()
    t.join()
    _, drops = struct.unpack("II", sniff.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    if drops:
        print("nbsegments: %d packets dropped by the capture: no verdict" % drops, file=sys.stderr)
        return 2
    for d in payloads:
        print(len(d))
    last = payloads[-1] if payloads else b""
    print("last-is-trailer", "yes" if nbframe.status_of(last) is not None else "no")
    if nbframe.split(got)[1] is None:
        print("nbsegments: the response does not end with a trailer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
