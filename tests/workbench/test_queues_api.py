"""Queues and routing rules over /api/v1/queues: the page's checks, 422 with the reason, audit, one permission."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.cases.models import Case
from bastion.clock import ManualClock
from tests.conftest import api_key, api_login


def _lead(client: TestClient, clock: ManualClock, user_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"X-CSRF-Token": api_login(client, user_factory(Role.LEAD), clock)}


def test_queues_are_listed_created_changed_and_deleted(client: TestClient, sessions, clock: ManualClock,
                                                       user_factory) -> None:  # type: ignore[no-untyped-def]
    h = _lead(client, clock, user_factory)
    reviewer = user_factory(Role.REVIEWER)
    made = client.post("/api/v1/queues", json={"name": "  Hindi  language ", "members": [reviewer.id]}, headers=h)
    assert made.status_code == 201, made.text
    queue = made.json()
    assert queue["name"] == "Hindi language" and queue["members"] == [reviewer.id]
    assert client.post("/api/v1/queues", json={"name": "Hindi language"}, headers=h).status_code == 422
    assert client.post("/api/v1/queues", json={"name": "Bad", "members": [999999]}, headers=h).status_code == 422
    changed = client.patch(f"/api/v1/queues/{queue['id']}", json={"description": "Hindi uploads"}, headers=h).json()
    assert changed["name"] == "Hindi language" and changed["description"] == "Hindi uploads"
    assert [q["name"] for q in client.get("/api/v1/queues").json()] == ["Hindi language"]
    with sessions() as db:  # an open case in the queue stops its deletion
        db.add(Case(account_id="a", status="new", opened_at=clock.now(), updated_at=clock.now(), queue_id=queue["id"]))
        db.commit()
    refused = client.delete(f"/api/v1/queues/{queue['id']}", headers=h)
    assert refused.status_code == 422 and "move them" in refused.json()["detail"]
    with sessions() as db:
        db.scalar(select(Case)).status = "closed"  # type: ignore[union-attr]
        db.commit()
    assert client.delete(f"/api/v1/queues/{queue['id']}", headers=h).status_code == 204
    assert client.get(f"/api/v1/queues/{queue['id']}").status_code == 404
    with sessions() as db:
        done = {r.action for r in db.scalars(select(AuditRecord).where(AuditRecord.action.like("queue.%")))}
    assert {"queue.create", "queue.members", "queue.update", "queue.delete"} <= done


def test_rules_are_checked_as_on_the_page(client: TestClient, sessions, clock: ManualClock,
                                          user_factory) -> None:  # type: ignore[no-untyped-def]
    h = _lead(client, clock, user_factory)
    a = client.post("/api/v1/queues", json={"name": "A"}, headers=h).json()["id"]
    b = client.post("/api/v1/queues", json={"name": "B"}, headers=h).json()["id"]
    never = client.post("/api/v1/queues/rules", json={"name": "odd", "queue_id": a, "sources": ["complaint"],
                                                      "max_distance": 5}, headers=h)
    assert never.status_code == 422 and "would never match" in never.json()["detail"]
    forward = client.post("/api/v1/queues/rules", json={"name": "a to b", "queue_id": b, "from_queue_id": a,
                                                        "kinds": ["csam"]}, headers=h)
    assert forward.status_code == 201, forward.text
    loop = client.post("/api/v1/queues/rules", json={"name": "b to a", "queue_id": a, "from_queue_id": b}, headers=h)
    assert loop.status_code == 422 and "loop" in loop.json()["detail"] and "A → B → A" in loop.json()["detail"]
    rule = forward.json()
    changed = client.put(f"/api/v1/queues/rules/{rule['id']}", json={**{k: rule[k] for k in (
        "name", "queue_id", "from_queue_id", "kinds")}, "max_distance": 4}, headers=h)
    assert changed.status_code == 200 and changed.json()["max_distance"] == 4
    assert [r["name"] for r in client.get("/api/v1/queues/rules").json()] == ["a to b"]
    assert client.put("/api/v1/queues/rules/9999", json={"name": "x", "queue_id": a}, headers=h).status_code == 404
    assert client.delete(f"/api/v1/queues/rules/{rule['id']}", headers=h).status_code == 204
    assert client.get("/api/v1/queues/rules").json() == []
    with sessions() as db:
        done = [r.action for r in db.scalars(select(AuditRecord).where(AuditRecord.action.like("queue.rule%")))]
    assert done.count("queue.rule_saved") == 2 and "queue.rule_deleted" in done


def test_only_queue_managers_reach_the_routes(client: TestClient, sessions, clock: ManualClock,
                                              user_factory) -> None:  # type: ignore[no-untyped-def]
    api_login(client, user_factory(Role.REVIEWER), clock)
    assert client.get("/api/v1/queues").status_code == 403
    assert client.get("/api/v1/queues/rules").status_code == 403
    keyed = TestClient(client.app)
    headers = api_key(client, sessions, clock, role=Role.LEAD, scopes=["queues.manage"])
    assert keyed.get("/api/v1/queues", headers=headers).status_code == 200
    assert keyed.post("/api/v1/queues", json={"name": "By key"}, headers=headers).status_code == 201
