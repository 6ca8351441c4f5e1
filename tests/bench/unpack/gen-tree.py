#!/usr/bin/env python3
# A deterministic tree of about MB megabytes in FILES files (sizes spread
# from a few bytes to a few hundred kB, content half text, half noise, so
# gzip does real work), in 200 directories, plus some symlinks.
import os, random, sys

out, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20261123)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
         for _ in range(4000)]
noise = rng.randbytes(1 << 20)
target = mb * 1000 * 1000
weights = [rng.paretovariate(1.3) for _ in range(files)]
scale = target / sum(weights)
for i, w in enumerate(weights):
    d = os.path.join(out, "usr", "share", "d%03d" % (i % 200))
    os.makedirs(d, exist_ok=True)
    size = max(1, int(w * scale))
    if i % 2:
        data = b" ".join(rng.choice(words) for _ in range(size // 5 + 1))[:size]
    else:
        start = rng.randrange(0, len(noise))
        data = (noise[start:] + noise)[:size]
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(data)
    if i % 50 == 0:
        os.symlink("f%05d" % i, os.path.join(d, "l%05d" % i))
