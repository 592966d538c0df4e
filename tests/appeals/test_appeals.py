"""Statements of reasons and appeals, end to end on the demo platform (IT Rules 3A, 4(8); DSA Arts. 17, 20)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.appeals.models import Appeal
from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.banks.models import BankEntry
from bastion.cases.models import CaseEvent
from bastion.clock import ManualClock
from bastion.legal.models import LegalRequest, RequestAccount
from bastion.mail.models import MailMessage
from bastion.notices.models import NoticeRecord
from bastion.orgsettings import set_value
from bastion.platform import HttpPlatformConnector
from tests.appeals.flow import ACCOUNT, POST, confirm_case, run_timers
from tests.conftest import PLATFORM_SECRET, api_key, api_login


def _setting(sessions, clock: ManualClock, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        set_value(session, key, value, actor="test", clock=clock)
        session.commit()


def _platform_actions(platform: HttpPlatformConnector) -> list[dict]:
    """What the demo platform received, from its demo-only admin API (signed, like every call)."""
    import httpx

    from bastion.platform import SigningAuth

    with httpx.Client(base_url=platform.base_url, auth=SigningAuth(PLATFORM_SECRET)) as admin:
        return list(admin.get("/_demo/actions").json()["items"])


def test_a_statement_of_reasons_reaches_the_user_with_the_ground_and_the_route_of_appeal(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    _setting(sessions, clock, "notices.withhold_csam", "false")
    case_id = confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    run_timers(app, sessions, clock)
    record = db.scalar(select(NoticeRecord).where(NoticeRecord.subject == f"case:{case_id}"))
    assert record is not None and record.status == "queued" and record.reference.startswith("SOR-")
    sent = [a for a in _platform_actions(platform) if a["kind"] == "notify_account"]
    assert len(sent) == 1 and sent[0]["target_id"] == ACCOUNT
    notice = sent[0]["params"]
    assert notice["kind"] == "statement_of_reasons" and notice["reference"] == record.reference
    assert "removed one of your posts and suspended your account" in notice["body"]
    assert "Rule 3(1)(b)(ii)" in notice["facts"]["ground"]  # an Indian user by default: Indian law
    assert record.reference in notice["body"] and "Rule 3(2)(a)(i)" in notice["body"]
    assert notice["facts"]["decided_by_automated_means"].startswith("no")
    run_timers(app, sessions, clock)  # running the timers again sends nothing twice
    assert len([a for a in _platform_actions(platform) if a["kind"] == "notify_account"]) == 1


def test_csam_statements_are_withheld_by_policy_and_the_withholding_is_recorded(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    case_id = confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    run_timers(app, sessions, clock)
    record = db.scalar(select(NoticeRecord).where(NoticeRecord.subject == f"case:{case_id}"))
    assert record is not None and record.status == "withheld" and "notices.withhold_csam" in record.withheld_reason
    assert not [a for a in _platform_actions(platform) if a["kind"] == "notify_account"]
    audit = db.scalar(select(AuditRecord).where(AuditRecord.action == "notice.withhold"))
    assert audit is not None and audit.subject == f"case:{case_id}"


def test_a_non_disclosure_order_withholds_the_statement_even_where_policy_would_send_it(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    from bastion.legal import catalogue, directory, intake
    from bastion.legal.schemas import RequestInput

    _setting(sessions, clock, "notices.withhold_csam", "false")
    with sessions() as session:
        catalogue.install_catalogue(session, actor="test", clock=clock)
        directory.set_agency(session, actor="test", clock=clock, name="FBI Field Office (demo)", country="US",
                             jurisdiction="US", domains="ic.fbi.gov", phone="+1 202 555 0199", phone_source="test")
        request = intake.submit(session, RequestInput(
            instrument="us_warrant", source="email", requester_email="agent@ic.fbi.gov", court="D.D.C.",
            requester_phone="+1 202 555 0123", issuing_authority="FBI Field Office (demo)", issuing_officer="SA Doe",
            case_number="21-mj-1", due_date=date(2027, 1, 20), categories=["subscriber"],
            accounts=[{"kind": "user_id", "value": ACCOUNT}], ndo=True, ndo_expires_at=date(2027, 6, 1)),
            actor="clerk", clock=clock, vault=None, document=None)
        for account in session.scalars(select(RequestAccount).where(RequestAccount.request_id == request.id)):
            account.account_id = ACCOUNT
        session.commit()
        reference = session.get(LegalRequest, request.id).reference  # type: ignore[union-attr]
    case_id = confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    run_timers(app, sessions, clock)
    record = db.scalar(select(NoticeRecord).where(NoticeRecord.subject == f"case:{case_id}"))
    assert record is not None and record.status == "withheld"
    assert "Non-disclosure order" in record.withheld_reason and reference in record.withheld_reason
    assert not [a for a in _platform_actions(platform) if a["kind"] == "notify_account"]


def test_an_appeal_reverses_the_suspension_through_the_platform_and_a_different_reviewer_must_decide(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    _setting(sessions, clock, "notices.withhold_csam", "false")
    first = user_factory(Role.REVIEWER)
    case_id = confirm_case(app, client, sessions, clock, platform, first)
    run_timers(app, sessions, clock)
    assert platform.get_account(ACCOUNT).status == "suspended" and platform.get_content(POST).status == "removed"
    sor = db.scalar(select(NoticeRecord.reference).where(NoticeRecord.subject == f"case:{case_id}"))

    machine = api_key(client, sessions, clock)
    wrong = client.post("/api/v1/appeals", json={"account_id": "acct-9999", "notice_reference": sor}, headers=machine)
    assert wrong.status_code == 404  # a notice is only appealed by the account it was sent to
    filed = client.post("/api/v1/appeals", json={"account_id": ACCOUNT, "notice_reference": sor,
                                                 "grounds": "This is my own holiday photo."}, headers=machine)
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["status"] == "received" and appeal["reference"].startswith("AP-")
    again = client.post("/api/v1/appeals", json={"account_id": ACCOUNT, "content_id": POST}, headers=machine)
    assert again.status_code == 409 and appeal["reference"] in again.json()["detail"]
    assert client.get(f"/api/v1/appeals/{appeal['reference']}", headers=machine).json()["status"] == "received"
    assert client.get(f"/api/v1/appeals/{appeal['reference']}",
                      headers=api_key(client, sessions, clock)).status_code == 404  # another client's appeal
    appeal_id = db.scalar(select(Appeal.id).where(Appeal.reference == appeal["reference"]))

    first_browser = TestClient(app)
    csrf = api_login(first_browser, first, clock)
    page = first_browser.get(f"/appeals/{appeal_id}")
    assert page.status_code == 200 and "This is my own holiday photo." in page.text
    assert 'id="appeal-not-yours"' in page.text and 'id="appeal-decide-form"' not in page.text
    refused = first_browser.post(f"/appeals/{appeal_id}/decide", data={"outcome": "reversed", "text": "Mine, reversed",
                                                                        "csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 303 and "different%20reviewer" in refused.headers["location"]
    db.expire_all()
    assert db.get(Appeal, appeal_id).status == "received"  # type: ignore[union-attr]

    second = TestClient(app)
    csrf = api_login(second, user_factory(Role.LEAD), clock)
    assert 'id="appeal-decide-form"' in second.get(f"/appeals/{appeal_id}").text
    decided = second.post(f"/appeals/{appeal_id}/decide", data={
        "outcome": "reversed", "text": "On a second look the match was wrong.", "csrf_token": csrf},
        follow_redirects=False)
    assert decided.status_code == 303 and "error" not in decided.headers["location"]
    run_timers(app, sessions, clock)

    assert platform.get_account(ACCOUNT).status == "active" and platform.get_content(POST).status == "visible"
    db.expire_all()
    own = db.scalars(select(BankEntry).where(BankEntry.external_id.like(f"case-{case_id}-item-%"))).all()
    assert own and not any(e.enabled for e in own)  # the hash Bastion added is withdrawn
    industry = db.scalars(select(BankEntry).where(BankEntry.source == "industry")).all()
    assert industry and all(e.enabled for e in industry)  # the industry list is not Bastion's to withdraw
    vault = app.state.bastion.services["evidence.vault"]
    assert vault.items_about(db, f"case:{case_id}")  # the evidence stays preserved
    letters = [a for a in _platform_actions(platform) if a["kind"] == "notify_account"
               and a["params"]["kind"] == "appeal_decision"]
    assert len(letters) == 1 and "Grievance Appellate Committee" in letters[0]["params"]["body"]
    assert "On a second look the match was wrong." in letters[0]["params"]["body"]
    kinds = {e.kind for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))}
    assert {"appeal_received", "appeal_reversed"} <= kinds


def test_an_appeal_left_undecided_is_escalated_when_its_clock_runs_out(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    _setting(sessions, clock, "grievances.officer_email", "grievance.officer@platform.example")
    confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    run_timers(app, sessions, clock)
    filed = client.post("/api/v1/appeals", json={"account_id": ACCOUNT, "content_id": POST},
                        headers=api_key(client, sessions, clock))
    assert filed.status_code == 201, filed.text
    due = filed.json()["due_at"]
    clock.advance(timedelta(days=14))
    run_timers(app, sessions, clock)
    assert db.scalar(select(AuditRecord).where(AuditRecord.action == "appeal.breach")) is None  # 15 days in India
    clock.advance(timedelta(days=1, minutes=1))
    run_timers(app, sessions, clock)
    breach = db.scalar(select(AuditRecord).where(AuditRecord.action == "appeal.breach"))
    assert breach is not None
    mail = db.scalar(select(MailMessage).where(MailMessage.kind == "appeal.breach"))
    assert mail is not None and mail.to_addrs == ["grievance.officer@platform.example"] and due[:10] in mail.text_body
    reader = TestClient(app)
    api_login(reader, user_factory(Role.LEGAL), clock)
    queue = reader.get("/appeals")
    assert filed.json()["reference"] in queue.text and 'data-overdue="yes"' in queue.text


def test_an_eu_appeal_after_six_months_is_refused_with_the_reason(
    client: TestClient, app, sessions, clock: ManualClock, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    clock.advance(timedelta(days=184))
    late = client.post("/api/v1/appeals", json={"account_id": ACCOUNT, "content_id": POST, "jurisdiction": "EU"},
                       headers=api_key(client, sessions, clock))
    assert late.status_code == 422 and "183 days" in late.json()["detail"]
    unknown = client.post("/api/v1/appeals", json={"account_id": ACCOUNT, "content_id": POST, "jurisdiction": "XX"},
                          headers=api_key(client, sessions, clock))
    assert unknown.status_code == 422 and "IN" in unknown.json()["detail"]


def test_a_trusted_flaggers_own_key_ranks_its_complaint_as_a_flaggers(
    client: TestClient, sessions, clock: ManualClock, db: Session,  # type: ignore[no-untyped-def]
) -> None:
    from bastion.grievances.models import Complaint

    flagger = api_key(client, sessions, clock, role=Role.FLAGGER)
    platform_key = api_key(client, sessions, clock)
    body = {"category": "tos", "content_ref": "https://demo.example/posts/post-2001"}
    assert client.post("/api/v1/complaints", json=body, headers=flagger).status_code == 201
    assert client.post("/api/v1/complaints", json=body, headers=platform_key).status_code == 201
    channels = [c.channel for c in db.scalars(select(Complaint).order_by(Complaint.id))]
    assert channels == ["flagger", "platform"]
    assert client.post("/api/v1/scan", files={"file": ("x.jpg", b"x")}, headers=flagger).status_code == 403


def test_a_complaint_naming_content_the_platform_does_not_have_is_told_so_at_once(
    client: TestClient, sessions, clock: ManualClock, db: Session,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    from bastion.grievances.models import Complaint

    headers = api_key(client, sessions, clock)
    missing = client.post("/api/v1/complaints", json={"category": "tos", "content_ref": "post-404404"},
                          headers=headers)
    assert missing.status_code == 404 and "no content 'post-404404'" in missing.json()["detail"]
    assert client.post("/api/v1/complaints", json={"category": "tos", "content_ref": POST},
                       headers=headers).status_code == 201
    url = client.post("/api/v1/complaints", json={"category": "tos", "content_ref": "https://elsewhere.example/x"},
                      headers=headers)
    assert url.status_code == 201  # an address is not checked: it may point anywhere
    assert [c.content_ref for c in db.scalars(select(Complaint).order_by(Complaint.id))] == [
        POST, "https://elsewhere.example/x"]


def test_a_reversal_waits_until_the_cases_actions_have_reached_the_platform(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    """Otherwise a removal still retrying could land after its undo and leave the post down."""
    case_id = confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    filed = client.post("/api/v1/appeals", json={"account_id": ACCOUNT, "content_id": POST},
                        headers=api_key(client, sessions, clock))
    appeal_id = db.scalar(select(Appeal.id).where(Appeal.reference == filed.json()["reference"]))
    lead = TestClient(app)
    csrf = api_login(lead, user_factory(Role.LEAD), clock)
    early = lead.post(f"/appeals/{appeal_id}/decide", data={"outcome": "reversed", "text": "Wrong match.",
                                                            "csrf_token": csrf}, follow_redirects=False)
    assert "still%20being%20delivered" in early.headers["location"]
    run_timers(app, sessions, clock)  # the removal, suspension and preservation reach the platform
    late = lead.post(f"/appeals/{appeal_id}/decide", data={"outcome": "reversed", "text": "Wrong match.",
                                                           "csrf_token": csrf}, follow_redirects=False)
    assert "error" not in late.headers["location"]
    run_timers(app, sessions, clock)
    assert platform.get_content(POST).status == "visible"
    assert db.scalar(select(CaseEvent.kind).where(CaseEvent.case_id == case_id,
                                                  CaseEvent.kind == "appeal_reversed")) == "appeal_reversed"
