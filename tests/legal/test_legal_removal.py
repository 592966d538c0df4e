"""Removal orders act: verified and approved, the takedown goes through the actions outbox to the demo
platform (real HTTP), the clock stops when the platform confirms, the content is preserved under the
catalogue's rule, and the issuing authority is told the effect by mail and in the portal.

Bastion and the demo platform share the injected clock, so "inside 36 hours" is measured on the
platform's own receipt, and nothing sleeps."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.actions.tasks import CONNECTOR_FACTORY
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.evidence import holds
from bastion.evidence.models import EvidenceItem
from bastion.executor import TaskContext
from bastion.legal import directory, intake, portal, preservation, removal, review
from bastion.legal.errors import SecondApproverRequired
from bastion.legal.models import LegalRequest, Requester
from bastion.legal.schemas import RequestInput
from bastion.legal.timeline import events_of
from bastion.mail import mail_for
from bastion.mail.models import MailMessage
from bastion.platform import HttpPlatformConnector
from bastion.dev.platform import create_demo_platform_app
from bastion.dev.serving import BackgroundServer
from bastion.timers import Ticker
from tests.conftest import PLATFORM_SECRET

EU_AUTHORITY = {"name": "Arcom (demo)", "country": "FR", "jurisdiction": "EU", "domains": "arcom.fr",
                "phone": "+33 1 5555 0100", "phone_source": "authority's website"}


@pytest.fixture
def platform(platform_template: Path, tmp_path: Path, clock: ManualClock) -> Iterator[str]:
    """The demo platform on the test's clock: its receipts are stamped in the same time as Bastion's."""
    path = tmp_path / "platform-on-manual-clock.sqlite3"
    shutil.copyfile(platform_template, path)
    with BackgroundServer(create_demo_platform_app(path, PLATFORM_SECRET, clock=lambda: clock.now().timestamp())
                          ) as server:
        yield server.base_url


@pytest.fixture
def ticker(desk: sessionmaker[Session], clock: ManualClock, vault, platform: str) -> Ticker:  # type: ignore[no-untyped-def]
    def connector() -> HttpPlatformConnector:
        return HttpPlatformConnector(platform, PLATFORM_SECRET, clock=lambda: clock.now().timestamp())

    return Ticker(TaskContext(sessions=desk, clock=clock, services={CONNECTOR_FACTORY: connector,
                                                                    removal.VAULT_SERVICE: vault}))


def _order(instrument: str, email: str, authority: str, platform: str, *posts: str) -> RequestInput:
    return RequestInput(instrument=instrument, source="email", requester_email=email, requester_phone="+91 11 5550 0100",
                        issuing_authority=authority, issuing_officer="Inspector R. Singh",
                        case_number="FIR 112/2026, PS Cyber Crime, New Delhi",
                        accounts=[{"kind": "url", "value": f"{platform}/posts/{p}"} for p in posts])


def _verified(session: Session, request_id: int, clock: ManualClock) -> LegalRequest:
    request = session.get(LegalRequest, request_id)
    session.get(Requester, request.requester_id).confirmed_at = clock.now()
    intake.refresh(session, request, actor="test", clock=clock)
    return request


def _approve(desk: sessionmaker[Session], request_id: int, clock: ManualClock, user_factory: Any) -> None:
    from bastion.auth.models import User

    alice, bob = user_factory(Role.LEGAL), user_factory(Role.LEGAL)
    with desk() as session:
        request = _verified(session, request_id, clock)
        review.decide(session, request, session.get(User, alice.id), outcome="remove", actor=alice.username,
                      clock=clock, reason="Rule 3(1)(d) order of the Delhi Police")
        with pytest.raises(SecondApproverRequired):
            review.approve(session, request, session.get(User, alice.id), actor=alice.username, clock=clock)
        review.approve(session, request, session.get(User, bob.id), actor=bob.username, clock=clock)
        session.commit()


def test_a_rule_3_1_d_order_is_removed_inside_36_hours_preserved_and_reported(desk, submit, clock, vault, ticker,
                                                                              platform, user_factory) -> None:
    with desk() as session:
        directory.set_agency(session, name="Delhi Police, Cyber Crime", country="IN", jurisdiction="IN",
                             domains="delhipolice.gov.in", phone="+91 11 5550 0100",
                             phone_source="Delhi Police website", actor="test", clock=clock)
        session.commit()
    request = submit(_order("in_itr_3_1_d", "insp.singh@delhipolice.gov.in", "Delhi Police, Cyber Crime", platform,
                            "post-2001", "post-2004"))
    received = request.received_at
    ticker.tick()  # the posts' authors are resolved at intake
    clock.advance(timedelta(hours=20))  # the desk takes its time: 20 of the 36 hours gone
    _approve(desk, request.id, clock, user_factory)
    with desk() as session:
        rows = removal.removals_of(session, request.id)
        assert {(r.content_id, r.account_id, r.status) for r in rows} == {
            ("post-2001", "acct-1001", "queued"), ("post-2004", "acct-1002", "queued")}
        assert session.get(LegalRequest, request.id).answered_at is None  # asking is not answering

    ticker.tick()  # the outbox delivers the takedowns to the platform
    clock.advance(removal.SYNC_INTERVAL)
    ticker.tick()  # the sync sees the receipts: clock stops, preservation queued, issuer told
    ticker.tick()  # the preservation runs

    with HttpPlatformConnector(platform, PLATFORM_SECRET, clock=lambda: clock.now().timestamp()) as connector:
        assert {connector.get_content(p).status for p in ("post-2001", "post-2004")} == {"removed"}
    with desk() as session:
        legal_request = session.get(LegalRequest, request.id)
        rows = removal.removals_of(session, request.id)
        assert {r.status for r in rows} == {"removed"} and {r.outcome for r in rows} == {"applied"}
        assert all(r.removed_at - received < timedelta(hours=36) for r in rows)  # the platform's own time
        assert legal_request.status == "removed" and legal_request.answered_at is not None
        [answered] = [e for e in events_of(session, request.id) if e.kind == "answered"]
        assert json.loads(answered.details)["on_time"] is True
        assert legal_request.answered_at - received < timedelta(hours=36)

        # preserved under Rule 3(1)(g): both authors, the removed posts and their media, 180 days, held
        kept = {p.account_id: p for p in preservation.preservations_of(session, request.id)}
        assert set(kept) == {"acct-1001", "acct-1002"}
        for row in kept.values():
            assert (row.status, row.purpose, row.days, row.basis) == ("preserved", "removal", 180,
                                                                      "IT Rules 2021, Rule 3(1)(g)")
            assert row.retention_policy == "removed_content"
        [post] = json.loads(kept["acct-1001"].content_json)
        media = session.get(EvidenceItem, post["media"])
        assert post["content_id"] == "post-2001" and media.kind == "media" and holds.is_held(session, media)

        # the issuing authority is told if and when effect was given, by mail and in the portal
        [effect] = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.removal_effect"]
        assert effect.to == ("insp.singh@delhipolice.gov.in",)
        body = session.get(MailMessage, effect.id).text_body
        removed_at = min(r.removed_at for r in rows)
        assert f"{platform}/posts/post-2001 (content post-2001): removed from public view on " in body
        assert f"{removed_at:%Y-%m-%d %H:%M} UTC" in body and "IST" in body
        assert "preserved for 180 days" in body and "Rule 3(1)(g)" in body
        requester = session.get(Requester, legal_request.requester_id)
        [own] = portal.list_own_requests(session, requester)
        assert any(e["kind"] == "removal_effect" and "post-2004" in e["text"] for e in own.events)
        assert own.status == "removed"


def test_a_dsa_article_9_order_reports_its_effect_and_a_refusal_keeps_the_clock_running(
        desk, submit, clock, vault, ticker, platform, user_factory) -> None:
    with desk() as session:
        directory.set_agency(session, actor="test", clock=clock, **EU_AUTHORITY)
        session.commit()
    request = submit(_order("eu_dsa_9", "agent@arcom.fr", "Arcom (demo)", platform, "post-2006", "post-9999"))
    ticker.tick()
    _approve(desk, request.id, clock, user_factory)
    for _ in range(3):
        ticker.tick()
        clock.advance(removal.SYNC_INTERVAL)
    with desk() as session:
        rows = {r.content_id: r for r in removal.removals_of(session, request.id)}
        assert rows["post-2006"].status == "removed" and rows["post-9999"].status == "failed"
        assert "not found" in rows["post-9999"].last_error
        legal_request = session.get(LegalRequest, request.id)
        assert legal_request.answered_at is None and legal_request.status == "approved"  # partial effect is no answer
        assert "removal_failed" in [e.kind for e in events_of(session, request.id)]
        assert not [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.removal_effect"]
        # staff send it again (same idempotency key): the platform still has no such post
        removal.retry(session, legal_request, actor="legal-a", clock=clock)
        session.commit()
        assert rows["post-9999"].status == "queued"
    ticker.tick()
    clock.advance(removal.SYNC_INTERVAL)
    ticker.tick()
    with desk() as session:
        assert removal.removals_of(session, request.id)[1].status == "failed"  # the platform still has no such post
        kinds = [e.kind for e in events_of(session, request.id)]
        assert kinds.count("removal_failed") == 2 and kinds.count("removal_escalated") == 2
        assert session.get(LegalRequest, request.id).answered_at is None


def test_only_a_removal_order_is_decided_remove_and_it_must_name_content(desk, submit, clock, user_factory,
                                                                          platform) -> None:
    from bastion.auth.models import User
    from bastion.errors import InvalidInput

    alice = user_factory(Role.LEGAL)
    notice = submit(_order("in_bnss_94", "si.patil@mumbaipolice.gov.in", "Mumbai Police", platform, "post-2001"))
    bare = submit(RequestInput(instrument="in_itr_3_1_d", requester_email="si.patil@mumbaipolice.gov.in",
                               issuing_authority="Mumbai Police", issuing_officer="SI Patil",
                               accounts=[{"kind": "user_id", "value": "acct-1001"}]))
    with desk() as session:
        user = session.get(User, alice.id)
        with pytest.raises(InvalidInput, match="not a removal order"):
            review.decide(session, session.get(LegalRequest, notice.id), user, outcome="remove", actor="a",
                          clock=clock, reason="x")
        with pytest.raises(InvalidInput, match="names the content to remove"):
            review.decide(session, _verified(session, bare.id, clock), user, outcome="remove", actor="a",
                          clock=clock, reason="x")
