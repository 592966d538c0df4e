"""PDQ from pixels converted as HMA converts them, for operators who must reproduce HMA's values.

HMA hashes photos with python-threatexchange's `PdqSignal`, which hands Pillow's raw
pixel array to `pdqhash` with almost no conversion: only `LA` and `I;16` images are
converted to RGB, and a single-channel array is repeated into three channels. So:

- palette (`P`) images are hashed from their palette *indices*, not their colours;
- `CMYK` images are hashed as if C, M and Y were R, G and B;
- 1-bit images are hashed from 0/1 values (no contrast: quality 0, so no hash);
- 16-bit greyscale is clipped to 255 by Pillow's conversion (mostly white);
- EXIF orientation is not applied.

Bastion's own conversion (`bastion.media.pixels`) gets all of these right, so its
hashes of such images differ from HMA's. This module computes the HMA value instead,
for `conversion=hma` and strict mode (`bastion.web.hma.dialect`). Decoding stays
inside Bastion's limits: the byte and pixel caps, the format allow-list and the
process's pixel budget; arrays `pdqhash` would misread (other than 3 or 4 channels
of 8 bits) are refused, where HMA would fail with a 500.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image, UnidentifiedImageError

from bastion.media import DecodeLimits
from bastion.media.limits import effective_pixel_limit
from bastion.media.errors import CorruptMedia, DecompressionBomb, MediaError, UnsupportedMedia
from bastion.media.formats import available_formats, header_size
from bastion.media.isolation import budget, declared_pixels
from bastion.scanning.signals import MIN_PDQ_QUALITY


def hma_pdq(data: bytes, limits: DecodeLimits) -> str:
    """The PDQ hash HMA would report for this image file ("" below quality 50, as HMA)."""
    limits.check_bytes(len(data))
    with budget().reserve(declared_pixels(data)):
        pixels = _hma_pixels(data, limits)
    if pixels.dtype not in (np.uint8, np.bool_) or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise UnsupportedMedia(f"HMA's hasher cannot hash this image ({pixels.dtype}, {pixels.shape[-1]} "
                               "channels); hash it without conversion=hma.")
    bits, quality = pdqhash.compute(np.ascontiguousarray(pixels))
    if quality < MIN_PDQ_QUALITY:
        return ""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _hma_pixels(data: bytes, limits: DecodeLimits) -> npt.NDArray[np.generic]:
    """The array python-threatexchange gives pdqhash: raw pixels, LA and I;16 through RGB, grey repeated."""
    size = header_size(data)
    limit = effective_pixel_limit(limits)
    if size is not None and size[0] * size[1] > limit:  # refused before Pillow's own check can warn
        raise DecompressionBomb(f"The image declares {size[0]}x{size[1]} pixels, over the {limit:,}-pixel "
                                "limit, so it was not decoded. Resize it and try again.")
    try:
        with Image.open(io.BytesIO(data), formats=available_formats()) as image:
            if image.mode in ("LA", "I;16"):
                image = image.convert("RGB")
            array = np.asarray(image)
    except MediaError:
        raise
    except Image.DecompressionBombError:
        raise DecompressionBomb("The image declares more pixels than the safety limit allows, so it was not "
                                "decoded. Resize it and try again.") from None
    except UnidentifiedImageError:
        raise UnsupportedMedia("The file is not an image in a supported format "
                               f"({', '.join(available_formats())}).") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise CorruptMedia("The image data is truncated or damaged and could not be decoded.") from None
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=2)
    return array
