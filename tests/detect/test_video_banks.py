"""Banked videos (vPDQ): a re-encoded or trimmed copy matches through the scan API, an unrelated video does not."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service
from bastion.banks.models import EntrySignal
from bastion.clock import ManualClock
from bastion.config import Settings

from bastion.matching.banked import BankMatcher
from bastion.media.video import VpdqFeature, features_to_signal, hash_video_file
from tests.conftest import api_key
from tests.media._videos import Clip, trimmed, write_clip

ORIGINAL = Clip(seed=41, seconds=8)


def _scan(client: TestClient, headers: dict[str, str], data: bytes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/scan", files={"file": ("upload.mp4", data)}, headers=headers)


@pytest.fixture
def banked(client: TestClient, platform_headers: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    signal = hash_video_file(write_clip(tmp_path / "original.mp4", ORIGINAL)).signal_string()
    assert client.post("/api/v1/banks", json={"name": "VIDEOS"}, headers=platform_headers).status_code == 201
    added = client.post("/api/v1/banks/VIDEOS/entries", json={"signals": {"vpdq": signal}, "classification": "A1"},
                        headers=platform_headers)
    assert added.status_code in (200, 201), added.text
    return added.json()["entry"]["id"], signal


def test_a_trimmed_re_encoded_copy_matches_the_banked_video(
    client: TestClient, platform_headers: dict[str, str], tmp_path: Path, banked: tuple[int, str], db: Session
) -> None:
    entry_id, signal = banked
    copy = replace(trimmed(ORIGINAL, 1.0, 1.0), codec="mpeg4", container="avi", bit_rate=300_000)
    response = _scan(client, platform_headers, write_clip(tmp_path / "copy.avi", copy).read_bytes())
    assert response.status_code == 200, response.text
    body = response.json()
    (match,) = [m for m in body["matches"] if m["signal_type"] == "vpdq"]
    assert match["bank"] == "VIDEOS" and match["entry_id"] == entry_id and match["classification"] == "A1"
    signal_id = db.scalar(select(EntrySignal.id).where(EntrySignal.entry_id == entry_id))
    detail = body["video"]["video_matches"][str(signal_id)]
    assert detail["query_match_percent"] >= 80.0
    assert detail["compared_match_percent"] > 0.0
    assert detail["compared_ranges"] and all(0.0 <= a <= b <= 7.0 for a, b in detail["compared_ranges"])
    assert detail["query_ranges"] and all(0.0 <= a <= b <= 5.0 for a, b in detail["query_ranges"])
    (entry,) = client.get("/api/v1/banks/VIDEOS/entries", headers=platform_headers).json()
    assert entry["signals"]["vpdq"] == signal  # the whole signal comes back, not its key


def test_an_unrelated_video_matches_nothing_and_thresholds_are_per_bank(
    client: TestClient, platform_headers: dict[str, str], tmp_path: Path, banked: tuple[int, str]
) -> None:
    other = write_clip(tmp_path / "other.mp4", Clip(seed=42, seconds=8)).read_bytes()
    body = _scan(client, platform_headers, other).json()
    assert body["matches"] == [] and body["video"]["video_matches"] == {}
    half = write_clip(tmp_path / "half.mp4", trimmed(ORIGINAL, 0.0, 4.0)).read_bytes()
    assert [m["signal_type"] for m in _scan(client, platform_headers, half).json()["matches"]] == ["vpdq"]
    # the bank asks that the copy cover most of the banked video: half of it no longer matches
    patched = client.patch("/api/v1/banks/VIDEOS", json={"vpdq_compared_match_percent": 90},
                           headers=platform_headers)
    assert patched.status_code == 200 and patched.json()["vpdq_compared_match_percent"] == 90
    assert _scan(client, platform_headers, half).json()["matches"] == []


def test_a_video_over_the_synchronous_limit_is_scanned_only_asynchronously(
    settings: Settings, clock: ManualClock, engine: Any, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    from bastion.web.app import create_app

    video = write_clip(tmp_path / "original.mp4", ORIGINAL).read_bytes()
    app = create_app(settings.model_copy(update={"video_sync_max_bytes": len(video) - 1}), clock=clock, engine=engine)
    with TestClient(app) as client:
        headers = api_key(client, sessions, clock)
        client.post("/api/v1/banks", json={"name": "VIDEOS"}, headers=headers)
        signal = hash_video_file(tmp_path / "original.mp4").signal_string()
        client.post("/api/v1/banks/VIDEOS/entries", json={"signals": {"vpdq": signal}}, headers=headers)
        refused = _scan(client, headers, video)
        assert (refused.status_code, refused.json()["code"]) == (413, "async_only")
        assert "/api/v1/scans" in refused.json()["detail"]
        queued = client.post("/api/v1/scans", json={"items": [{"data": base64.b64encode(video).decode(),
                                                                 "content_id": "clip-1"}]}, headers=headers)
        assert queued.status_code == 202, queued.text
        job = client.get(f"/api/v1/scans/{queued.json()['items'][0]['id']}", headers=headers).json()
        assert job["status"] == "done", job
        assert [(m["bank"], m["signal_type"]) for m in job["scan"]["matches"]] == [("VIDEOS", "vpdq")]
        small = write_clip(tmp_path / "small.mp4", replace(ORIGINAL, seconds=1, width=96, height=72)).read_bytes()
        assert len(small) < len(video) and _scan(client, headers, small).status_code == 200


def _features(seed: int, frames: int = 12) -> list[VpdqFeature]:
    rng = np.random.default_rng(seed)
    return [VpdqFeature(i * 25, float(i), 100, f"{int.from_bytes(rng.bytes(32), 'big'):064x}") for i in range(frames)]


def test_every_matcher_learns_of_banked_and_removed_videos_and_entry_state_applies(
    sessions: sessionmaker[Session], clock: ManualClock, db: Session
) -> None:
    """Two matchers (two processes) share the change log: adds, disables and deletes reach both."""
    first, second = (BankMatcher(sessions, clock, refresh_seconds=0) for _ in range(2))
    video, other = _features(1), _features(2)
    bank = service.create_bank(db, name="VIDEOS", actor="t", clock=clock)
    allow = service.create_bank(db, name="SAFE", kind="allow", actor="t", clock=clock)
    db.commit()
    assert first.match_video(db, video).matches == []  # loaded, empty
    entry = service.add_entry(db, bank, {"vpdq": features_to_signal(video)}, actor="t", clock=clock).entry
    db.commit()
    for matcher in (first, second):
        (found,) = matcher.match_video(db, video[2:]).matches
        assert (found.entry_id, found.signal_type, found.video.query_match_percent) == (entry.id, "vpdq", 100.0)
        assert found.video.compared_match_percent == pytest.approx(10 * 100 / 12)
        assert matcher.match_video(db, other).matches == []
    service.set_entry_enabled(db, entry, False, actor="t", clock=clock)
    db.commit()
    assert first.match_video(db, video).matches == []  # entry state from the database, at once
    service.set_entry_enabled(db, entry, True, actor="t", clock=clock)
    service.add_entry(db, allow, {"vpdq": features_to_signal(video[:6])}, actor="t", clock=clock)
    db.commit()
    suppressed = second.match_video(db, video[:6])
    assert suppressed.matches == [] and [m.bank_name for m in suppressed.allowed] == ["SAFE"]
    service.delete_entry(db, entry, actor="t", clock=clock)
    db.commit()
    for matcher in (first, second):
        assert [m.bank_name for m in matcher.match_video(db, video[:6]).allowed] == ["SAFE"]
        assert matcher.match_video(db, video).matches == [] and len(matcher.video_index()) == 1


def test_a_rescan_finds_a_video_scanned_before_it_was_banked(
    client: TestClient, platform_headers: dict[str, str], tmp_path: Path, db: Session
) -> None:
    from datetime import datetime, timezone

    from bastion.scanning.models import ScanMatch

    path = write_clip(tmp_path / "early.mp4", replace(ORIGINAL, seed=43))
    first = _scan(client, platform_headers, path.read_bytes()).json()
    assert first["matches"] == []
    client.post("/api/v1/banks", json={"name": "LATER"}, headers=platform_headers)
    client.post("/api/v1/banks/LATER/entries", json={"signals": {"vpdq": hash_video_file(path).signal_string()}},
                headers=platform_headers)
    state = client.app.state.bastion  # type: ignore[attr-defined]
    report = state.scanner.rescan(db, datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert report.new_matches == 1 and report.scans_with_new_matches == 1
    found = db.scalars(select(ScanMatch).where(ScanMatch.scan_id == first["scan_id"])).all()
    assert [(m.bank_name, m.signal_type, m.found_by) for m in found] == [("LATER", "vpdq", "rescan")]
    assert state.scanner.rescan(db, datetime(2000, 1, 1, tzinfo=timezone.utc)).new_matches == 0
