"""A confirmed case on the demo platform, as a reviewer makes one: the starting point of every appeal."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.media import hash_media
from bastion.platform import HttpPlatformConnector
from bastion.timers import Ticker
from tests.conftest import TestUser, api_key, api_login

POST, ACCOUNT = "post-2002", "acct-1001"


def confirm_case(app: Any, client: TestClient, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                 platform: HttpPlatformConnector, reviewer: TestUser, *, classification: str = "A1") -> int:
    """Bank the post's hashes, scan it, and have `reviewer` confirm it: removal, suspension, preservation."""
    headers = api_key(client, sessions, clock)
    media = platform.fetch_media(POST)
    hashes = hash_media(media)
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=headers)
    client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": hashes.pdq, "md5": hashes.md5},
                                                    "classification": "A1", "source": "industry"}, headers=headers)
    scanned = client.post("/api/v1/scan", files={"file": ("p.jpg", media)},
                          data={"content_id": POST, "account_id": ACCOUNT}, headers=headers)
    assert scanned.json()["matches"], scanned.text
    client = TestClient(app)  # the reviewer's own browser
    csrf = {"X-CSRF-Token": api_login(client, reviewer, clock)}
    case = client.post("/api/v1/cases/next", headers=csrf).json()
    item = client.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    client.post(f"/cases/{case['id']}/items/{item['id']}/reveal", headers=csrf)
    decided = client.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision",
                          json={"decision": "confirm", "classification": classification}, headers=csrf)
    assert decided.status_code == 200, decided.text
    concluded = client.post(f"/api/v1/cases/{case['id']}/conclude", json={"restrict": "suspend"}, headers=csrf)
    assert concluded.json()["status"] == "confirmed", concluded.text
    return int(case["id"])


def run_timers(app: Any, sessions, clock: ManualClock, rounds: int = 4) -> None:  # type: ignore[no-untyped-def]
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    for _ in range(rounds):
        ticker.tick()
