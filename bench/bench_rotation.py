#!/usr/bin/env python3
"""Rotation-robust matching: plain PDQ vs Bastion's exact 8-variant scheme vs `compute_dihedral`, one run.

Manual, never part of the test run (`make bench` runs it)::

    python bench/bench_rotation.py [--sizes 128 256 512 1024 2048 3000] [--out bench/results/rotation.json]

Corpus: scikit-image's bundled sample photographs (benign), each resized so its longer side is each of
`--sizes` (aspect kept). The bank holds the original's PDQ hash. An upload is a rotated (90/180/270)
or mirrored (left-right, top-bottom, transpose, anti-transpose) copy, re-encoded as JPEG (quality 90).
It matches if any of the eight variants computed from the upload lies within 31 bits of the
original's hash. Schemes, each timed on the decoded pixels of every upload (interleaved):

* plain     -- `pdq_hash`, one hash (the cost baseline; matches only if rotation did not matter);
* buffers   -- `pdq_dihedral` (Bastion's default): the original from pdqhash, the other seven from
               PDQ's downsampling written as linear operators (exact up to float rounding);
* reference -- `pdqhash.compute_dihedral` (flips the original's 64x64 buffer: approximate);
* rehash    -- the upload turned eight ways, each hashed by pdqhash (exact, the ground truth).

Printed: match rate, best distance, each scheme's variants against the rehashed ground truth
(bits), and time against plain PDQ, overall and per size; also decode + hash against decode + plain.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

try:
    from bastion.media import decode_image, pdq_dihedral, pdq_hash
except ModuleNotFoundError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from bastion.media import decode_image, pdq_dihedral, pdq_hash

PHOTOS = ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "horse", "moon", "page", "rocket", "text",
          "clock", "brick", "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "logo", "colorwheel")
TURNS = {
    "rot90": lambda a: np.rot90(a, 1), "rot180": lambda a: np.rot90(a, 2), "rot270": lambda a: np.rot90(a, 3),
    "flip_lr": lambda a: a[:, ::-1], "flip_ud": lambda a: a[::-1], "transpose": lambda a: a.transpose(1, 0, 2),
    "antitranspose": lambda a: np.rot90(a, 2).transpose(1, 0, 2),
}
SCHEMES = ("plain", "buffers", "reference", "rehash")
THRESHOLD = 31


def load(name: str) -> np.ndarray | None:
    try:
        img = np.asarray(getattr(skimage.data, name)())
        img = img.astype(np.float64) if img.dtype == bool else img
    except Exception:  # not bundled (would need a download): skipped
        return None
    if img.dtype != np.uint8:
        img = (255 * (img - img.min()) / max(float(img.max() - img.min()), 1e-9)).astype(np.uint8)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def resized(pixels: np.ndarray, side: int) -> np.ndarray:
    h, w = pixels.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))


def jpeg(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def bits(hex_value: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hex_value), dtype=np.uint8))


def run_schemes(pixels: np.ndarray) -> tuple[dict[str, tuple[str, ...]], dict[str, float]]:
    """Every scheme's hashes of one upload, and its time (s)."""
    out: dict[str, tuple[str, ...]] = {}
    times: dict[str, float] = {}
    calls = {
        "plain": lambda: (pdq_hash(pixels).hex,),
        "buffers": lambda: pdq_dihedral(pixels).hashes,
        "reference": lambda: pdq_dihedral(pixels, method="reference").hashes,
        "rehash": lambda: pdq_dihedral(pixels, method="rehash").hashes,
    }
    for scheme in SCHEMES:
        start = time.perf_counter()
        out[scheme] = calls[scheme]()
        times[scheme] = time.perf_counter() - start
    return out, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024, 2048, 3000])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    best: dict[str, list[int]] = defaultdict(list)       # scheme -> best distance per upload
    sides: dict[str, list[int]] = defaultdict(list)      # scheme -> longer side per upload
    accuracy: dict[str, list[int]] = defaultdict(list)   # scheme -> variant vs rehashed truth, bits
    times: dict[tuple[str, int], float] = defaultdict(float)
    decode_time: dict[int, float] = defaultdict(float)
    uploads: dict[int, int] = defaultdict(int)
    used = []
    for name in PHOTOS:
        photo = load(name)
        if photo is None:
            continue
        used.append(name)
        for side in args.sizes:
            original_pixels = resized(photo, side)
            original = bits(pdq_hash(original_pixels).hex)
            for turn in TURNS.values():
                data = jpeg(turn(original_pixels))
                start = time.perf_counter()
                pixels = decode_image(data).pixels
                decode_time[side] += time.perf_counter() - start
                hashes, spent = run_schemes(pixels)
                uploads[side] += 1
                truth = [bits(h) for h in hashes["rehash"]]
                for scheme in SCHEMES:
                    times[scheme, side] += spent[scheme]
                    found = [bits(h) for h in hashes[scheme]]
                    best[scheme].append(min(int(np.count_nonzero(f != original)) for f in found))
                    sides[scheme].append(side)
                    if scheme != "plain":
                        accuracy[scheme] += [int(np.count_nonzero(f != t)) for f, t in zip(found, truth)]
        print(f"  {name}: done", file=sys.stderr)
    n = len(best["plain"])
    total = {s: sum(times[s, side] for side in args.sizes) for s in SCHEMES}
    decode_total = sum(decode_time.values())
    summary: dict[str, object] = {"photos": used, "sizes": args.sizes, "uploads": n,
                                  "plain_ms": 1000 * total["plain"] / n, "decode_ms": 1000 * decode_total / n}
    print(f"{n} uploads: {len(used)} photos x {len(args.sizes)} sizes x {len(TURNS)} turns, JPEG q90; "
          f"plain PDQ {summary['plain_ms']:.1f} ms, decode {summary['decode_ms']:.1f} ms per upload (mean)")
    print(f"{'scheme':>9} | match <=31 | best mean/max | variants vs rehash: exact, mean, max bits | "
          f"time vs plain | decode+hash vs decode+plain")
    for scheme in SCHEMES:
        d = np.array(best[scheme])
        acc = np.array(accuracy[scheme]) if scheme != "plain" else np.zeros(1)
        entry = {"match_rate": float(np.mean(d <= THRESHOLD)), "best_mean_bits": float(d.mean()),
                 "best_max_bits": int(d.max()), "ms_per_upload": 1000 * total[scheme] / n,
                 "cost_vs_plain": total[scheme] / total["plain"],
                 "with_decode_vs_plain": (decode_total + total[scheme]) / (decode_total + total["plain"]),
                 "per_size_cost_vs_plain": {side: times[scheme, side] / times["plain", side] for side in args.sizes},
                 "per_size_match_rate": {side: float(np.mean(d[np.array(sides[scheme]) == side] <= THRESHOLD))
                                         for side in args.sizes}}
        if scheme != "plain":
            entry.update(variant_exact=float(np.mean(acc == 0)), variant_mean_bits=float(acc.mean()),
                         variant_max_bits=int(acc.max()))
        summary[scheme] = entry
        variant = (f"{100 * entry['variant_exact']:5.1f}%, {entry['variant_mean_bits']:4.2f}, "
                   f"{entry['variant_max_bits']:3d}") if scheme != "plain" else f"{'-':>17}"
        print(f"{scheme:>9} | {100 * entry['match_rate']:8.1f}% | {d.mean():5.1f} / {d.max():3d} | "
              f"{variant:>38} | {entry['cost_vs_plain']:11.2f}x | {entry['with_decode_vs_plain']:.2f}x")
    print("by longer side: time vs plain PDQ, and match rate")
    for side in args.sizes:
        print(f"  {side:5d} px: plain {1000 * times['plain', side] / uploads[side]:7.1f} ms | " + " | ".join(
            f"{s} {times[s, side] / times['plain', side]:5.2f}x {100 * summary[s]['per_size_match_rate'][side]:5.1f}%"
            for s in SCHEMES))
    print(f"ratio buffers/plain: {total['buffers'] / total['plain']:.2f}x; reference/plain: "
          f"{total['reference'] / total['plain']:.2f}x; rehash/plain: {total['rehash'] / total['plain']:.2f}x; "
          f"match rate buffers {100 * summary['buffers']['match_rate']:.1f}% vs reference "
          f"{100 * summary['reference']['match_rate']:.1f}%")
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                        **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
