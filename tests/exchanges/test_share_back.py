"""Share-back: reviewers' decisions go back to the exchanges as hashes and feedback, through the outbox.

Real case decisions (claimed, viewed, confirmed or rejected through `bastion.cases.service`) on
entries an exchange shared; the `exchanges.share` pass; python-threatexchange's clients sending to
the stand-ins over HTTP. A contribution that needs a second approver waits for a different person;
a false positive sends the exchange's negative feedback; nothing is sent twice; media never leaves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.cases import service as cases
from bastion.cases.enforce import OWN_REVIEW_SOURCE, own_bank_name
from bastion.cases.models import Case
from bastion.clock import ManualClock
from bastion.errors import InvalidInput, PermissionDenied
from bastion.exchanges import service, sharing, tasks
from bastion.exchanges.contribute import share_pass
from bastion.exchanges.fetch import run_fetch
from bastion.exchanges.models import AWAITING_APPROVAL, ExchangeContribution, ExchangeItem
from bastion.exchanges.sharing import Sharing
from bastion.executor import TaskContext
from bastion.matching.banked import BankMatch
from tests.exchanges.conftest import (
    LOOPBACK,
    NCMEC_PASSWORD,
    NCMEC_USER,
    SECRET,
    STOPNCII_KEYS,
    TE_GROUP,
    TE_TOKEN,
    md5_values,
    pdq_values,
)


def context(sessions: sessionmaker[Session], clock: ManualClock) -> TaskContext:
    ctx = TaskContext(sessions=sessions, clock=clock, services={})
    tasks.wire(ctx.services, SECRET, LOOPBACK)
    return ctx


def add_and_fetch(sessions: sessionmaker[Session], clock: ManualClock, api: str, settings: dict[str, Any],
                  credentials: dict[str, str], share: Sharing) -> int:
    with sessions() as session:
        banks.create_bank(session, name="SHARED", actor="test", clock=clock)
        exchange = service.add_exchange(session, name="FEED", api=api, settings=settings, bank_names=["SHARED"],
                                        credentials=credentials, fetch_every_minutes=30, actor="admin", clock=clock,
                                        secret=SECRET, policy=LOOPBACK)
        session.commit()
        exchange_id = exchange.id
    assert run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=LOOPBACK).status == "ok"
    with sessions() as session:
        sharing.set_sharing(session, service.get_exchange(session, "FEED"), share, actor="admin", clock=clock)
        session.commit()
    clock.advance(timedelta(seconds=1))
    return exchange_id


def decide(sessions: sessionmaker[Session], clock: ManualClock, reviewer_id: int, upstream_id: str, *,
           confirm: bool, scan_id: int = 1) -> int:
    """A match on the entry the exchange's record made, reviewed and decided by `reviewer_id`; the case item id."""
    with sessions() as session:
        held = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == upstream_id))
        assert held is not None and held.entry_id is not None
        value = next(iter(__import__("json").loads(held.signals_json).values()))
        match = BankMatch(held.bank_id, "SHARED", "match", held.entry_id, held.entry_id, "pdq", value, 0, "A1",
                          "exchange:FEED", upstream_id)
        case = cases.open_or_extend(session, account_id=f"acct-{scan_id}", scan_id=scan_id,
                                    content_id=f"post-{scan_id}", matches=[match], media_ref="", clock=clock)
        session.commit()
        reviewer = session.get(User, reviewer_id)
        assert reviewer is not None
        cases.claim(session, case, reviewer, clock=clock)
        item = cases.items_of(session, case.id)[0]
        cases.mark_viewed(session, item)
        if confirm:
            cases.confirm_item(session, case, item, reviewer, classification="A1", annotations=[], clock=clock)
        else:
            cases.reject_item(session, case, item, reviewer, reason="a holiday photo", disable_entry=False,
                              clock=clock)
        session.commit()
        return item.id


def contributions(sessions: sessionmaker[Session]) -> list[ExchangeContribution]:
    with sessions() as session:
        return list(session.scalars(select(ExchangeContribution).order_by(ExchangeContribution.id)))


def test_a_confirmed_match_goes_to_ncmec_only_once_a_second_person_approves(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: Any, user_factory: Any) -> None:
    pdqs = pdq_values(2, seed=61)
    for n, value in enumerate(pdqs):
        ncmec.put(f"e{n}", {"pdq": value}, at=clock.now() - timedelta(hours=1))
    add_and_fetch(sessions, clock, "ncmec", {"environment": "test_Industry", "base_url": ncmec.base_url},
                  {"user": NCMEC_USER, "password": NCMEC_PASSWORD},
                  Sharing(confirmed=True, false_positive=True, second_approver=True))
    alice, bob = user_factory(Role.REVIEWER), user_factory(Role.LEAD)
    item_id = decide(sessions, clock, alice.id, "7-e0", confirm=True)
    ctx = context(sessions, clock)

    first = share_pass(ctx)
    assert (first.proposed, first.sent) == (1, [])
    [waiting] = contributions(sessions)
    assert (waiting.status, waiting.kind, waiting.subject, waiting.proposer_id) == (
        AWAITING_APPROVAL, "confirmed", f"case_item:{item_id}", alice.id)
    assert ncmec.feedback == []  # nothing leaves before the second person

    with sessions() as session, pytest.raises(PermissionDenied):
        sharing.approve(session, waiting.id, approver_id=alice.id, actor=alice.username, clock=clock)
    with sessions() as session:
        sharing.approve(session, waiting.id, approver_id=bob.id, actor=bob.username, clock=clock)
        session.commit()
    second = share_pass(ctx)
    assert (second.proposed, second.sent) == (0, [waiting.id])
    assert ncmec.feedback == [{"member_id": 7, "entry_id": "e0", "fingerprint": "PDQ", "vote": "affirmative",
                               "reasons": []}]
    [sent] = contributions(sessions)
    assert sent.status == "sent" and sent.approved_by == bob.username and sent.result == {
        "feedback": "upvote", "fingerprint": "PDQ"}

    again = share_pass(ctx)  # the same decision is never shared twice
    assert (again.proposed, again.sent) == (0, []) and len(ncmec.feedback) == 1
    with sessions() as session:
        actions = [r.action for r in session.scalars(select(AuditRecord).where(
            AuditRecord.subject == f"case_item:{item_id}").order_by(AuditRecord.seq))]
    assert actions == ["exchange.contribution", "exchange.contribution_approve", "exchange_contribution.sent"]


def test_a_false_positive_sends_ncmecs_negative_feedback_with_its_reason(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: Any, user_factory: Any) -> None:
    ncmec.put("e0", {"pdq": pdq_values(1, seed=62)[0], "md5": md5_values(1, seed=62)[0]},
              at=clock.now() - timedelta(hours=1))
    add_and_fetch(sessions, clock, "ncmec", {"environment": "test_Industry", "base_url": ncmec.base_url},
                  {"user": NCMEC_USER, "password": NCMEC_PASSWORD}, Sharing(false_positive=True))
    reviewer = user_factory(Role.REVIEWER)
    decide(sessions, clock, reviewer.id, "7-e0", confirm=False)
    report = share_pass(context(sessions, clock))
    assert (report.proposed, len(report.sent)) == (1, 1), contributions(sessions)[0].last_error
    [vote] = ncmec.feedback
    assert (vote["entry_id"], vote["fingerprint"], vote["vote"]) == ("e0", "PDQ", "negative")
    assert vote["reasons"] and vote["reasons"][0]


@pytest.mark.parametrize("api", ["stop_ncii", "fb_threatexchange"])
def test_a_false_positive_sends_the_exchanges_negative_feedback_and_a_confirmation_its_positive_one(
        sessions: sessionmaker[Session], clock: ManualClock, user_factory: Any, api: str,
        request: pytest.FixtureRequest) -> None:
    innocent, harmful = pdq_values(2, seed=63)
    if api == "stop_ncii":
        server = request.getfixturevalue("stop_ncii")
        settings: dict[str, Any] = {"base_url": server.base_url}
        credentials = dict(STOPNCII_KEYS)
        prefix = "pdq:"
    else:
        server = request.getfixturevalue("threatexchange")
        settings, credentials, prefix = {"privacy_group": TE_GROUP, "base_url": server.base_url}, {"token": TE_TOKEN}, \
            "HASH_PDQ:"
    for value in (innocent, harmful):
        server.put(value, at=clock.now() - timedelta(hours=1))
    add_and_fetch(sessions, clock, api, settings, credentials, Sharing(confirmed=True, false_positive=True))
    reviewer = user_factory(Role.REVIEWER)
    decide(sessions, clock, reviewer.id, prefix + innocent, confirm=False, scan_id=1)
    decide(sessions, clock, reviewer.id, prefix + harmful, confirm=True, scan_id=2)
    if api == "stop_ncii":
        server.failures.count = 1  # the first send meets a 500: retried later, not lost and not doubled
    ctx = context(sessions, clock)
    first = share_pass(ctx)
    if api == "stop_ncii":
        assert len(first.retrying) == 1
        clock.advance(timedelta(minutes=5))
        share_pass(ctx)
    assert [c.status for c in contributions(sessions)] == ["sent", "sent"]
    with sessions() as session:  # a page at a time, newest first
        first_page = sharing.contributions(session, limit=1)
        second_page = sharing.contributions(session, limit=1, cursor=first_page.next_cursor)
    assert [v.kind for v in first_page.rows + second_page.rows] == ["confirmed", "false_positive"]
    assert second_page.next_cursor is None
    if api == "stop_ncii":
        assert sorted((f["hashValue"], f["feedbackValue"]) for f in server.feedback) == sorted(
            [(innocent, "NotBlocked"), (harmful, "Blocked")])
    else:
        by_value = {i.value: i for i in server.indicators.values()}
        shared = {value: [r for d in by_value[value].descriptors for r in server.reactions if r[0] == d.id]
                  for value in (innocent, harmful)}
        assert [r[1] for r in shared[innocent]] == ["DISAGREE_WITH_TAGS"]
        assert [r[1] for r in shared[harmful]] == ["HELPFUL"]


def test_confirmed_new_material_becomes_a_threatexchange_descriptor_and_known_hashes_do_not(
        sessions: sessionmaker[Session], clock: ManualClock, threatexchange: Any, user_factory: Any) -> None:
    shared = pdq_values(1, seed=64)[0]
    threatexchange.put(shared, at=clock.now() - timedelta(hours=1))
    add_and_fetch(sessions, clock, "fb_threatexchange",
                  {"privacy_group": TE_GROUP, "base_url": threatexchange.base_url}, {"token": TE_TOKEN},
                  Sharing(new_material=True, second_approver=True))
    reviewer, lead = user_factory(Role.REVIEWER), user_factory(Role.LEAD)
    fresh_pdq, fresh_md5 = pdq_values(1, seed=65)[0], md5_values(1, seed=65)[0]
    with sessions() as session:  # what a concluded case adds to the own bank (cases.enforce)
        case = Case(account_id="acct-9", status="actioned", priority=0, opened_at=clock.now(), updated_at=clock.now())
        session.add(case)
        session.flush()
        own = banks.create_bank(session, name=own_bank_name(session), source=OWN_REVIEW_SOURCE, actor="test",
                                clock=clock)
        banks.add_entry(session, own, {"pdq": fresh_pdq, "md5": fresh_md5, "sha256": "c" * 64}, actor=reviewer.username,
                        clock=clock, external_id=f"case-{case.id}-item-0", source=OWN_REVIEW_SOURCE)
        banks.add_entry(session, own, {"pdq": shared}, actor=reviewer.username, clock=clock,
                        external_id=f"case-{case.id}-item-1", source=OWN_REVIEW_SOURCE)  # the exchange knew it
        session.commit()
    ctx = context(sessions, clock)
    assert share_pass(ctx).proposed == 2  # the new pdq and md5; the known pdq and the sha256 stay home
    waiting = contributions(sessions)
    assert {(c.signal_type, c.value, c.status) for c in waiting} == {
        ("pdq", fresh_pdq, AWAITING_APPROVAL), ("md5", fresh_md5, AWAITING_APPROVAL)}
    with sessions() as session:
        for row in waiting:
            sharing.approve(session, row.id, approver_id=lead.id, actor=lead.username, clock=clock)
        session.commit()
    assert len(share_pass(ctx).sent) == 2
    uploaded = {(u["type"], u["indicator"], u["status"], u["privacy_members"]) for u in threatexchange.uploads}
    assert uploaded == {("HASH_PDQ", fresh_pdq, "MALICIOUS", str(TE_GROUP)),
                        ("HASH_MD5", fresh_md5, "MALICIOUS", str(TE_GROUP))}


def test_an_exchange_refuses_sharing_it_does_not_take(
        sessions: sessionmaker[Session], clock: ManualClock, stop_ncii: Any) -> None:
    add_and_fetch(sessions, clock, "stop_ncii", {"base_url": stop_ncii.base_url}, dict(STOPNCII_KEYS), Sharing())
    with sessions() as session, pytest.raises(InvalidInput):
        sharing.set_sharing(session, service.get_exchange(session, "FEED"), Sharing(new_material=True),
                            actor="admin", clock=clock)


@pytest.fixture
def app(settings: Any, clock: ManualClock, engine: Any) -> Any:
    from bastion.web.app import create_app

    return create_app(settings.model_copy(update={"exchange_allowed_networks": "127.0.0.0/8"}), clock=clock,
                      engine=engine)


def test_sharing_is_set_over_the_api_and_a_different_lead_approves_on_the_page(
        client: Any, sessions: sessionmaker[Session], clock: ManualClock, ncmec: Any, user_factory: Any) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import api_login

    ncmec.put("e0", {"pdq": pdq_values(1, seed=66)[0]}, at=clock.now() - timedelta(hours=1))
    admin, deciding_lead, other_lead = user_factory(Role.ADMIN), user_factory(Role.LEAD), user_factory(Role.LEAD)
    headers = {"X-CSRF-Token": api_login(client, admin, clock)}
    created = client.post("/api/v1/exchanges", headers=headers, json={
        "name": "FEED", "api": "ncmec", "settings": {"environment": "test_Industry", "base_url": ncmec.base_url},
        "banks": ["SHARED"], "create_banks": True, "credentials": {"user": NCMEC_USER, "password": NCMEC_PASSWORD}})
    assert created.status_code == 201, created.text
    bad = client.put("/api/v1/exchanges/FEED/sharing", headers=headers, json={"new_material": True})
    assert bad.status_code == 422 and "does not take new_material" in bad.json()["detail"]
    shared = client.put("/api/v1/exchanges/FEED/sharing", headers=headers,
                        json={"confirmed": True, "second_approver": True})
    assert shared.status_code == 200 and shared.json()["sharing"]["confirmed"] is True
    state = client.app.state.bastion
    assert run_fetch(sessions, created.json()["id"], clock=clock, secret=state.secret, policy=LOOPBACK).status == "ok"
    clock.advance(timedelta(seconds=1))
    decide(sessions, clock, deciding_lead.id, "7-e0", confirm=True)
    assert share_pass(TaskContext(sessions=state.sessions, clock=clock, services=state.services)).proposed == 1
    [row] = contributions(sessions)

    own = TestClient(client.app)
    own_headers = {"X-CSRF-Token": api_login(own, deciding_lead, clock)}
    refused = own.post(f"/api/v1/exchange-contributions/{row.id}/approve", headers=own_headers)
    assert refused.status_code == 403 and "second person" in refused.json()["detail"]

    second = TestClient(client.app)
    csrf = api_login(second, other_lead, clock)
    page = second.get("/exchanges")
    assert page.status_code == 200 and deciding_lead.username in page.text
    assert "Waiting for a second person" in page.text and f"/exchanges/contributions/{row.id}/approve" in page.text
    approved = second.post(f"/exchanges/contributions/{row.id}/approve", data={"csrf_token": csrf},
                           follow_redirects=False)
    assert approved.status_code in (302, 303), approved.text
    share_pass(TaskContext(sessions=state.sessions, clock=clock, services=state.services))
    assert [f["vote"] for f in ncmec.feedback] == ["affirmative"]
    listed = second.get("/api/v1/exchange-contributions").json()
    assert [(c["status"], c["approved_by"]) for c in listed["contributions"]] == [("sent", other_lead.username)]
    assert listed["next_cursor"] is None
    assert second.get("/api/v1/exchange-contributions", params={"status": "needs_approval"}).json()[
        "contributions"] == []
    assert "Nothing shared yet" in second.get("/exchanges", params={"status": "refused"}).text


def test_the_share_back_pass_searches_its_indexes(sessions: sessionmaker[Session], clock: ManualClock, ncmec: Any,
                                                  user_factory: Any, engine: Any) -> None:
    """Run every five minutes per exchange: decisions and exchange items are searched, never read whole."""
    from tests.detect.test_query_plans import _captured, _scans

    for n, value in enumerate(pdq_values(2, seed=62)):
        ncmec.put(f"e{n}", {"pdq": value}, at=clock.now() - timedelta(hours=1))
    add_and_fetch(sessions, clock, "ncmec", {"environment": "test_Industry", "base_url": ncmec.base_url},
                  {"user": NCMEC_USER, "password": NCMEC_PASSWORD}, Sharing(confirmed=True, false_positive=True))
    decide(sessions, clock, user_factory(Role.REVIEWER).id, "7-e0", confirm=True)
    with _captured(engine) as statements:
        with sessions() as session:
            sharing.propose(session, clock=clock)
    big = {"case_items", "exchange_items", "exchange_contributions", "task_outbox"}
    offenders = [(tables, stmt) for stmt, params in statements if (tables := _scans(engine, stmt, params) & big)]
    assert statements and not offenders, offenders


def test_the_second_person_may_decide_from_the_command_line(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: Any, user_factory: Any, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app as cli
    from bastion.config import get_settings

    for n, value in enumerate(pdq_values(2, seed=67)):
        ncmec.put(f"e{n}", {"pdq": value}, at=clock.now() - timedelta(hours=1))
    add_and_fetch(sessions, clock, "ncmec", {"environment": "test_Industry", "base_url": ncmec.base_url},
                  {"user": NCMEC_USER, "password": NCMEC_PASSWORD},
                  Sharing(confirmed=True, false_positive=True, second_approver=True))
    alice, bob, rita = user_factory(Role.LEAD), user_factory(Role.LEAD), user_factory(Role.REVIEWER)
    decide(sessions, clock, alice.id, "7-e0", confirm=True, scan_id=1)
    decide(sessions, clock, alice.id, "7-e1", confirm=True, scan_id=2)
    share_pass(context(sessions, clock))
    first, second = (c.id for c in contributions(sessions))
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    monkeypatch.setattr("bastion.cli.exchanges.clock", clock)
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke
        listing = run(cli, ["exchanges", "contributions", "--status", AWAITING_APPROVAL])
        assert listing.exit_code == 0 and f"{first}  FEED  confirmed" in listing.output, listing.output
        own = run(cli, ["exchanges", "approve", str(first), "--as", alice.username])
        assert own.exit_code == 1 and "second person" in own.output
        reviewer = run(cli, ["exchanges", "approve", str(first), "--as", rita.username])
        assert reviewer.exit_code == 1 and "lead or admin" in reviewer.output
        approved = run(cli, ["exchanges", "approve", str(first), "--as", bob.username])
        assert approved.exit_code == 0, approved.output
        refused = run(cli, ["exchanges", "refuse", str(second), "--as", bob.username, "--reason", "not ours to share"])
        assert refused.exit_code == 0, refused.output
        again = run(cli, ["exchanges", "approve", str(second), "--as", bob.username])
        assert again.exit_code == 1 and "only one awaiting approval" in again.output
    finally:
        get_settings.cache_clear()
    by_id = {c.id: c for c in contributions(sessions)}
    assert (by_id[first].status, by_id[first].approved_by) == ("pending", f"cli:{__import__('getpass').getuser()} as "
                                                                           f"{bob.username}")
    assert by_id[second].status == "refused" and "not ours to share" in by_id[second].last_error
    assert share_pass(context(sessions, clock)).sent == [first] and len(ncmec.feedback) == 1
