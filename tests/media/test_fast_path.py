"""The draft-mode fast path stays close to the exact hash and is opt-in."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import pdqhash

from bastion.media import (
    decode_image,
    fast_decode_scale,
    hamming_distance,
    hash_media,
    pdq_dihedral,
)

from ._images import encode, skimage_photo

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "hubble_deep_field")


def _large_jpeg(name: str, side: int = 2048) -> bytes:
    image = Image.fromarray(skimage_photo(name)).convert("RGB")
    return encode(
        image.resize((side, side), Image.Resampling.BICUBIC), "JPEG", quality=90
    )


@pytest.fixture(scope="module")
def large_jpegs() -> dict[str, bytes]:
    return {name: _large_jpeg(name) for name in PHOTOS}


def test_fast_path_decodes_fewer_pixels_but_reports_full_size(
    large_jpegs: dict[str, bytes],
) -> None:
    decoded = decode_image(large_jpegs["coffee"], fast=True)

    assert decoded.pixels.shape[:2] == (512, 512)  # 1/4 scale at 2048 px
    assert (decoded.width, decoded.height) == (2048, 2048)


@pytest.mark.parametrize(
    ("width", "height", "scale"),
    [(896, 5000, 1), (897, 897, 2), (1024, 1024, 2), (2047, 3000, 4), (2048, 2048, 4),
     (3968, 4096, 4), (3969, 4097, 8), (9000, 8000, 8)],
)
def test_the_reduction_keeps_four_samples_per_pdq_filter_window(width: int, height: int, scale: int) -> None:
    assert fast_decode_scale(width, height) == scale


def test_fast_path_hash_is_close_to_exact(large_jpegs: dict[str, bytes]) -> None:
    distances = [
        hamming_distance(hash_media(data, fast=True).pdq, hash_media(data).pdq)
        for data in large_jpegs.values()
    ]

    # the goals on the photo corpus: mean <= 2 bits, p99 <= 8
    assert np.mean(distances) <= 2, distances
    assert max(distances) <= 8, distances


def test_full_size_kernel_is_closer_than_hashing_the_reduced_pixels(large_jpegs: dict[str, bytes]) -> None:
    ours, naive = [], []
    for data in large_jpegs.values():
        exact = hash_media(data).pdq
        reduced = decode_image(data, fast=True).pixels
        bits = pdqhash.compute(np.ascontiguousarray(reduced))[0]
        naive.append(hamming_distance(np.packbits(bits.astype(np.uint8)).tobytes().hex(), exact))
        ours.append(hamming_distance(hash_media(data, fast=True).pdq, exact))

    assert sum(ours) * 4 < sum(naive), (ours, naive)


def test_fast_path_variants_match_the_exact_variants(large_jpegs: dict[str, bytes]) -> None:
    data = large_jpegs["astronaut"]
    fast = hash_media(data, dihedral=True, fast=True).dihedral
    exact = pdq_dihedral(decode_image(data).pixels).hashes

    assert fast is not None
    assert [hamming_distance(f, e) <= 8 for f, e in zip(fast, exact, strict=True)] == [True] * 8


def test_exact_path_is_the_default(large_jpegs: dict[str, bytes]) -> None:
    assert decode_image(large_jpegs["rocket"]).pixels.shape[:2] == (2048, 2048)


def test_fast_path_leaves_small_jpegs_and_other_formats_exact() -> None:
    small = encode(skimage_photo("chelsea"), "JPEG", quality=90)
    large = Image.fromarray(skimage_photo("coffee")).resize((2100, 1400))
    png = encode(large, "PNG", compress_level=1)

    for data in (small, png):
        assert hash_media(data, fast=True) == hash_media(data)


def test_fast_path_keeps_exif_orientation_and_swapped_size() -> None:
    image = Image.fromarray(skimage_photo("rocket")).resize((2400, 1600))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(image, "JPEG", quality=90, exif=exif.tobytes())

    fast, exact = hash_media(data, fast=True), hash_media(data)

    assert (fast.width, fast.height) == (exact.width, exact.height) == (1600, 2400)
    assert hamming_distance(fast.pdq, exact.pdq) <= 31
