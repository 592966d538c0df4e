"""Hostile, damaged and non-image input is refused with the right error code."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bastion.media import (
    DEFAULT_LIMITS,
    CorruptMedia,
    DecodeLimits,
    DecompressionBomb,
    MediaError,
    MediaTooLarge,
    UnsupportedMedia,
    apply_to_pillow,
    decode_image,
    hash_file,
    hash_media,
)

from ._images import all_black_bilevel_png, encode, png_with_header


def _photo_like(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, size=(120, 160, 3), dtype=np.uint8
    )


def _code(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(MediaError) as caught:
        hash_media(data, limits)
    assert caught.value.message
    assert str(caught.value) == caught.value.message
    return caught.value.code


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])
def test_truncated_image_is_corrupt(fmt: str) -> None:
    data = encode(_photo_like(), fmt)

    assert _code(data[: len(data) // 2]) == "corrupt_media"


def test_header_only_jpeg_is_corrupt_not_unsupported() -> None:
    assert _code(encode(_photo_like(), "JPEG")[:20]) == "corrupt_media"


def test_png_with_bad_checksum_is_corrupt() -> None:
    data = bytearray(encode(_photo_like(), "PNG"))
    data[60] ^= 0xFF  # inside the first IDAT chunk

    assert _code(bytes(data)) == "corrupt_media"


def test_png_declaring_zero_width_is_corrupt() -> None:
    assert _code(png_with_header(0, 10)) == "corrupt_media"


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_unsupported(seed: int) -> None:
    assert _code(np.random.default_rng(seed).bytes(4096)) == "unsupported_media"


@pytest.mark.parametrize(
    "data",
    [b"", b"Hello, this is a text file.\n" * 20, b'{"not": "an image"}'],
    ids=["empty", "text", "json"],
)
def test_non_images_are_unsupported(data: bytes) -> None:
    assert _code(data) == "unsupported_media"


def test_postscript_is_never_handed_to_ghostscript() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"

    assert _code(eps) == "unsupported_media"


@pytest.mark.parametrize("fmt", ["ICO", "PCX", "PPM", "TGA"])
def test_formats_outside_the_allow_list_are_unsupported(fmt: str) -> None:
    assert _code(encode(_photo_like()[:32, :32], fmt)) == "unsupported_media"


def test_header_claiming_100000_squared_pixels_is_a_bomb() -> None:
    assert _code(png_with_header(100_000, 100_000)) == "decompression_bomb"


def test_real_all_black_png_of_400_megapixels_is_a_bomb() -> None:
    data = all_black_bilevel_png(20_000)
    assert len(data) < 100_000  # tiny file, huge image

    assert _code(data) == "decompression_bomb"


def test_compressed_text_chunk_bomb_is_refused() -> None:
    # A zTXt chunk inflating to 64 MiB: Pillow caps text chunks at 1 MiB.
    body = b"Comment\x00\x00" + zlib.compress(bytes(64 * 1024 * 1024), 9)
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + body))
    png = encode(_photo_like(), "PNG")
    data = png[:33] + chunk + png[33:]  # right after the 8-byte signature + IHDR

    assert _code(data) == "corrupt_media"


def test_our_pixel_cap_holds_even_with_pillows_guard_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    with pytest.raises(DecompressionBomb, match="100000x100000"):
        decode_image(png_with_header(100_000, 100_000))


def test_our_pixel_cap_is_checked_before_decoding() -> None:
    # The IDAT is empty: decoding would fail as corrupt, so a bomb verdict
    # proves the header was judged first.
    with pytest.raises(DecompressionBomb):
        decode_image(png_with_header(200, 100), DecodeLimits(max_pixels=10_000))


def test_over_pillows_cap_is_our_error_before_pillow_can_warn() -> None:
    """Pillow warns between its cap and twice it; the header is judged first, so nothing leaks."""
    generous = DecodeLimits(max_pixels=10**12)

    with warnings.catch_warnings(record=True) as seen, pytest.raises(DecompressionBomb):
        warnings.simplefilter("always")
        decode_image(png_with_header(8_000, 8_000), generous)  # 64 Mpx: inside Pillow's warning band
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]


def test_raised_cap_applied_to_pillow_accepts_images_beyond_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    generous = DecodeLimits(max_pixels=100_000_000)
    side = 9_500  # 90.25 Mpx: over Pillow's default, under ours
    data = png_with_header(side, side)

    with pytest.raises(DecompressionBomb):  # Pillow's default is the stricter cap
        decode_image(data, generous)
    apply_to_pillow(generous)

    # Accepted by both guards now, so decoding proceeds (and finds no pixels).
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(CorruptMedia):
            decode_image(data, generous)


def test_pillow_bomb_warning_raised_as_error_becomes_our_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(DecompressionBomb):
            decode_image(
                png_with_header(10_000, 10_000), DecodeLimits(max_pixels=10**12)
            )


def test_image_at_the_pixel_cap_is_accepted() -> None:
    data = encode(_photo_like(), "PNG")

    assert decode_image(data, DecodeLimits(max_pixels=120 * 160)).width == 160


def test_input_over_the_byte_cap_is_too_large() -> None:
    data = encode(_photo_like(), "PNG")

    with pytest.raises(MediaTooLarge, match="over the 1,000-byte limit"):
        hash_media(data, DecodeLimits(max_bytes=1000))


def test_file_over_the_byte_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(encode(_photo_like(), "PNG"))

    with pytest.raises(MediaTooLarge):
        hash_file(path, DecodeLimits(max_bytes=1000))


def test_errors_carry_codes_and_http_statuses() -> None:
    expected = {
        UnsupportedMedia: ("unsupported_media", 415),
        MediaTooLarge: ("too_large", 413),
        DecompressionBomb: ("decompression_bomb", 413),
        CorruptMedia: ("corrupt_media", 422),
    }
    for error, (code, status) in expected.items():
        assert issubclass(error, MediaError)
        assert (error.code, error.status) == (code, status)


@pytest.mark.parametrize("field", ["max_bytes", "max_pixels"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_limits_reject_nonsense(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        DecodeLimits(**{field: value})  # type: ignore[arg-type]
