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
