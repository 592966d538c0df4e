"""HMA's /h/hash for video: `video_md5` by default (bytes only), vPDQ when asked, in python-threatexchange's format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi.testclient import TestClient

from bastion.media.video import hash_video_file, signal_to_features
from tests.media._videos import Clip, write_clip


def test_vpdq_of_an_uploaded_video_when_asked(hma: TestClient, tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", Clip(seed=12, seconds=4, width=192, height=144))
    data = path.read_bytes()
    response = hma.post("/h/hash", params={"types": "video_md5,vpdq"}, files={"video": ("clip.mp4", data)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["video_md5", "vpdq"]
    assert body["video_md5"] == hashlib.md5(data).hexdigest()
    expected = hash_video_file(path).features
    assert json.loads(body["vpdq"]) == [f.compact() for f in expected]
    parsed = signal_to_features(body["vpdq"])
    assert [(f.hash, f.quality) for f in parsed] == [(f.hash, f.quality) for f in expected]
    default = hma.post("/h/hash", files={"video": ("clip.mp4", data)}).json()
    assert default == {"video_md5": body["video_md5"]}  # unchanged unless vPDQ is asked for


def test_an_undecodable_video_is_refused_with_a_code_when_vpdq_is_asked(hma: TestClient) -> None:
    fake = b"\x00\x00\x00\x18ftypmp42 synthetic, not a real video" * 10
    response = hma.post("/h/hash", params={"types": "vpdq"}, files={"video": ("v.mp4", fake)},
                        headers={"Accept": "application/json"})
    assert response.status_code == 415
    assert "damaged" in response.json()["message"]  # HMA's error shape: {"message": ...}
    assert hma.post("/h/hash", params={"types": "vpdq"}, files={"photo": ("p.png", fake)}).status_code == 400
