"""Bulk decisions over HTTP: selection, confirmation (no media), a stale selection shown again, the act."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.cases import routing, service
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.orgsettings import set_value
from bastion.scanning.models import Scan
from tests.conftest import api_login


def _cases(sessions: sessionmaker[Session], clock: ManualClock, accounts: list[str]) -> list[int]:
    with sessions() as db:
        set_value(db, "review.action_without_viewing", "A1", actor="admin", clock=clock)
        ids = []
        for account in accounts:
            scan = Scan(created_at=clock.now(), source="upload", content_id=f"post-{account}", account_id=account,
                        metadata_json="{}", md5="ab" * 16, sha1="0" * 40, sha256="0" * 64, pdq="f" * 64)
            db.add(scan)
            db.flush()
            match = SimpleNamespace(bank_id=1, bank_name="KNOWN", source="industry", entry_id=7, signal_type="pdq",
                                    distance=0, classification="A1")
            ids.append(service.open_or_extend(db, account_id=account, scan_id=scan.id, content_id=scan.content_id,
                                              matches=[match], media_ref="", clock=clock).id)
        db.commit()
        return ids


def _form(page: str) -> dict[str, object]:
    form = page.split('id="bulk-apply-form"')[1].split("</form>")[0]
    fields: dict[str, object] = {}
    for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form):
        value = html.unescape(value)
        if name == "items":
            fields.setdefault("items", []).append(value)  # type: ignore[union-attr]
        else:
            fields[name] = value
    return fields


CHOICE = {"entry": "7", "decision": "confirm", "classification": "A1", "remove": "true", "restrict": "suspend",
          "report": "true"}


def test_bulk_confirm_shows_exactly_what_happens_refuses_a_stale_selection_then_applies(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    first, second = _cases(sessions, clock, ["acct-1", "acct-2"])
    reviewer, rival = user_factory(Role.REVIEWER), user_factory(Role.REVIEWER)
    csrf = api_login(client, reviewer, clock)
    listing = client.get("/review/bulk", params={"entry": 7}).text
    assert "acct-1" in listing and "acct-2" in listing and "abab" in listing and "<img" not in listing
    with sessions() as db:
        items = list(db.scalars(select(CaseItem.id).order_by(CaseItem.id)))
    shown = client.post("/review/bulk/preview", data={**CHOICE, "items": items, "csrf_token": csrf})
    assert shown.status_code == 200 and "<img" not in shown.text
    plan = shown.text.split('id="bulk-plan-table"')[1]
    assert "remove content post-acct-1" in plan and "suspend account acct-2" in plan
    assert "CyberTipline report draft" in plan
    form = _form(shown.text)
    with sessions() as db:  # someone else takes a case before the reviewer applies
        from bastion.auth.models import User

        service.claim(db, db.get(Case, second), db.get(User, rival.id), clock=clock)  # type: ignore[arg-type]
        db.commit()
    stale = client.post("/review/bulk/apply", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert stale.status_code == 409
    assert f"Case {second} is now held by {rival.username}." in stale.text.split('id="bulk-changed"')[1]
    with sessions() as db:
        assert {i.decision for i in db.scalars(select(CaseItem))} == {"pending"}
        service.release(db, db.get(Case, second), db.get(User, rival.id), clock=clock)  # type: ignore[arg-type]
        db.commit()
    shown = client.post("/review/bulk/preview", data={**CHOICE, "items": items, "csrf_token": csrf})
    done = client.post("/review/bulk/apply", data={**_form(shown.text), "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/review/bulk?entry=7&done=2"
    with sessions() as db:
        assert {db.get(Case, c).status for c in (first, second)} == {"confirmed"}  # type: ignore[union-attr]
        actions = [r.action for r in db.scalars(select(AuditRecord))]
        assert actions.count("case.bulk_item") == 2 and "case.bulk_refused" in actions


def test_bulk_pages_keep_to_the_reviewers_queues_and_role(client: TestClient, sessions, clock: ManualClock,
                                                          user_factory) -> None:  # type: ignore[no-untyped-def]
    hidden, _ = _cases(sessions, clock, ["acct-1", "acct-2"])
    with sessions() as db:
        queue = routing.create_queue(db, name="Specialists", actor="lead", clock=clock)
        routing.move(db, db.get(Case, hidden), queue.id, actor="lead", reason="specialist", clock=clock)  # type: ignore[arg-type]
        db.commit()
        hidden_item = db.scalar(select(CaseItem.id).where(CaseItem.case_id == hidden))
    reviewer = user_factory(Role.REVIEWER)
    csrf = api_login(client, reviewer, clock)
    listing = client.get("/review/bulk", params={"entry": 7}).text.split('id="bulk-items"')[1]
    assert "acct-2" in listing and "acct-1" not in listing
    refused = client.post("/review/bulk/preview", data={**CHOICE, "items": [hidden_item], "csrf_token": csrf})
    assert refused.status_code == 404 and "in your queues" in refused.text
    legal = TestClient(client.app)
    api_login(legal, user_factory(Role.LEGAL), clock)
    assert legal.get("/review/bulk", params={"entry": 7}).status_code == 403


def test_the_case_page_says_which_rule_routed_it_and_groups_the_accounts_other_items(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    with sessions() as db:
        queue = routing.create_queue(db, name="Exact", actor="lead", clock=clock)
        routing.save_rule(db, routing.RuleInput(name="pdq close", queue_id=queue.id, max_distance=5), actor="lead",
                          clock=clock)
        db.commit()
    older, = _cases(sessions, clock, ["acct-1"])
    with sessions() as db:
        db.get(Case, older).status = "dismissed"  # type: ignore[union-attr]
        db.commit()
    newer, = _cases(sessions, clock, ["acct-1"])
    api_login(client, user_factory(Role.LEAD), clock)
    page = client.get(f"/cases/{newer}").text
    assert "Routed to Exact by rule “pdq close”." in page
    related = page.split('id="related-items"')[1].split("</div>")[0]
    assert f"Case #{older}" in related and "KNOWN #7 pdq distance 0" in related and "<img" not in related
    assert '/review/bulk?entry=7' in page
