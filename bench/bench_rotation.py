#!/usr/bin/env python3
"""Rotation-robust matching: `pdqhash.compute_dihedral` against exact rotation, on benign sample photos.

Manual, never part of the test run::

    python bench/bench_rotation.py [--out bench/results/rotation.json]

The bank holds the original's PDQ hash. An upload is a rotated (90/180/270) or mirrored copy,
re-encoded as JPEG (quality 90). It matches if any of the eight variants computed from the upload
lies within 31 bits of the original's hash. Variants come either from `compute_dihedral` (one DCT,
rotations approximated in the DCT domain) or exactly (the pixels turned back eight ways, each hashed).
Printed: match rate, mean/max best distance, and time per upload for each scheme against plain PDQ.
Images: scikit-image's bundled sample photographs (benign; only the ones shipped with the package).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time
from pathlib import Path

import numpy as np
import pdqhash
import skimage.data
from PIL import Image

SAMPLES = ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "horse", "moon", "page", "rocket", "text",
           "clock", "brick", "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "logo", "colorwheel")
TRANSFORMS = {
    "rot90": lambda a: np.rot90(a, 1), "rot180": lambda a: np.rot90(a, 2), "rot270": lambda a: np.rot90(a, 3),
    "flip_lr": np.fliplr, "flip_ud": np.flipud, "transpose": lambda a: np.swapaxes(a, 0, 1),
    "antitranspose": lambda a: np.rot90(np.swapaxes(a, 0, 1), 2),
}
DIHEDRAL = (lambda a: a, *TRANSFORMS.values())


def load(name: str) -> np.ndarray | None:
    try:
        img = getattr(skimage.data, name)()
    except Exception:  # not bundled (would need a download): skipped
        return None
    img = np.asarray(img, dtype=np.float64) if np.asarray(img).dtype == bool else np.asarray(img)
    if img.dtype != np.uint8:
        img = (255 * (img - img.min()) / max(float(img.max() - img.min()), 1e-9)).astype(np.uint8)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def jpeg(a: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, "JPEG", quality=90)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def dist(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.count_nonzero(a != b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = {"dihedral": [], "exact": []}
    times = {"plain": 0.0, "dihedral": 0.0, "exact": 0.0}
    used = []
    for name in SAMPLES:
        img = load(name)
        if img is None:
            continue
        used.append(name)
        original = pdqhash.compute(img)[0]
        for t in TRANSFORMS.values():
            upload = jpeg(t(img))
            start = time.perf_counter()
            pdqhash.compute(upload)
            times["plain"] += time.perf_counter() - start
            start = time.perf_counter()
            variants = pdqhash.compute_dihedral(upload)[0]
            times["dihedral"] += time.perf_counter() - start
            start = time.perf_counter()
            exact = [pdqhash.compute(np.ascontiguousarray(f(upload)))[0] for f in DIHEDRAL]
            times["exact"] += time.perf_counter() - start
            results["dihedral"].append(min(dist(v, original) for v in variants))
            results["exact"].append(min(dist(v, original) for v in exact))
    n = len(results["exact"])
    summary = {"images": used, "uploads": n, "plain_ms": 1000 * times["plain"] / n}
    for scheme in ("dihedral", "exact"):
        d = np.array(results[scheme])
        summary[scheme] = {"match_rate": float(np.mean(d <= 31)), "mean_bits": float(d.mean()),
                           "max_bits": int(d.max()), "ms_per_upload": 1000 * times[scheme] / n,
                           "cost_vs_plain": times[scheme] / times["plain"]}
        print(f"{scheme:>9}: {100 * summary[scheme]['match_rate']:5.1f}% of {n} rotated/mirrored uploads within 31 bits; "
              f"best distance mean {d.mean():.1f}, max {d.max()}; "
              f"{summary[scheme]['cost_vs_plain']:.2f}x the time of a plain PDQ")
    print(f"ratio exact/dihedral time: {times['exact'] / times['dihedral']:.2f}x; "
          f"matches dihedral/exact: {summary['dihedral']['match_rate'] / max(summary['exact']['match_rate'], 1e-9):.3f}")
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                        **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
