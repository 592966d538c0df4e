"""Every Pillow mode decodes to correct RGB uint8 pixels and hashes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from bastion.media import decode_image, hash_media

from ._images import encode, reference_pdq, reference_pdq_pixels

H, W = 48, 80


def _grey() -> np.ndarray:
    """A grey ramp with shapes that spans exactly 0..255 (so stretches are exact)."""
    x = np.arange(W)[None, :].repeat(H, axis=0)
    grey = (x * 255 // (W - 1)).astype(np.uint8)
    grey[10:30, 20:45] = 255 - grey[10:30, 20:45]
    grey[0, 0], grey[-1, -1] = 0, 255
    return grey


def _colour() -> np.ndarray:
    grey = _grey()
    return np.stack([grey, grey[::-1], np.roll(grey, 17, axis=1)], axis=-1)


def _alpha() -> np.ndarray:
    return np.tile(np.linspace(0, 255, W).astype(np.uint8), (H, 1))


def _grey_rgb(grey: np.ndarray) -> np.ndarray:
    return np.stack([grey] * 3, axis=-1)


EIGHT_BIT = {
    "1": lambda: Image.fromarray(_grey()).convert("1"),
    "L": lambda: Image.fromarray(_grey()),
    "LA": lambda: Image.merge(
        "LA", [Image.fromarray(_grey()), Image.fromarray(_alpha())]
    ),
    "P": lambda: Image.fromarray(_colour()).convert("P"),
    "PA": lambda: Image.merge(
        "PA", [Image.fromarray(_colour()).convert("P"), Image.fromarray(_alpha())]
    ).copy(),
    "RGB": lambda: Image.fromarray(_colour()),
    "RGBA": lambda: Image.fromarray(np.dstack([_colour(), _alpha()])),
    "CMYK": lambda: Image.fromarray(_colour()).convert("CMYK"),
}
FORMATS = {
    "1": "PNG",
    "L": "PNG",
    "LA": "PNG",
    "P": "PNG",
    "PA": "TIFF",
    "RGB": "PNG",
    "RGBA": "PNG",
    "CMYK": "TIFF",
}


@pytest.mark.parametrize("mode", list(EIGHT_BIT))
def test_eight_bit_modes_give_pillows_rgb_pixels(mode: str) -> None:
    source = EIGHT_BIT[mode]()
    data = encode(source, FORMATS[mode])

    decoded = decode_image(data)

    assert decoded.mode == mode
    assert (decoded.pixels.dtype, decoded.pixels.shape) == (np.uint8, (H, W, 3))
    expected = np.asarray(source.convert("RGB"))
    np.testing.assert_array_equal(decoded.pixels, expected)
    assert hash_media(data).pdq == reference_pdq_pixels(expected)[0]


def test_cmyk_jpeg_decodes_like_pillow() -> None:
    data = encode(EIGHT_BIT["CMYK"](), "JPEG", quality=95)

    decoded = decode_image(data)

    assert decoded.mode == "CMYK"
    assert hash_media(data).pdq == reference_pdq(data)[0]


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_is_scaled_not_clipped(fmt: str) -> None:
    grey = _grey()
    data = encode(Image.fromarray(grey.astype(np.uint16) * 257), fmt)

    decoded = decode_image(data)

    assert decoded.mode == "I;16"
    np.testing.assert_array_equal(decoded.pixels, _grey_rgb(grey))
    assert hash_media(data).pdq == reference_pdq_pixels(_grey_rgb(grey))[0]


@pytest.mark.parametrize(
    "to_int32",
    [
        lambda g: g.astype(np.int32),
        lambda g: g.astype(np.int32) * 257,
        lambda g: g.astype(np.int32) * 1000 - 100_000,
    ],
    ids=["8-bit-range", "16-bit-range", "negative-range"],
)
def test_32_bit_int_is_stretched_to_full_range(
    to_int32: Callable[[np.ndarray], np.ndarray],
) -> None:
    grey = _grey()
    data = encode(Image.fromarray(to_int32(grey)), "TIFF")

    decoded = decode_image(data)

    assert decoded.mode == "I"
    np.testing.assert_array_equal(decoded.pixels, _grey_rgb(grey))
    assert hash_media(data).pdq == reference_pdq_pixels(_grey_rgb(grey))[0]


@pytest.mark.parametrize(
    "to_float",
    [lambda g: g / 255.0, lambda g: g * 3.5 - 100.0],
    ids=["unit-range", "arbitrary-range"],
)
def test_float_is_stretched_to_full_range(
    to_float: Callable[[np.ndarray], np.ndarray],
) -> None:
    grey = _grey()
    data = encode(Image.fromarray(to_float(grey).astype(np.float32)), "TIFF")

    decoded = decode_image(data)

    assert decoded.mode == "F"
    np.testing.assert_array_equal(decoded.pixels, _grey_rgb(grey))
    assert hash_media(data).pdq == reference_pdq_pixels(_grey_rgb(grey))[0]


def test_float_nan_and_infinity_do_not_poison_the_stretch() -> None:
    values = (_grey() / 255.0).astype(np.float32)
    values[5, 5], values[6, 6], values[7, 7] = np.nan, np.inf, -np.inf

    pixels = decode_image(encode(Image.fromarray(values), "TIFF")).pixels

    assert pixels[10, 60, 0] == _grey()[10, 60]
    assert (pixels[5, 5, 0], pixels[6, 6, 0], pixels[7, 7, 0]) == (0, 255, 0)


@pytest.mark.parametrize("mode", ["I", "F"])
def test_flat_wide_image_decodes_black(mode: str) -> None:
    dtype = np.int32 if mode == "I" else np.float32
    data = encode(Image.fromarray(np.full((8, 8), 1234, dtype)), "TIFF")

    assert not decode_image(data).pixels.any()


def test_alpha_is_dropped_not_composited() -> None:
    colour = _colour()
    invisible = Image.fromarray(np.dstack([colour, np.zeros((H, W), np.uint8)]))

    decoded = decode_image(encode(invisible, "PNG"))

    np.testing.assert_array_equal(decoded.pixels, colour)


def test_palette_transparency_keeps_palette_colours_without_warnings(
    recwarn: pytest.WarningsRecorder,
) -> None:
    source = Image.fromarray(_colour()).convert("P")
    source.info["transparency"] = bytes([0, 128] + [255] * 254)
    data = encode(source, "PNG", transparency=source.info["transparency"])

    decoded = decode_image(data)

    np.testing.assert_array_equal(
        decoded.pixels, np.asarray(source.convert("RGBA"))[..., :3]
    )
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_pixels_are_read_only() -> None:
    pixels = decode_image(encode(_colour(), "PNG")).pixels

    with pytest.raises(ValueError, match="read-only"):
        pixels[0, 0, 0] = 1
