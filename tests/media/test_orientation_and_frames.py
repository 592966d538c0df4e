"""EXIF orientation is applied; multi-frame files hash their first frame."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from bastion.media import decode_image, hash_media

from ._images import encode, reference_pdq, reference_pdq_pixels, skimage_photo

ORIENTATION = 0x0112

# What each EXIF orientation asks a viewer to do, written independently of Pillow.
UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def _jpeg_with_orientation(pixels: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(pixels, "JPEG", quality=90, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", list(UPRIGHT))
def test_exif_orientation_is_applied_before_hashing(orientation: int) -> None:
    data = _jpeg_with_orientation(skimage_photo("chelsea"), orientation)
    with Image.open(io.BytesIO(data)) as stored:
        stored_pixels = np.asarray(stored.convert("RGB"))
    upright = np.ascontiguousarray(UPRIGHT[orientation](stored_pixels))

    hashes = hash_media(data)

    assert (hashes.width, hashes.height) == (upright.shape[1], upright.shape[0])
    assert (hashes.pdq, hashes.pdq_quality) == reference_pdq_pixels(upright)
    np.testing.assert_array_equal(decode_image(data).pixels, upright)


def test_rotated_tag_changes_the_hash_and_plain_jpeg_is_untouched() -> None:
    pixels = skimage_photo("chelsea")

    assert (
        hash_media(_jpeg_with_orientation(pixels, 6)).pdq
        != hash_media(encode(pixels, "JPEG", quality=90)).pdq
    )


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_damaged_exif_does_not_block_hashing() -> None:
    data = encode(
        skimage_photo("chelsea"),
        "JPEG",
        quality=90,
        exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",
    )

    assert hash_media(data).width == 451


def _frames(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(7)
    return [
        Image.fromarray(rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8))
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("GIF", {"loop": 0}), ("WEBP", {"lossless": True}), ("PNG", {}), ("TIFF", {})],
    ids=["gif", "webp", "apng", "multipage-tiff"],
)
def test_animated_files_hash_the_first_frame_and_count_frames(
    fmt: str, params: dict
) -> None:
    frames = _frames(5)
    data = encode(
        frames[0], fmt, save_all=True, append_images=frames[1:], duration=80, **params
    )

    hashes = hash_media(data)

    assert (hashes.animated, hashes.frame_count) == (True, 5)
    assert (hashes.pdq, hashes.pdq_quality) == reference_pdq(
        data
    )  # Pillow opens on frame 0


def test_first_gif_frame_is_the_one_hashed() -> None:
    frames = _frames(3)
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    first_only = encode(frames[0], "GIF")

    assert hash_media(animated).pdq == hash_media(first_only).pdq


def test_still_image_is_not_animated() -> None:
    hashes = hash_media(encode(_frames(1)[0], "GIF"))

    assert (hashes.animated, hashes.frame_count) == (False, 1)
