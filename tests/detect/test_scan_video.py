"""POST /api/v1/scan with a video: digests and every sampled frame matched, the matching seconds reported."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.media import hash_media
from bastion.scanning.models import Scan, ScanMatch
from tests.media._videos import Clip, photo, with_still, write_clip

CLIP = Clip(seed=31, seconds=8)


def _scan(client: TestClient, headers: dict[str, str], data: bytes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/scan", files={"file": ("upload.mp4", data)}, headers=headers)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_known_picture_inside_a_video_is_found_with_its_seconds(
    client: TestClient, platform_headers: dict[str, str], db: Session, tmp_path: Path
) -> None:
    astronaut = np.asarray(photo("astronaut"))
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=platform_headers)
    known = hash_media(_png(astronaut))
    client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": known.pdq}, "classification": "A1"},
                headers=platform_headers)
    video = write_clip(tmp_path / "still.mp4", CLIP, with_still(CLIP, astronaut, 3.0, 2.0)).read_bytes()
    response = _scan(client, platform_headers, video)
    assert response.status_code == 200, response.text
    body = response.json()
    (match,) = body["matches"]
    assert match["bank"] == "KNOWN" and match["signal_type"] == "pdq" and match["distance"] <= 31
    assert body["video"]["matched_seconds"] == {str(db.scalar(select(ScanMatch.signal_id))): [3.0, 4.0]}
    assert body["hashes"]["md5"] == hashlib.md5(video).hexdigest() and body["media"]["format"] == "video/h264"
    assert len(json.loads(body["hashes"]["vpdq"])) == 8
    scan = db.get(Scan, body["scan_id"])
    assert scan is not None and scan.media_format == "video" and scan.match_count == 1
    plain = write_clip(tmp_path / "plain.mp4", CLIP).read_bytes()
    assert _scan(client, platform_headers, plain).json()["matches"] == []


def test_a_known_video_file_matches_by_its_md5_and_an_allowed_one_is_suppressed(
    client: TestClient, platform_headers: dict[str, str], tmp_path: Path
) -> None:
    video = write_clip(tmp_path / "v.mp4", replace(CLIP, seconds=3)).read_bytes()
    md5 = hashlib.md5(video).hexdigest()
    client.post("/api/v1/banks", json={"name": "FILES"}, headers=platform_headers)
    client.post("/api/v1/banks/FILES/entries", json={"signals": {"md5": md5}}, headers=platform_headers)
    body = _scan(client, platform_headers, video).json()
    assert [(m["bank"], m["signal_type"], m["distance"]) for m in body["matches"]] == [("FILES", "md5", 0)]
    client.post("/api/v1/banks", json={"name": "SAFE", "kind": "allow"}, headers=platform_headers)
    client.post("/api/v1/banks/SAFE/entries", json={"signals": {"sha256": hashlib.sha256(video).hexdigest()}},
                headers=platform_headers)
    allowed = _scan(client, platform_headers, video).json()
    assert allowed["matches"] == [] and allowed["suppressed_by_allow_bank"] is True
    assert [m["bank"] for m in allowed["allowed"]] == ["SAFE"]


def test_a_damaged_video_is_refused_with_a_code(client: TestClient, platform_headers: dict[str, str],
                                               tmp_path: Path) -> None:
    video = write_clip(tmp_path / "v.mp4", replace(CLIP, seconds=2)).read_bytes()
    response = _scan(client, platform_headers, video[:4000])
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media")
