#!/usr/bin/env python3
"""Drives a program through pipes, as an interactive user or rsync would, with
every wait bounded: the steps run in order, then the program's output goes
to stdout and its exit status (128+N for signal N, as a shell says) is ours.

Steps:
  expect=TEXT   wait until the output so far ends with TEXT (Python escapes)
  send=TEXT     write TEXT to the program's stdin
  close         close the program's stdin (its EOF)
  signal=NAME   send the signal (INT, TERM, HUP) to the program
A step that does not happen within --within seconds kills the program, says
what was expected and what came, and exits 99.

Usage: nbinteract.py [--within SEC] [--end SEC] STEP... -- PROGRAM [ARG...]
The program starts with SIGINT at its default even when we were started with
it ignored (a background job of a non-interactive shell).
"""
import argparse
import os
import selectors
import signal
import subprocess
import sys
import time


def unescape(text):
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")


def fail(proc, output, what):
    proc.kill()
    proc.wait()
    sys.stdout.buffer.write(output)
    sys.stderr.write("nbinteract: %s; the output so far: %r\n" % (what, bytes(output)))
    sys.exit(99)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--within", type=float, default=2.0, help="bound on each step (default 2 s)")
    p.add_argument("--end", type=float, default=10.0, help="bound on the program's end (default 10 s)")
    p.add_argument("steps", nargs="*")
    argv = sys.argv[1:]
    if "--" not in argv:
        p.error("no -- PROGRAM given")
    cut = argv.index("--")
    args = p.parse_args(argv[:cut])
    args.program = argv[cut + 1:]
    if not args.program:
        p.error("no PROGRAM given")

    def default_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen(args.program, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            preexec_fn=default_sigint)
    os.set_blocking(proc.stdout.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    output = bytearray()
    eof = False

    def pump(deadline, done):
        nonlocal eof
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if eof:
                time.sleep(min(left, 0.01))
                continue
            for _ in sel.select(left):
                chunk = proc.stdout.read(65536)
                if chunk == b"":
                    eof = True
                    sel.unregister(proc.stdout)
                elif chunk:
                    output.extend(chunk)
        return True

    for step in args.steps:
        name, _, value = step.partition("=")
        if name == "expect":
            want = unescape(value)
            if not pump(time.monotonic() + args.within, lambda: output.endswith(want)):
                fail(proc, output, "no %r within %g s" % (want, args.within))
        elif name == "send":
            proc.stdin.write(unescape(value))
            proc.stdin.flush()
        elif name == "close":
            proc.stdin.close()
        elif name == "signal":
            proc.send_signal(getattr(signal, "SIG" + value))
        else:
            p.error("unknown step %r" % step)
    if not pump(time.monotonic() + args.end, lambda: eof):
        fail(proc, output, "the program did not end within %g s" % args.end)
    try:
        rc = proc.wait(timeout=args.end)
    except subprocess.TimeoutExpired:
        fail(proc, output, "the program closed its output but did not exit")
    sys.stdout.buffer.write(output)
    sys.exit(128 - rc if rc < 0 else rc)


if __name__ == "__main__":
    main()
