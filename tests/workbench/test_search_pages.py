"""Search over HTTP: the API's cursor header, the filter forms, typed refusals; no media in results."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.cases.models import Case
from bastion.clock import ManualClock
from tests.conftest import api_login


def _seed(sessions: sessionmaker[Session], clock: ManualClock, n: int) -> None:
    with sessions() as db:
        now = clock.now()
        db.execute(insert(Case), [{"account_id": f"acct-{i % 4}", "status": "new", "priority": 5, "opened_at": now,
                                   "updated_at": now, "removal_due_at": now + timedelta(hours=24)}
                                  for i in range(n)])
        db.commit()


def test_api_pages_with_a_cursor_header(client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    _seed(sessions, clock, 120)
    api_login(client, user_factory(Role.REVIEWER), clock)
    ids, cursor = [], ""
    while True:
        response = client.get("/api/v1/cases", params={"limit": 50, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        ids += [c["id"] for c in response.json()]
        cursor = response.headers.get("X-Next-Cursor", "")
        if not cursor:
            break
        assert 'rel="next"' in response.headers["Link"]
    assert len(ids) == len(set(ids)) == 120
    found = client.get("/api/v1/cases", params={"account_id": "acct-2", "limit": 500}).json()
    assert len(found) == 30 and {c["account_id"] for c in found} == {"acct-2"}
    bad = client.get("/api/v1/cases", params={"hash": "not-a-hash"})
    assert bad.status_code == 422 and "MD5" in bad.json()["detail"]
    assert client.get("/api/v1/cases", params={"limit": 501}).status_code == 422


def test_review_page_search_and_next_page(client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    _seed(sessions, clock, 60)
    api_login(client, user_factory(Role.REVIEWER), clock)
    first = client.get("/review")
    assert first.status_code == 200 and 'id="next-page"' in first.text
    searched = client.get("/review", params={"account": "acct-1"})
    assert "Matching cases" in searched.text and searched.text.count("<td>acct-1</td>") == 15
    assert "acct-2" not in searched.text.split('id="queue"')[1]
    assert "<img" not in searched.text.split('id="queue"')[1]  # search never shows media
    refused = client.get("/review", params={"from": "yesterday"})
    assert refused.status_code == 422


def test_scans_and_audit_pages_filter(client: TestClient, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    admin = user_factory(Role.ADMIN)
    api_login(client, admin, clock)
    audit = client.get("/audit", params={"actor": admin.username, "action": "auth.login"})
    assert audit.status_code == 200 and "auth.login" in audit.text
    assert client.get("/audit", params={"cursor": "%%%"}).status_code == 422
    lead = TestClient(client.app)
    api_login(lead, user_factory(Role.REVIEWER), clock)
    assert lead.get("/scans", params={"hash": "0" * 32, "matched": "true"}).status_code == 200
    assert lead.get("/scans", params={"hash": "0" * 31}).status_code == 422
