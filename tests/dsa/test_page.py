"""The page listing DSA statements and where their filing stands: compliance staff only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.dsa.build import record_new
from tests.conftest import api_login, make_user
from tests.dsa.seed import enforced_case, notice_for


def test_compliance_staff_see_each_statement_and_its_state(app, client: TestClient,  # type: ignore[no-untyped-def]
                                                           sessions: sessionmaker[Session],
                                                           clock: ManualClock) -> None:
    with sessions() as session, session.begin():
        sent = notice_for(session, clock, enforced_case(session, clock, account="eu-1"))
        barred = notice_for(session, clock, enforced_case(session, clock, account="eu-2"),
                            withheld="Non-disclosure order on legal request LR-2026-000009.")
        record_new(session, clock)
        puids = {sent.id: f"bastion-{sent.reference}", barred.id: f"bastion-{barred.reference}"}
    officer = make_user(sessions, clock, Role.COMPLIANCE)
    api_login(client, officer, clock)
    page = client.get("/dsa/statements")
    assert page.status_code == 200, page.text
    assert f'data-puid="{puids[sent.id]}" data-status="pending"' in page.text
    assert f'data-puid="{puids[barred.id]}" data-status="held"' in page.text
    assert "Non-disclosure order on legal request LR-2026-000009." in page.text
    held = client.get("/dsa/statements?status=held")
    assert puids[barred.id] in held.text and puids[sent.id] not in held.text
    assert "Pending (1)" in held.text and "Held (1)" in held.text


def test_reviewers_may_not_see_it(app, client: TestClient, sessions: sessionmaker[Session],  # type: ignore[no-untyped-def]
                                  clock: ManualClock) -> None:
    reviewer = make_user(sessions, clock, Role.REVIEWER)
    api_login(client, reviewer, clock)
    assert client.get("/dsa/statements").status_code == 403


def test_a_refused_statement_is_filed_again_once_fixed_and_a_held_one_released_with_a_reason(
        app, client: TestClient, sessions: sessionmaker[Session], clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bastion.audit.models import AuditRecord
    from bastion.dsa.models import DsaStatement
    from bastion.orgsettings import set_value

    with sessions() as session, session.begin():
        set_value(session, "dsa.puid_prefix", "our platform", actor="admin", clock=clock)
        notice_for(session, clock, enforced_case(session, clock, account="eu-1"))
        notice_for(session, clock, enforced_case(session, clock, account="eu-2"),
                   withheld="Non-disclosure order on legal request LR-2026-000009.")
        refused, held = record_new(session, clock)
        assert refused.status == "refused" and held.status == "held"
        refused_id, held_id = refused.id, held.id
    csrf = {"X-CSRF-Token": api_login(client, make_user(sessions, clock, Role.COMPLIANCE), clock)}
    again = client.post(f"/dsa/statements/{refused_id}/refile", headers=csrf, follow_redirects=False)
    assert again.status_code == 303 and "error=" not in again.headers["location"]
    with sessions() as session:
        assert session.get(DsaStatement, refused_id).status == "refused"  # the prefix is still wrong
    with sessions() as session, session.begin():
        set_value(session, "dsa.puid_prefix", "our-platform", actor="admin", clock=clock)
    client.post(f"/dsa/statements/{refused_id}/refile", headers=csrf)
    no_reason = client.post(f"/dsa/statements/{held_id}/refile", headers=csrf, follow_redirects=False)
    assert "error=" in no_reason.headers["location"] and "non-disclosure" in no_reason.headers["location"]
    client.post(f"/dsa/statements/{held_id}/refile", data={"note": "The order ended on 2026-01-01."}, headers=csrf)
    with sessions() as session:
        fixed, released = session.get(DsaStatement, refused_id), session.get(DsaStatement, held_id)
        assert fixed.status == "pending" and fixed.puid.startswith("our-platform-SOR-") and fixed.last_error == ""
        assert released.status == "pending" and released.held_reason == ""
        notes = [a.details for a in session.scalars(select(AuditRecord).where(
            AuditRecord.action == "dsa.statement.refile"))]
        assert len(notes) == 3 and any("The order ended" in str(d) for d in notes)
