#!/usr/bin/env python3
"""Writes compressed copies of a build's files (`<file>.gz`, `<file>.br`) for the server to
send as they are.

Run by Trunk after each build (Trunk.toml's post_build hook, after tools/sw.py) on its
staging directory (TRUNK_STAGING_DIR), or by hand: python3 tools/precompress.py <dist-dir>.

Why: the wasm is most of what a first visit downloads. Compressing once, at build time, can
afford the slowest, smallest encoders: gzip streams made by zopfli are about 5% smaller
than gzip's own best level and any gzip decoder reads them; brotli at quality 11 is smaller
still, for browsers that accept it (over HTTPS). natter-server sends these files when the
request's Accept-Encoding allows (tower-http's ServeDir, `precompressed_*`) and compresses
everything else on the fly.

Encoders: Debian's `zopfli` and `brotli` commands when they are on PATH (`./x` installs
them); otherwise gzip comes from Python's zlib at level 9 and no brotli file is written, so
a build never fails for want of them. A copy is kept only when it is smaller than the file.
"""

import gzip
import os
import shutil
import subprocess
import sys

# Text and code, worth compressing; images (PNG) already are.
SUFFIXES = (".html", ".js", ".wasm", ".css", ".svg", ".webmanifest")


def gzipped(path):
    if shutil.which("zopfli"):
        return subprocess.run(["zopfli", "-c", path], check=True, capture_output=True).stdout
    with open(path, "rb") as f:
        return gzip.compress(f.read(), compresslevel=9, mtime=0)


def brotli(path):
    if not shutil.which("brotli"):
        return None
    return subprocess.run(["brotli", "-c", "-q", "11", path], check=True, capture_output=True).stdout


def write_smaller(path, suffix, packed):
    if packed is not None and len(packed) < os.path.getsize(path):
        with open(path + suffix, "wb") as f:
            f.write(packed)


def main(dist):
    for root, _, files in os.walk(dist):
        for name in files:
            if not name.endswith(SUFFIXES):
                continue
            path = os.path.join(root, name)
            write_smaller(path, ".gz", gzipped(path))
            write_smaller(path, ".br", brotli(path))


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TRUNK_STAGING_DIR")
    if not target:
        sys.exit("usage: tools/precompress.py <dist-dir> (or run from Trunk with TRUNK_STAGING_DIR set)")
    main(target)
