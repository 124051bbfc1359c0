"""Regenerates the pHash edge-case fixtures and their expected hashes.

Run with Python 3.11 and: pip install pillow==13.0.0 imagehash==4.3.2 scipy==1.17.1 numpy==2.4.6
The hashes in expected.tsv are imagehash's, not ours.
"""
import numpy as np
import imagehash
from PIL import Image

rng = np.random.default_rng(2024)
cases = {}


def smooth(w, h, fx, fy, mode="L"):
    yy, xx = np.mgrid[0:h, 0:w]
    a = (127 + 100 * np.sin(xx / fx) * np.cos(yy / fy)).astype(np.uint8)
    im = Image.fromarray(a)
    return im.convert(mode) if mode != "L" else im


cases["flat-50x70"] = Image.new("L", (50, 70), 128)
cases["black-40x40"] = Image.new("RGB", (40, 40), (0, 0, 0))
cases["one-pixel"] = Image.new("RGB", (1, 1), (10, 200, 30))
cases["h-ramp-100x60"] = Image.fromarray(np.tile(np.arange(100, dtype=np.uint8) * 2, (60, 1)))
cases["v-ramp-33x80"] = Image.fromarray(np.tile((np.arange(80, dtype=np.uint8) * 3)[:, None], (1, 33)))
x = np.tile(np.arange(64), (64, 1))
cases["mirror-64x64"] = Image.fromarray((np.minimum(x, 63 - x) * 7).astype(np.uint8))
cases["checker-64x64"] = Image.fromarray(((x // 8 + x.T // 8) % 2 * 255).astype(np.uint8))
# Height shrinks by more than twice as many pixels as the width: Pillow 13 resizes vertically first.
cases["tall-112x194"] = smooth(112, 194, 7.0, 11.0)
cases["tall-rgb-90x300"] = Image.fromarray(
    np.dstack([np.asarray(smooth(90, 300, 5.0 + 3 * c, 9.0 + 2 * c)) for c in range(3)])
)
cases["thin-7x65"] = smooth(7, 65, 2.0, 6.0)
cases["wide-300x20"] = smooth(300, 20, 13.0, 3.0)
cases["odd-33x31"] = smooth(33, 31, 4.0, 5.0)

with open("expected.tsv", "w") as f:
    f.write("file\tphash\n")
    for name, im in cases.items():
        im.save(name + ".png", optimize=True)
        f.write(f"{name}.png\t{imagehash.phash(Image.open(name + '.png'))}\n")
