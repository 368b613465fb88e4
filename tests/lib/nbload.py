#!/usr/bin/env python3
"""Many NBNET/1 clients at once, for the nbnetd tests and the benchmark.

Load: --requests M requests of --command, --concurrency N at a time; prints
"requests=M ok=K failed=F seconds=T rate=R/s mb_per_s=B" and exits 0 when
every request got --expect-status (with --plus) or EOF (without it).

Hold: --hold N opens N connections and sends nothing; once all are open it
creates --ready-file, waits for --go-file, then sends "echo conn-I" on each
and checks that each gets its own answer with status 0."""
import argparse
import asyncio
import os
import sys
import time

import nbframe


async def connect(args):
    if args.unix:
        return await asyncio.open_unix_connection(args.unix, limit=1 << 20)
    return await asyncio.open_connection(args.host, args.port, limit=1 << 20)


async def read_all(reader, keep: int):
    """Reads to EOF; returns (byte count, the last `keep` bytes)."""
    total, tail = 0, b""
    while True:
        chunk = await reader.read(1 << 20)
        if not chunk:
            return total, tail
        total += len(chunk)
        tail = (tail + chunk)[-keep:]


async def one_request(args, data: bytes) -> tuple[bool, int]:
    reader, writer = await connect(args)
    try:
        writer.write(data)
        await writer.drain()
        total, tail = await read_all(reader, 4096)
    finally:
        writer.close()
    if not args.plus:
        return True, total
    return nbframe.split(tail)[1] == args.expect_status, total


async def load(args) -> int:
    data = nbframe.build(args.command, trailer=args.plus)
    left = args.requests
    ok = failed = nbytes = 0

    async def worker():
        nonlocal left, ok, failed, nbytes
        while left > 0:
            left -= 1
            try:
                good, n = await asyncio.wait_for(one_request(args, data), args.timeout)
            except (OSError, asyncio.TimeoutError) as e:
                print(f"nbload: {type(e).__name__}: {e}", file=sys.stderr)
                good, n = False, 0
            nbytes += n
            if good:
                ok += 1
            else:
                failed += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(min(args.concurrency, args.requests))))
    t = time.monotonic() - t0
    print(f"requests={args.requests} ok={ok} failed={failed} seconds={t:.3f} "
          f"rate={args.requests / t:.1f}/s mb_per_s={nbytes / t / 1e6:.1f}")
    return 0 if failed == 0 else 1


async def hold(args) -> int:
    conns = []
    for i in range(args.hold):
        reader, writer = await connect(args)
        if args.busy:
            # Its request at once, before the next connects (an idle connection
            # may be evicted): a command that waits for the go file.
            cmd = b"while [ ! -e %s ]; do sleep 0.5; done; echo conn-%d" % (args.go_file.encode(), i)
            writer.write(nbframe.build(cmd, trailer=True))
            await writer.drain()
        conns.append((reader, writer))
    open(args.ready_file, "w").close()
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.go_file):
        if time.monotonic() > deadline:
            print("nbload: no go file in time", file=sys.stderr)
            return 1
        await asyncio.sleep(0.05)

    async def serve(i, reader, writer):
        if not args.busy:
            writer.write(nbframe.build(b"echo conn-%d" % i, trailer=True))
            await writer.drain()
        total, tail = await read_all(reader, 4096)
        writer.close()
        want = b"conn-%d\n" % i + nbframe.trailer(0)
        if tail != want:
            print(f"nbload: connection {i} got {tail!r}, not {want!r}", file=sys.stderr)
        return tail == want

    results = await asyncio.wait_for(
        asyncio.gather(*(serve(i, r, w) for i, (r, w) in enumerate(conns))),
        max(1.0, deadline - time.monotonic()))
    good = sum(results)
    print(f"held={args.hold} served={good}")
    return 0 if good == args.hold else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--unix")
    p.add_argument("-c", "--command", default="true")
    p.add_argument("--plus", action="store_true")
    p.add_argument("--expect-status", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--requests", type=int, default=1)
    p.add_argument("--hold", type=int)
    p.add_argument("--ready-file")
    p.add_argument("--go-file")
    p.add_argument("--busy", action="store_true",
                   help="with --hold: send each request at once, a command that waits for --go-file")
    p.add_argument("--timeout", type=float, default=60.0, help="per request, or for the whole hold")
    args = p.parse_args()
    return asyncio.run(hold(args) if args.hold else load(args))


if __name__ == "__main__":
    sys.exit(main())
