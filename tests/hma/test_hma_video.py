"""HMA's /h/hash for video: every video signal type by default (`video_md5` and vPDQ, as HMA hashes every
enabled type of the content type), or those `types=` names, in python-threatexchange's format."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from bastion.media.video import hash_video_file, signal_to_features
from tests.media._videos import Clip, trimmed, write_clip


def test_vpdq_of_an_uploaded_video_by_default_and_when_asked(hma: TestClient, tmp_path: Path) -> None:
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
    assert default == body  # no `types`: every signal type of video, as HMA answers
    only_md5 = hma.post("/h/hash", params={"types": "video_md5"}, files={"video": ("clip.mp4", data)}).json()
    assert only_md5 == {"video_md5": body["video_md5"]}


def test_an_undecodable_video_is_refused_with_a_code_when_vpdq_is_asked(hma: TestClient) -> None:
    fake = b"\x00\x00\x00\x18ftypmp42 synthetic, not a real video" * 10
    response = hma.post("/h/hash", params={"types": "vpdq"}, files={"video": ("v.mp4", fake)},
                        headers={"Accept": "application/json"})
    assert response.status_code == 415
    assert "damaged" in response.json()["message"]  # HMA's error shape: {"message": ...}
    assert hma.post("/h/hash", params={"types": "vpdq"}, files={"photo": ("p.png", fake)}).status_code == 400


ORIGINAL = Clip(seed=51, seconds=8, width=192, height=144)


def _bank_video(hma: TestClient, tmp_path: Path) -> tuple[int, str]:
    """A bank VIDEOS holding ORIGINAL's vPDQ, added through /c/bank/<name>/signal as HMA clients add it."""
    signal = hash_video_file(write_clip(tmp_path / "original.mp4", ORIGINAL)).signal_string()
    assert hma.post("/c/banks", json={"name": "VIDEOS"}).status_code == 201
    added = hma.post("/c/bank/VIDEOS/signal", json={"vpdq": signal, "note": "known clip"})
    assert added.status_code == 200, added.text
    assert added.json()["signals"] == {"vpdq": signal}
    return added.json()["id"], signal


def test_a_banked_video_is_found_by_a_trimmed_re_encoded_copy(hma: TestClient, tmp_path: Path) -> None:
    content_id, signal = _bank_video(hma, tmp_path)
    content = hma.get(f"/c/bank/VIDEOS/content/{content_id}", params={"include_signals": "true"}).json()
    assert content["signals"] == {"vpdq": signal}  # the whole signal comes back, as it went in
    copy = write_clip(tmp_path / "copy.avi", replace(trimmed(ORIGINAL, 1.0, 1.0), codec="mpeg4", container="avi",
                                                       bit_rate=250_000)).read_bytes()
    found = hma.post("/m/lookup", params={"types": "video_md5,vpdq"}, files={"video": ("copy.avi", copy)})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["video_md5"] == {}  # other bytes: no exact match
    (hit,) = body["vpdq"]["VIDEOS"]
    assert hit["bank_content_id"] == content_id
    assert re.fullmatch(r"\d+%\[\d+%\]", hit["distance"]) and int(hit["distance"].split("%")[0]) >= 80
    # by the signal itself, and raw (python-threatexchange's "query%[compared%]" as the distance)
    query = hma.post("/h/hash", params={"types": "vpdq"}, files={"video": ("copy.avi", copy)}).json()["vpdq"]
    by_signal = hma.get("/m/lookup", params={"signal_type": "vpdq", "signal": query}).json()
    assert [m["bank_content_id"] for m in by_signal["VIDEOS"]] == [content_id]
    raw = hma.get("/m/raw_lookup", params={"signal_type": "vpdq", "signal": query, "include_distance": "true"}).json()
    assert [m["bank_content_id"] for m in raw["matches"]] == [content_id]
    compared = hma.post("/m/compare", json={"vpdq": [signal, query]}).json()["vpdq"]
    assert compared[0] is True and compared[1]["query_match_percent"] >= 80.0
    status = hma.get("/m/index/status", params={"signal_type": "vpdq"}).json()
    assert status["vpdq"]["present"] is True and status["vpdq"]["size"] == 1


def test_an_unrelated_video_matches_nothing(hma: TestClient, tmp_path: Path) -> None:
    _bank_video(hma, tmp_path)
    other = write_clip(tmp_path / "other.mp4", replace(ORIGINAL, seed=52)).read_bytes()
    body = hma.post("/m/lookup", params={"types": "vpdq"}, files={"video": ("other.mp4", other)}).json()
    assert body == {"vpdq": {}}
    query = hma.post("/h/hash", params={"types": "vpdq"}, files={"video": ("other.mp4", other)}).json()["vpdq"]
    assert hma.get("/m/raw_lookup", params={"signal_type": "vpdq", "signal": query}).json() == {"matches": []}


def test_vpdq_is_a_signal_type_over_http(hma: TestClient) -> None:
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal

    assert "vpdq" in [t["name"] for t in hma.get("/c/signal_type").json()]
    index = hma.get("/c/signal_type/index", params={"signal_type": "vpdq"}).json()["vpdq"]
    assert index["db_size"] == 0 and index["index_size"] == 0
    bad = hma.get("/m/lookup", params={"signal_type": "vpdq", "signal": '["nothex,100,0.0"]'})
    assert bad.status_code == 400 and bad.json()["message"].startswith("invalid signal")
    assert hma.post("/c/banks", json={"name": "TE_EXAMPLES"}).status_code == 201
    example = VPDQSignal.get_examples()[0]  # python-threatexchange's own example signal is taken as it is
    added = hma.post("/c/bank/TE_EXAMPLES/signal", json={"vpdq": example}).json()
    assert added["signals"] == {"vpdq": example}
    found = hma.get("/m/lookup", params={"signal_type": "vpdq", "signal": example}).json()
    assert found == {"TE_EXAMPLES": [{"bank_content_id": added["id"], "distance": "100%[100%]"}]}
    assert hma.get("/c/signal_type/index", params={"signal_type": "vpdq"}).json()["vpdq"]["db_size"] == 1


def test_a_video_uploaded_as_bank_content_is_banked_by_both_signals(hma: TestClient, tmp_path: Path) -> None:
    data = write_clip(tmp_path / "clip.mp4", ORIGINAL).read_bytes()
    assert hma.post("/c/banks", json={"name": "UPLOADS"}).status_code == 201
    added = hma.post("/c/bank/UPLOADS/content", params={"types": "video_md5,vpdq"}, files={"video": ("c.mp4", data)})
    assert added.status_code == 200, added.text
    assert sorted(added.json()["signals"]) == ["video_md5", "vpdq"]
    content = hma.get(f"/c/bank/UPLOADS/content/{added.json()['id']}", params={"include_signals": "true"}).json()
    assert content["signals"]["video_md5"] == hashlib.md5(data).hexdigest()
    assert signal_to_features(content["signals"]["vpdq"]) == signal_to_features(added.json()["signals"]["vpdq"])
    found = hma.post("/m/lookup", params={"types": "video_md5,vpdq"}, files={"video": ("c.mp4", data)}).json()
    assert found == {"video_md5": {"UPLOADS": [{"bank_content_id": added.json()["id"], "distance": ""}]},
                     "vpdq": {"UPLOADS": [{"bank_content_id": added.json()["id"], "distance": "100%[100%]"}]}}
