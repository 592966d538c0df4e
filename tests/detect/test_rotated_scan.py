"""Scans find rotated and mirrored copies of banked photos (the default exact dihedral variants)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bastion.media import hash_media, pdq_dihedral

TURNS = {
    "rotate90": lambda a: np.rot90(a, 1), "rotate180": lambda a: np.rot90(a, 2),
    "rotate270": lambda a: np.rot90(a, 3), "mirror_left_right": lambda a: a[:, ::-1],
    "mirror_top_bottom": lambda a: a[::-1], "transpose": lambda a: a.transpose(1, 0, 2),
}


def _photo(name: str) -> np.ndarray:
    """A benign scikit-image sample photo at 512 px, where PDQ's resampling is asymmetric."""
    from skimage import data

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    return np.asarray(image.resize((512, 512), Image.Resampling.BILINEAR))


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["rocket", "camera"])
def test_rotated_copies_of_banked_photos_are_found(name: str, client: TestClient,
                                                   platform_headers: dict[str, str]) -> None:
    pixels = _photo(name)
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=platform_headers)
    original = hash_media(_jpeg(pixels)).pdq
    added = client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": original}}, headers=platform_headers)
    assert added.status_code in (200, 201), added.text

    for turn, transform in TURNS.items():
        upload = _jpeg(transform(pixels))
        response = client.post("/api/v1/scan", files={"file": ("x.jpg", upload)}, headers=platform_headers)
        assert response.status_code == 200, response.text
        matches = response.json()["matches"]
        assert [m["bank"] for m in matches] == ["KNOWN"], turn
        # the upload's exact variants: as close as undoing the turn on its pixels and hashing again
        decoded = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"))
        rehashed = pdq_dihedral(decoded, method="rehash").hashes
        best = min(bin(int(original, 16) ^ int(v, 16)).count("1") for v in rehashed)
        assert abs(matches[0]["distance"] - best) <= 2, turn
