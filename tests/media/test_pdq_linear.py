"""PDQ's front end as matrices reproduces pdqhash (hash and quality) at full scale."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bastion.media.pdq_linear import reduced_hashes

from ._images import reference_pdq_pixels, skimage_photo


@pytest.mark.parametrize("name", ["astronaut", "camera", "coins", "text"])
@pytest.mark.parametrize("size", [(130, 129), (333, 500), (1024, 768)])
def test_full_scale_matrices_give_pdqhash_hash_and_quality(name: str, size: tuple[int, int]) -> None:
    pixels = np.asarray(Image.fromarray(skimage_photo(name)).convert("RGB").resize(size))
    expected_hex, expected_quality = reference_pdq_pixels(pixels)

    variants, quality = reduced_hashes(pixels, pixels.shape[0], pixels.shape[1])

    ours = np.packbits(variants[0]).tobytes().hex()
    assert quality == expected_quality
    assert bin(int(ours, 16) ^ int(expected_hex, 16)).count("1") <= 2  # float rounding at the median


def test_pixels_that_are_no_jpeg_reduction_of_the_size_are_refused() -> None:
    pixels = np.zeros((300, 300, 3), dtype=np.uint8)

    with pytest.raises(ValueError, match="not a 1/1, 1/2, 1/4 or 1/8 reduction"):
        reduced_hashes(pixels, 1000, 1000)
