"""Queues over HTTP: assignment limits what a reviewer sees (pages and API), managing rules, moves, NCII complaints."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.cases import routing, sampling
from bastion.cases.models import Case, QualitySample
from bastion.clock import ManualClock
from tests.conftest import api_key, api_login


def _two_queues(sessions: sessionmaker[Session], clock: ManualClock, member: int) -> dict[str, int]:
    """Queue 'Hindi' (with `member` assigned) and 'Other', one case in each, plus an unrouted case."""
    with sessions() as db:
        hindi = routing.create_queue(db, name="Hindi", actor="lead", clock=clock)
        other = routing.create_queue(db, name="Other", actor="lead", clock=clock)
        routing.set_members(db, hindi, [member], actor="lead", clock=clock)
        now = clock.now()
        ids = {}
        for name, queue in (("in-hindi", hindi.id), ("in-other", other.id), ("unrouted", None)):
            case = Case(account_id=name, status="new", priority=5, opened_at=now, updated_at=now,
                        removal_due_at=now + timedelta(hours=24), queue_id=queue)
            db.add(case)
            db.flush()
            ids[name] = case.id
        db.commit()
        return {**ids, "hindi": hindi.id, "other": other.id}


def test_a_reviewer_sees_only_their_queues_on_the_page_and_through_the_api(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    ids = _two_queues(sessions, clock, reviewer.id)
    csrf = {"X-CSRF-Token": api_login(client, reviewer, clock)}
    page = client.get("/review").text.split('id="queue"')[1]
    assert "in-hindi" in page and "unrouted" in page and "in-other" not in page
    picker = client.get("/review").text.split('id="queue-picker"')[1].split("</form>")[0]
    assert "Hindi" in picker and "Other" not in picker  # the picker offers only their queues
    only = client.get("/review", params={"queue": ids["hindi"]}).text.split('id="queue"')[1]
    assert "in-hindi" in only and "unrouted" not in only
    assert client.get("/review", params={"queue": ids["other"]}).status_code == 422
    assert client.get(f"/cases/{ids['in-other']}").status_code == 404
    assert client.get(f"/cases/{ids['in-hindi']}").status_code == 200

    listed = {c["account_id"] for c in client.get("/api/v1/cases").json()}
    assert listed == {"in-hindi", "unrouted"}
    assert client.get(f"/api/v1/cases/{ids['in-other']}").status_code == 404
    assert client.post(f"/api/v1/cases/{ids['in-other']}/claim", headers=csrf).status_code == 404
    taken = client.post("/api/v1/cases/next", params={"queue_id": ids["hindi"]}, headers=csrf).json()
    assert taken["account_id"] == "in-hindi" and taken["queue_id"] == ids["hindi"]

    lead = user_factory(Role.LEAD)
    lead_client = TestClient(client.app)
    api_login(lead_client, lead, clock)
    assert {c["account_id"] for c in lead_client.get("/api/v1/cases").json()} == {"in-hindi", "in-other", "unrouted"}


def test_moving_a_case_through_the_api_and_the_page_is_audited(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    lead = user_factory(Role.LEAD)
    ids = _two_queues(sessions, clock, lead.id)
    csrf = api_login(client, lead, clock)
    refused = client.post(f"/api/v1/cases/{ids['unrouted']}/move", json={"queue_id": ids["other"]},
                          headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422 and "Say why" in refused.json()["detail"]
    moved = client.post(f"/api/v1/cases/{ids['unrouted']}/move", json={"queue_id": ids["other"], "reason": "triage"},
                        headers={"X-CSRF-Token": csrf})
    assert moved.status_code == 200 and moved.json()["queue_id"] == ids["other"]
    back = client.post(f"/cases/{ids['unrouted']}/move", data={"queue_id": "", "reason": "wrong queue",
                                                              "csrf_token": csrf}, follow_redirects=False)
    assert back.status_code == 303 and "error" not in back.headers["location"]
    page = client.get(f"/cases/{ids['unrouted']}").text
    assert 'id="case-queue">General queue<' in page
    with sessions() as db:
        moves = db.scalars(select(AuditRecord).where(AuditRecord.action == "case.moved")
                           .order_by(AuditRecord.seq)).all()
        assert [(json.loads(m.details)["to_queue"], json.loads(m.details)["reason"]) for m in moves] == [
            ("Other", "triage"), ("general", "wrong queue")]
        assert all(m.actor == lead.username for m in moves)


def test_leads_manage_queues_and_rules_with_typed_controls_and_refusals_say_why(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    reviewer_client = TestClient(client.app)
    api_login(reviewer_client, reviewer, clock)
    assert reviewer_client.get("/review/queues").status_code == 403
    csrf = api_login(client, user_factory(Role.LEAD), clock)
    for name in ("Exact", "Perceptual"):
        assert client.post("/review/queues", data={"name": name, "csrf_token": csrf}).status_code == 200
    page = client.get("/review/queues").text
    queue_ids = dict((name, int(qid)) for qid, name in re.findall(r'<option value="(\d+)">(\w+)</option>', page))
    assert 'type="number" name="max_distance"' in page and 'type="checkbox" name="sources"' in page
    saved = client.post("/review/queues/rules", data={
        "name": "exact to Exact", "position": "10", "queue_id": queue_ids["Exact"], "enabled": "true",
        "signal": "exact", "sources": ["bank", "exchange"], "csrf_token": csrf})
    assert saved.status_code == 200 and "exact to Exact" in saved.text
    never = client.post("/review/queues/rules", data={
        "name": "complaint distance", "position": "20", "queue_id": queue_ids["Perceptual"], "enabled": "true",
        "sources": "complaint", "max_distance": "4", "csrf_token": csrf})
    assert 'id="queues-error"' in never.text and "would never match" in never.text
    client.post("/review/queues/rules", data={"name": "E to P", "queue_id": queue_ids["Perceptual"], "enabled": "true",
                                               "from_queue_id": queue_ids["Exact"], "signal": "exact",
                                               "csrf_token": csrf})
    loop = client.post("/review/queues/rules", data={"name": "P to E", "queue_id": queue_ids["Exact"],
                                                      "enabled": "true", "from_queue_id": queue_ids["Perceptual"],
                                                      "signal": "exact", "csrf_token": csrf})
    assert "loop between queues: Exact → Perceptual → Exact" in loop.text
    typo = client.post("/review/queues/rules", data={"name": "x", "queue_id": queue_ids["Exact"],
                                                      "max_distance": "near", "csrf_token": csrf})
    assert "whole number" in typo.text
    with sessions() as db:
        assert [r.name for r in routing.rules(db)] == ["E to P", "exact to Exact"]
        assert db.scalar(select(AuditRecord.actor).where(AuditRecord.action == "queue.rule_saved").limit(1))


def test_an_ncii_complaint_from_the_platform_opens_the_top_case_in_review(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    with sessions() as db:
        now = clock.now()
        for i in range(3):  # grave matches already waiting, on an earlier clock
            db.add(Case(account_id=f"acct-{i}", status="new", priority=180, opened_at=now - timedelta(hours=3),
                        updated_at=now, removal_due_at=now + timedelta(hours=20)))
        db.commit()
    headers = api_key(client, sessions, clock)
    filed = client.post("/api/v1/complaints", headers=headers, json={"category": "ncii", "content_ref": "post-2004"})
    assert filed.status_code == 201, filed.text
    reviewer = user_factory(Role.REVIEWER)
    reviewer_client = TestClient(client.app)
    reviewer_csrf = api_login(reviewer_client, reviewer, clock)
    first = reviewer_client.get("/api/v1/cases").json()[0]
    assert (first["kind"], first["source"], first["source_ref"]) == ("ncii", "complaint", filed.json()["reference"])
    review = reviewer_client.get("/review").text.split('id="queue"')[1]
    assert review.index(f"#{first['id']}") < review.index("acct-0")
    taken = reviewer_client.post("/api/v1/cases/next", headers={"X-CSRF-Token": reviewer_csrf}).json()
    assert taken["id"] == first["id"]  # the reviewer's next case is the complaint
    page = reviewer_client.get(f"/cases/{first['id']}").text
    assert "Intimate or morphed imagery" in page and "Rule 3(2)(b)" in page
    assert "<option value=\"intimate\">" in page and "<option value=\"A1\">" not in page
    assert 'src="/cases/' in page and "/thumb" in page  # media only as the blurred thumbnail, as for matches
    assert f"from complaint {filed.json()['reference']} (no bank match)" in page and "distance 0" not in page


def test_leads_read_agreement_in_neutral_words(client: TestClient, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                user_factory) -> None:
    first, second = user_factory(Role.REVIEWER), user_factory(Role.REVIEWER)
    with sessions() as db:
        now = clock.now()
        for n, (outcome, status) in enumerate((("confirmed A1", "agreed"), ("confirmed A1", "to_lead"))):
            case = Case(account_id=f"q{n}", status="confirmed", priority=1, opened_at=now, updated_at=now,
                        classification="A1")
            db.add(case)
            db.flush()
            db.add(QualitySample(case_id=case.id, first_reviewer=first.id, first_outcome=outcome, status=status,
                                 second_reviewer=second.id, second_outcome="confirmed A1" if status == "agreed"
                                 else "dismissed", sampled_at=now))
        db.add(Case(account_id="w", status="dismissed", priority=1, opened_at=now, updated_at=now))
        db.commit()
        waiting_case = db.scalar(select(Case.id).where(Case.account_id == "w"))
        db.add(QualitySample(case_id=waiting_case, first_reviewer=first.id, first_outcome="dismissed",
                             sampled_at=now))
        db.commit()
    csrf = api_login(client, user_factory(Role.LEAD), clock)
    page = client.get("/review/quality").text
    rates = page.split('id="agreement-reviewers"')[1].split("</table>")[0]
    assert first.username in rates and "50%" in rates
    assert "Different opinions to settle" in page and "dismissed" in page
    content = page.split("<h1>Quality sampling</h1>")[1].lower()
    for word in ("error", "fail", "wrong", "worst", "mistake", "accuracy"):
        assert word not in content, word
    second_client = TestClient(client.app)
    second_csrf = api_login(second_client, second, clock)
    with sessions() as db:
        sample = db.scalar(select(QualitySample).where(QualitySample.status == "waiting"))
        assert sample is not None
    blind = second_client.get(f"/review/quality/{sample.id}").text
    assert first.username not in blind and "First opinion" not in blind  # blind: the first outcome stays hidden
    assert 'id="second-opinion"' in blind
    second_client.post(f"/review/quality/{sample.id}", data={"outcome": "dismissed", "csrf_token": second_csrf})
    settled = client.post(f"/review/quality/{sample.id - 1}/settle", data={"note": "A1 stands", "csrf_token": csrf})
    assert settled.status_code == 200
    with sessions() as db:
        assert db.get(QualitySample, sample.id).status == "agreed"  # type: ignore[union-attr]
        assert db.get(QualitySample, sample.id - 1).status == "settled"  # type: ignore[union-attr]
        assert sampling.by_reviewer(db)[0].compared == 3
