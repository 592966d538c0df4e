"""An approval binds exactly what was approved: categories, date range, account entries (issue 10 hole 3).

Every way the scope can move after a decision is tried here: through the desk's own services
(which void the approval at once) and behind their back, straight in the database (which
collection, production and approval still refuse, because they compare against the frozen scope).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bastion.clock import ManualClock
from bastion.legal import collection, intake, resolution, review, scope
from bastion.legal.timeline import events_of
from bastion.legal.errors import ScopeChanged, WrongState
from bastion.legal.models import AccountCandidate, LegalRequest, RequestAccount
from bastion.legal.schemas import RequestUpdate
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_clock_and_review import _confirm, _legal_users, _user


class NoCalls:
    """A platform connector that must not be reached: the refusal comes first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the connector was called ({name}) for a scope nobody approved")


def _approved(desk, submit, clock, user_factory, **notice) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(**notice))
    alice_id, bob_id = _legal_users(desk, user_factory, 2)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        _confirm(session, request, clock)
        alice, bob = _user(session, alice_id), _user(session, bob_id)
        review.decide(session, request, alice, outcome="produce", actor=alice.username, clock=clock)
        review.approve(session, request, bob, actor=bob.username, clock=clock)
        session.commit()
        return request.id, alice_id, bob_id


def _decision_status(session: Session, request: LegalRequest) -> str:
    return review.decisions_of(session, request.id)[-1].status


@pytest.mark.parametrize("change", [
    RequestUpdate(accounts=[{"kind": "user_id", "value": "acct-1002"}]),
    RequestUpdate(categories=["subscriber", "content"]),
    RequestUpdate(date_from=date(2023, 1, 1)),
    RequestUpdate(date_to=date(2026, 1, 1)),
], ids=["account added", "categories", "date from", "date to"])
def test_an_edit_after_approval_voids_it(desk, submit, clock: ManualClock, user_factory, vault,  # type: ignore[no-untyped-def]
                                         change: RequestUpdate) -> None:
    rid, _, _ = _approved(desk, submit, clock, user_factory)
    with desk() as session:
        request = session.get(LegalRequest, rid)
        intake.update(session, request, change, actor="alice", clock=clock)
        session.commit()
        assert _decision_status(session, request) == "invalidated"
        assert request.status not in ("approved", "pending_approval")
        with pytest.raises(WrongState):
            collection.collect(session, request, connector=NoCalls(), vault=vault, actor="alice", clock=clock)
        kinds = [e.kind for e in events_of(session, rid)]
        assert "approval_voided" in kinds


def test_a_change_behind_the_services_back_is_still_refused(desk, submit, clock, user_factory, vault) -> None:  # type: ignore[no-untyped-def]
    """An account row written straight into the database after approval is never collected."""
    rid, _, _ = _approved(desk, submit, clock, user_factory)
    with desk() as session:
        session.add(RequestAccount(request_id=rid, kind="user_id", value="acct-1002", account_id="acct-1002"))
        session.commit()
        request = session.get(LegalRequest, rid)
        with pytest.raises(ScopeChanged, match="accounts added: user_id acct-1002"):
            collection.collect(session, request, connector=NoCalls(), vault=vault, actor="alice", clock=clock)


def test_a_decision_changed_before_approval_cannot_be_approved(desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice())
    alice_id, bob_id = _legal_users(desk, user_factory, 2)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        _confirm(session, request, clock)
        alice, bob = _user(session, alice_id), _user(session, bob_id)
        review.decide(session, request, alice, outcome="produce", actor=alice.username, clock=clock)
        request.date_to = request.date_to.replace(year=2025)  # type: ignore[union-attr]
        session.flush()
        with pytest.raises(ScopeChanged, match="date range"):
            review.approve(session, request, bob, actor=bob.username, clock=clock)


def test_confirming_an_account_candidate_voids_the_approval(desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    rid, _, _ = _approved(desk, submit, clock, user_factory,
                          accounts=[{"kind": "email", "value": "someone@example.org"}])
    with desk() as session:
        request = session.get(LegalRequest, rid)
        entry = intake.accounts_of(session, rid)[0]
        candidate = AccountCandidate(request_id=rid, entry_id=entry.id, account_id="acct-1003", username="c", found_by="test",
                                     matched_on="email", found_at=clock.now())
        session.add(candidate)
        session.flush()
        resolution.confirm(session, request, candidate.id, actor="alice", clock=clock)
        session.commit()
        assert _decision_status(session, request) == "invalidated"


def test_the_platform_naming_a_posts_author_keeps_the_approval(desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    """The approved post's author is the platform's fact, not a choice: it does not move the scope."""
    rid, _, _ = _approved(desk, submit, clock, user_factory)
    with desk() as session:
        request = session.get(LegalRequest, rid)
        for row in intake.accounts_of(session, rid):
            row.account_id, row.resolved_by = f"author-of-{row.content_id}", scope.AUTHOR_OF_POST
        session.flush()
        decision, frozen = scope.approved(session, request, actor="alice", clock=clock)
        assert decision.status == "approved" and len(frozen.accounts) == 2
