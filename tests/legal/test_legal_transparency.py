"""Each request records what a transparency report counts: outcome, categories, answer date, clock met."""

from __future__ import annotations

from datetime import timedelta

from bastion.legal import clocks, review, transparency
from bastion.legal.models import LegalRequest
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_clock_and_review import _confirm, _legal_users, _user


def test_outcome_categories_answer_date_and_whether_the_clock_was_met(desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    on_time, late, still_open = (submit(bnss_notice(case_number=f"FIR {n}/2026")) for n in (1, 2, 3))
    alice_id, bob_id = _legal_users(desk, user_factory, 2)
    with desk() as session:
        alice, bob = _user(session, alice_id), _user(session, bob_id)
        for request_id in (on_time.id, late.id):
            request = session.get(LegalRequest, request_id)
            _confirm(session, request, clock)
            review.decide(session, request, alice, outcome="produce_in_part", categories=["subscriber", "content"],
                          reason="Location needs a further order.", actor=alice.username, clock=clock)
            review.approve(session, request, bob, actor=bob.username, clock=clock)
        clocks.note_answered(session, session.get(LegalRequest, on_time.id), actor="legal", clock=clock, text="Sent.")
        session.commit()
    clock.advance(timedelta(hours=80))  # past the 72 hours of Rule 3(1)(j)
    with desk() as session:
        clocks.note_answered(session, session.get(LegalRequest, late.id), actor="legal", clock=clock, text="Sent.")
        session.commit()
        start = clock.now() - timedelta(days=30)
        rows = {r.reference: r for r in transparency.records(session, since=start, until=clock.now(), now=clock.now())}
    first, second, third = (rows[r.reference] for r in (on_time, late, still_open))
    assert first.outcome == second.outcome == "produced_in_part" and third.outcome == "open"
    assert first.categories_produced == ("subscriber", "content")
    assert set(first.categories_sought) == {"subscriber", "content", "location", "hosting"}
    assert first.clock_met is True and second.clock_met is False and third.clock_met is False
    assert first.answered_at is not None and third.answered_at is None
    assert first.as_dict()["received_at"].endswith("+00:00")
