"""Preservation on any request: "preserve now", post authors resolved at intake, India's 180 days with
extensions on the record, a legal hold while it runs, and an expired preservation never called
"preserved until". The demo platform answers over real HTTP; a recording connector lists every call."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.evidence import holds
from bastion.evidence.models import EvidenceItem, LegalHold
from bastion.executor import TaskContext
from bastion.legal import intake, preservation, resolution
from bastion.legal.errors import RequestHeld, WrongState
from bastion.legal.models import LegalRequest, Preservation
from bastion.legal.schemas import RequestInput
from bastion.legal.timeline import events_of
from bastion.legal.views import request_view
from bastion.platform import HttpPlatformConnector
from bastion.timers import Ticker
from tests.conftest import PLATFORM_SECRET
from tests.legal.conftest import bnss_notice


class Recording:
    """A connector that writes down every call (name and arguments) before passing it on."""

    def __init__(self, inner: HttpPlatformConnector, calls: list[tuple[Any, ...]]) -> None:
        self.inner, self.calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr) or name == "close":
            return attr

        def call(*args: Any) -> Any:
            self.calls.append((name, *args))
            return attr(*args)

        return call


@pytest.fixture
def calls() -> list[tuple[Any, ...]]:
    return []


@pytest.fixture
def ticker(desk: sessionmaker[Session], clock: ManualClock, vault, platform_url: str, calls) -> Ticker:  # type: ignore[no-untyped-def]
    factory = lambda: Recording(HttpPlatformConnector(platform_url, PLATFORM_SECRET), calls)  # noqa: E731
    return Ticker(TaskContext(sessions=desk, clock=clock, services={
        preservation.CONNECTOR_FACTORY: factory, preservation.VAULT_SERVICE: vault}))


def _names(calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [c for c in calls if c[0] != "close"]


def test_preserve_now_freezes_the_accounts_and_named_posts_under_a_legal_hold(desk, submit, clock, vault, ticker,
                                                                              calls) -> None:
    request = submit(bnss_notice(accounts=[{"kind": "url", "value": "https://demo.example/posts/post-2001"},
                                           {"kind": "url", "value": "https://demo.example/posts/post-2004"},
                                           {"kind": "user_id", "value": "acct-1003"}]))
    ticker.tick()  # intake's resolution: the posts' authors, before anyone asks to preserve
    assert _names(calls) == [("get_content", "post-2001"), ("get_content", "post-2004")]
    with desk() as session:
        assert intake.resolved_accounts(session, request.id) == ["acct-1001", "acct-1002", "acct-1003"]
        assert preservation.preservations_of(session, request.id) == []  # a BNSS notice is not preserved by itself
        legal_request = session.get(LegalRequest, request.id)
        queued = preservation.preserve_now(session, legal_request, actor="legal-a", clock=clock, vault=vault,
                                           reason="child-safety FIR; the accounts may be deleted")
        session.commit()
        assert queued == 3
        [hold] = holds.active_holds(session, subject=f"legal_request:{request.id}")
        assert request.reference in hold.reason and "Rule 3(1)(g)" in hold.reason
    calls.clear()
    ticker.tick()
    keys = {c[1]: c[2] for c in calls if c[0] == "preserve_account"}
    assert keys == {a: f"legal-preserve-{request.id}-{a}" for a in ("acct-1001", "acct-1002", "acct-1003")}
    assert [c for c in _names(calls) if c[0] in ("get_content", "fetch_media")] == [
        ("get_content", "post-2001"), ("fetch_media", "post-2001"),
        ("get_content", "post-2004"), ("fetch_media", "post-2004")]
    with desk() as session:
        rows = {r.account_id: r for r in preservation.preservations_of(session, request.id)}
        assert {r.status for r in rows.values()} == {"preserved"}
        for row in rows.values():
            assert row.days == 180 and "Rule 3(1)(g)" in row.basis and row.hold_id == hold.id
            assert row.expires_at == row.preserved_at + timedelta(days=180)
        posts = json.loads(rows["acct-1001"].content_json)
        assert [p["content_id"] for p in posts] == ["post-2001"] and posts[0]["media"]
        kept = [session.get(EvidenceItem, i) for i in (rows["acct-1001"].evidence_id, posts[0]["evidence"],
                                                      posts[0]["media"])]
        assert [k.kind for k in kept] == ["account_snapshot", "content_snapshot", "media"]
        assert all(holds.is_held(session, k) for k in kept)  # nothing purges them while the hold lasts
        assert all(k.retention_until == rows["acct-1001"].expires_at for k in kept)
        view = request_view(session, session.get(LegalRequest, request.id), clock.now()).as_dict()
        assert {p["label"] for p in view["preservations"]} == {
            f"preserved until {rows['acct-1001'].expires_at:%Y-%m-%d}"}
        assert [e.kind for e in events_of(session, request.id)].count("preserved") == 3


def test_an_expired_preservation_is_never_shown_as_preserved_until(desk, submit, clock, vault, ticker, app, client,
                                                                   user_factory) -> None:
    from bastion.auth.roles import Role
    from tests.conftest import api_login

    request = submit(bnss_notice(accounts=[{"kind": "user_id", "value": "acct-1001"}]))
    with desk() as session:
        preservation.preserve_now(session, session.get(LegalRequest, request.id), actor="legal-a", clock=clock,
                                  vault=vault)
        session.commit()
    ticker.tick()
    with desk() as session:
        [row] = preservation.preservations_of(session, request.id)
        ends = row.expires_at
    clock.advance(timedelta(days=181))  # past its date, and the ticker has not run yet: the row still says "preserved"
    with desk() as session:
        [row] = preservation.preservations_of(session, request.id)
        assert row.status == "preserved"
        view = request_view(session, session.get(LegalRequest, request.id), clock.now())
        assert view.preservation_state(row) == {"state": "expired", "label": f"expired on {ends:%Y-%m-%d}",
                                                "date": ends}
    legal = user_factory(Role.LEGAL)
    api_login(client, legal, clock)
    body = client.get(f"/api/v1/legal/requests/{request.id}").json()
    assert body["preservations"][0]["state"] == "expired"
    page = client.get(f"/legal/requests/{request.id}").text
    assert f"expired on {ends:%Y-%m-%d}" in page and "preserved until" not in page
    ticker.tick()  # the expiry runs: the row expires and the request's hold is released
    with desk() as session:
        [row] = preservation.preservations_of(session, request.id)
        assert row.status == "expired"
        assert holds.active_holds(session, subject=f"legal_request:{request.id}") == []
        assert session.get(LegalHold, row.hold_id).released_at is not None
        assert preservation.describe(row, clock.now())["label"] == f"expired on {ends:%Y-%m-%d}"
    page = client.get(f"/legal/requests/{request.id}").text
    assert "preserved until" not in page and 'data-state="expired"' in page


def test_india_extends_only_on_a_recorded_request_and_the_hold_covers_it(desk, submit, clock, vault, ticker) -> None:
    from bastion.errors import InvalidInput

    request = submit(bnss_notice(accounts=[{"kind": "user_id", "value": "acct-1002"}]))
    with desk() as session:
        preservation.preserve_now(session, session.get(LegalRequest, request.id), actor="legal-a", clock=clock,
                                  vault=vault)
        session.commit()
    ticker.tick()
    clock.advance(timedelta(days=170))
    with desk() as session:
        legal_request = session.get(LegalRequest, request.id)
        with pytest.raises(InvalidInput, match="who requires the longer period"):
            preservation.extend(session, legal_request, actor="legal-a", clock=clock, vault=vault,
                                reason="letter of 2026-06-01")
        [row] = preservation.extend(session, legal_request, actor="legal-a", clock=clock, vault=vault,
                                    reason="letter no. 55/CYB/2026", requested_by="SHO, Cyber PS Delhi (IO of FIR 112)",
                                    until=date(2027, 3, 31))
        session.commit()
        assert row.expires_at.date() == date(2027, 4, 1) and row.extensions == 1
        assert "SHO, Cyber PS Delhi" in row.extension_basis and "55/CYB/2026" in row.extension_basis
        [extended] = [e for e in events_of(session, request.id) if e.kind == "preservation_extended"]
        assert "at the request of SHO, Cyber PS Delhi" in extended.text
    clock.advance(timedelta(days=20))  # past the original 180 days: still preserved, still held
    ticker.tick()
    with desk() as session:
        [row] = preservation.preservations_of(session, request.id)
        assert row.status == "preserved"
        assert holds.active_holds(session, subject=f"legal_request:{request.id}")
        assert preservation.describe(row, clock.now())["label"] == "preserved until 2027-04-01"


def test_a_preservation_request_preserves_a_named_posts_author_at_intake(desk, submit, clock, ticker, calls) -> None:
    request = submit(RequestInput(instrument="us_2703f", requester_email="agent@ic.fbi.gov", requester_phone="+1 2",
                                  issuing_authority="FBI", issuing_officer="SA Jones",
                                  accounts=[{"kind": "url", "value": "https://demo.example/posts/post-2007"}],
                                  date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)), document=None)
    ticker.tick()  # intake resolution finds the author and queues the preservation
    ticker.tick()  # which runs
    assert ("get_content", "post-2007") in calls
    assert ("preserve_account", "acct-1004", f"legal-preserve-{request.id}-acct-1004") in calls
    with desk() as session:
        [row] = preservation.preservations_of(session, request.id)
        assert row.account_id == "acct-1004" and row.status == "preserved" and row.days == 90
        assert row.basis == "18 U.S.C. 2703(f)"
        assert session.get(LegalRequest, request.id).status == "preserved"


def test_held_requests_are_not_preserved_and_nothing_resolved_is_refused(desk, submit, clock, vault) -> None:
    from bastion.errors import InvalidInput

    held = submit(bnss_notice(requester_email="someone@freemail.example"))
    unresolved = submit(bnss_notice(accounts=[{"kind": "username", "value": "bob"}]))
    with desk() as session:
        with pytest.raises(RequestHeld):
            preservation.preserve_now(session, session.get(LegalRequest, held.id), actor="a", clock=clock, vault=vault)
        with pytest.raises(InvalidInput, match="No account of this request is resolved"):
            preservation.preserve_now(session, session.get(LegalRequest, unresolved.id), actor="a", clock=clock,
                                      vault=vault)
        assert session.query(Preservation).count() == 0
        assert resolution.candidates_of(session, unresolved.id) == []


def test_preserving_twice_adds_nothing_and_an_ended_preservation_is_not_restarted(desk, submit, clock, vault,
                                                                                   ticker) -> None:
    request = submit(bnss_notice(accounts=[{"kind": "user_id", "value": "acct-1001"}]))
    with desk() as session:
        legal_request = session.get(LegalRequest, request.id)
        assert preservation.preserve_now(session, legal_request, actor="a", clock=clock, vault=vault) == 1
        assert preservation.preserve_now(session, legal_request, actor="a", clock=clock, vault=vault) == 0
        session.commit()
        assert len(holds.active_holds(session, subject=f"legal_request:{request.id}")) == 1
    ticker.tick()
    clock.advance(timedelta(days=181))
    ticker.tick()
    with desk() as session, pytest.raises(WrongState, match="expired on"):
        preservation.preserve_now(session, session.get(LegalRequest, request.id), actor="a", clock=clock, vault=vault)
