"""The draft-mode fast path stays close to the exact hash and is opt-in."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bastion.media import FAST_DECODE_SIZE, decode_image, hamming_distance, hash_media

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

    assert decoded.pixels.shape[:2] == (FAST_DECODE_SIZE, FAST_DECODE_SIZE)
    assert (decoded.width, decoded.height) == (2048, 2048)


def test_fast_path_hash_is_close_to_exact(large_jpegs: dict[str, bytes]) -> None:
    distances = [
        hamming_distance(hash_media(data, fast=True).pdq, hash_media(data).pdq)
        for data in large_jpegs.values()
    ]

    assert np.mean(distances) <= 16, distances
    assert max(distances) <= 31, distances


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
