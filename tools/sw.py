#!/usr/bin/env python3
"""Writes the service worker of a build: sw.js from public/sw.template.js, with the build's
version and the list of files of the app shell.

Run by Trunk after each build (Trunk.toml's post_build hook) on its staging directory
(TRUNK_STAGING_DIR), or by hand: python3 tools/sw.py <dist-dir>. The version is a hash of
every shell file's name and bytes, so any change to the app makes a new worker.
"""

import hashlib
import json
import os
import sys

# What the shell is: the page, its hashed scripts, wasm, styles, and the install files.
SUFFIXES = (".html", ".js", ".wasm", ".css", ".svg", ".png", ".webmanifest")


def main(dist):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "public", "sw.template.js"), encoding="utf-8") as f:
        template = f.read()
    # Paths relative to dist, with "/" separators (wasm-bindgen may add a snippets/ folder).
    names = sorted(
        os.path.relpath(os.path.join(root, n), dist).replace(os.sep, "/")
        for root, _, files in os.walk(dist)
        for n in files
        if n.endswith(SUFFIXES)
    )
    names = [n for n in names if n not in ("sw.js", "sw.template.js")]
    digest = hashlib.sha256()
    for n in names:
        digest.update(n.encode())
        with open(os.path.join(dist, n), "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    shell = ["/" if n == "index.html" else "/" + n for n in names]
    out = template.replace("__VERSION__", digest.hexdigest()[:16]).replace("__SHELL__", json.dumps(shell))
    with open(os.path.join(dist, "sw.js"), "w", encoding="utf-8") as f:
        f.write(out)
    stale = os.path.join(dist, "sw.template.js")
    if os.path.exists(stale):
        os.remove(stale)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TRUNK_STAGING_DIR")
    if not target:
        sys.exit("usage: tools/sw.py <dist-dir> (or run from Trunk with TRUNK_STAGING_DIR set)")
    main(target)
