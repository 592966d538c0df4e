"""Our decode + PDQ is bit-identical to pdqhash on Pillow's RGB pixels."""

from __future__ import annotations

import numpy as np
import pytest

from bastion.media import decode_image, hash_media, pdq_hash

from ._images import (
    SKIMAGE_PHOTOS,
    encode,
    generated_images,
    reference_pdq,
    skimage_photo,
)

GENERATED = list(generated_images(300))


@pytest.mark.parametrize(
    ("name", "pixels"), GENERATED, ids=[name for name, _ in GENERATED]
)
def test_generated_png_matches_pdqhash_bit_for_bit(
    name: str, pixels: np.ndarray
) -> None:
    data = encode(pixels, "PNG")

    decoded = decode_image(data)
    ours = hash_media(data)

    np.testing.assert_array_equal(decoded.pixels, pixels)
    assert (ours.pdq, ours.pdq_quality) == reference_pdq(data)
    assert (ours.width, ours.height) == (pixels.shape[1], pixels.shape[0])


@pytest.mark.parametrize(
    ("name", "pixels"), GENERATED[::10], ids=[name for name, _ in GENERATED[::10]]
)
def test_generated_jpeg_matches_pdqhash_bit_for_bit(
    name: str, pixels: np.ndarray
) -> None:
    data = encode(pixels, "JPEG", quality=85)

    ours = hash_media(data)

    assert (ours.pdq, ours.pdq_quality) == reference_pdq(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("name", SKIMAGE_PHOTOS)
def test_skimage_photo_matches_pdqhash_bit_for_bit(name: str, fmt: str) -> None:
    pixels = skimage_photo(name)
    if fmt == "JPEG" and pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]  # JPEG has no alpha channel
    data = encode(pixels, fmt)

    ours = hash_media(data)

    assert (ours.pdq, ours.pdq_quality) == reference_pdq(data)


def test_pdq_of_a_strided_view_equals_the_contiguous_copy() -> None:
    # pdqhash itself mis-hashes Fortran-ordered input; pdq_hash must not.
    pixels = skimage_photo("chelsea")
    view = pixels.transpose(1, 0, 2)

    assert pdq_hash(view) == pdq_hash(np.ascontiguousarray(view))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((4, 4, 3), np.uint16),
        np.zeros((0, 4, 3), np.uint8),
    ],
    ids=["2d", "4-channel", "uint16", "empty"],
)
def test_pdq_rejects_arrays_it_would_misread(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        pdq_hash(bad)
