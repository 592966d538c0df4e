"""Turn a decoded Pillow image of any mode into RGB ``uint8`` pixels.

Policy, chosen so our PDQ hashes match the ones already in shared hash lists:

* **Alpha is dropped, not composited.** The reference PDQ hashers (Meta's C++
  tool, python-threatexchange via ``Image.convert("RGB")``) hash the stored
  colour channels and ignore alpha, so hashes in industry lists were made that
  way. Compositing would also hide content that a file carries under a fully
  transparent alpha channel.
* **8-bit modes** (1, L, LA, P, PA, RGB, RGBA, CMYK, YCbCr, …) use Pillow's own
  converters, so pixels are exactly what ``Image.convert("RGB")`` gives.
* **16-bit modes** (``I;16*``) are scaled from 0..65535 to 0..255 with
  rounding; Pillow's converter would clip everything above 255 to white.
* **``I`` (int32) and ``F`` (float32)** have no nominal range (they hold 8-,
  12-, 16-bit or arbitrary data), so the finite range present is stretched
  linearly to 0..255. PDQ ignores brightness and contrast (it thresholds DCT
  coefficients at their median), so a linear stretch does not move the hash
  beyond 8-bit rounding.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from PIL import Image

from bastion.media.errors import UnsupportedMedia

RGBArray: TypeAlias = npt.NDArray[np.uint8]
"""An ``(height, width, 3)`` array of 8-bit RGB pixels."""

_UINT16_MAX = 65535


def to_rgb_array(image: Image.Image) -> RGBArray:
    """Return the image as a read-only ``(height, width, 3)`` uint8 array."""
    if image.mode.startswith("I;16"):
        grey = _scale_16bit(np.asarray(image))
    elif image.mode in ("I", "F"):
        grey = _stretch_to_8bit(np.asarray(image))
    else:
        return _readonly(np.asarray(_to_rgb_image(image)))
    return _readonly(np.stack((grey, grey, grey), axis=-1))


def _to_rgb_image(image: Image.Image) -> Image.Image:
    """Convert an 8-bit-per-channel image to mode RGB, dropping any alpha."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        # Going through RGBA yields the same colours as a direct P -> RGB
        # conversion but without Pillow warning about per-entry transparency.
        image = image.convert("RGBA")
    try:
        return image.convert("RGB")
    except ValueError as exc:
        raise UnsupportedMedia(
            f"Images in the {image.mode!r} pixel mode are not supported. "
            "Re-save the image as an 8-bit RGB PNG or JPEG and try again."
        ) from exc


def _scale_16bit(values: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
    """Map 0..65535 onto 0..255, rounding to nearest (v / 257)."""
    wide = values.astype(np.uint32)
    return ((wide * 255 + _UINT16_MAX // 2) // _UINT16_MAX).astype(np.uint8)


def _stretch_to_8bit(values: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """Stretch the finite range of an int32/float32 image onto 0..255.

    NaN and negative infinity become black, positive infinity white; a flat
    image becomes black.
    """
    data = values.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.all():
        if not finite.any():
            return np.zeros(data.shape, dtype=np.uint8)
        low, high = data[finite].min(), data[finite].max()
        data = np.nan_to_num(data, nan=low, posinf=high, neginf=low)
    else:
        low, high = data.min(), data.max()
    if high <= low:
        return np.zeros(data.shape, dtype=np.uint8)
    data -= low
    data *= 255.0 / (high - low)
    return np.rint(data, out=data).astype(np.uint8)


def _readonly(array: RGBArray) -> RGBArray:
    """Freeze the array: decoded pixels are evidence, not scratch space."""
    array.flags.writeable = False
    return array
