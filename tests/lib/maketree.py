#!/usr/bin/env python3
"""Makes a tree for the transport tests: COUNT files of random sizes (a few
bytes to 64 KiB) in nested folders, with varied modes, symlinks (relative
and dangling), an empty folder, and one large file of BIG bytes."""
import os
import random
import sys


def main() -> int:
    root, count, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(9079)
    os.makedirs(os.path.join(root, "empty"), exist_ok=True)
    for i in range(count):
        folder = os.path.join(root, "d%02d" % (i % 23), "e%d" % (i % 5))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "f%04d" % i)
        with open(path, "wb") as f:
            f.write(rng.randbytes(rng.choice([0, 1, 17, 512, 4096, rng.randrange(65536)])))
        os.chmod(path, rng.choice([0o600, 0o644, 0o640, 0o755, 0o700, 0o444]))
        if i % 50 == 0:
            os.symlink("f%04d" % i, os.path.join(folder, "link%04d" % i))
            os.symlink("../nowhere%d" % i, os.path.join(folder, "dangling%04d" % i))
    with open(os.path.join(root, "big"), "wb") as f:
        left = big
        while left > 0:
            block = rng.randbytes(min(left, 1 << 20))
            f.write(block)
            left -= len(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
