#!/usr/bin/env python3
"""Draws Natter's app icons (the speech bubble of public/icon.svg) as PNG files.

Run from the repository root: python3 tools/icons.py. Writes public/icon-192.png,
public/icon-512.png and public/icon-maskable-512.png (full-bleed background, the bubble
inside the central safe zone that every launcher mask keeps). Standard library only; the
PNGs are committed, so builds never run this.
"""

import struct
import zlib

BLUE = (0x2B, 0x6C, 0xB0)
WHITE = (0xFF, 0xFF, 0xFF)


def rounded_rect(x, y, x0, y0, x1, y1, r):
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def bubble(x, y):
    """The bubble in the SVG's 64-unit box: a rounded body and a tail at the bottom left."""
    if rounded_rect(x, y, 10, 18, 54, 44, 4):
        return True
    # Tail: the triangle (20,44) (30,44) (20,52).
    return 20 <= x <= 30 and 44 <= y <= 52 and (x - 20) + (y - 44) * (10 / 8) <= 10


def draw(size, maskable):
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            # Four samples per pixel for smooth edges.
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in (0.25, 0.75):
                for sx in (0.25, 0.75):
                    u = (px + sx) / size * 64
                    v = (py + sy) / size * 64
                    if maskable:
                        # Full-bleed square; the bubble shrunk into the central 70 %.
                        inside_bg = True
                        bu, bv = 32 + (u - 32) / 0.7, 32 + (v - 32) / 0.7
                    else:
                        inside_bg = rounded_rect(u, v, 0, 0, 64, 64, 14)
                        bu, bv = u, v
                    if not inside_bg:
                        continue
                    colour = WHITE if bubble(bu, bv) else BLUE
                    for i in range(3):
                        acc[i] += colour[i] / 4
                    acc[3] += 255 / 4
            row += bytes(int(round(c)) for c in acc)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # RGBA, 8 bits
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    for name, size, maskable in [
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ]:
        with open(f"public/{name}", "wb") as f:
            f.write(draw(size, maskable))
        print(f"public/{name}")
