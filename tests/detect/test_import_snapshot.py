"""A bulk import over HTTP brings the snapshot forward, so replicas start from it instead of replaying the import."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.matching.banked import SNAPSHOT_TASK, schedule_snapshots
from bastion.timers.models import Timer
from bastion.web.api import banks as banks_api

PDQ = "{:064x}"


def _due(sessions: sessionmaker[Session]) -> object:
    with sessions() as session:
        return session.scalar(select(Timer.due_at).where(Timer.dedupe_key == SNAPSHOT_TASK))


def test_a_bulk_import_moves_the_snapshot_timer_to_now(client: TestClient, platform_headers: dict[str, str],
                                                       sessions: sessionmaker[Session], clock: ManualClock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(banks_api, "SYNC_REPLAY_LIMIT", 5)
    with sessions() as session:
        schedule_snapshots(session, clock)
        session.commit()
    later = clock.now() + timedelta(minutes=10)
    assert client.post("/api/v1/banks", json={"name": "BULK"}, headers=platform_headers).status_code == 201

    def upload(first: int, count: int) -> None:
        body = "".join(f"pdq {PDQ.format(i)}\n" for i in range(first, first + count))
        response = client.post("/api/v1/banks/BULK/import", files={"file": ("list.txt", body.encode())},
                               data={"format": "te"}, headers=platform_headers)
        assert response.status_code == 200 and response.json()["imported"] == count, response.text

    upload(1, 3)  # a few entries: the change log carries them; the timer stays where it was
    assert _due(sessions) == later
    upload(100, 6)  # past the replay limit: every replica would have to catch up, so publish now
    assert _due(sessions) == clock.now()
