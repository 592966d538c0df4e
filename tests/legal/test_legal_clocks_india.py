"""Indian clocks with the injected clock moving: a BNSS s.94 notice also runs Rule 3(1)(j)'s 72 hours
(the earlier governs, both shown with their citations), the Indian emergency target, and held
requests whose time shows but never escalates."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.legal import clocks, views
from bastion.legal.catalogue import get_instrument
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import events_of
from bastion.timers import Ticker
from tests.legal.conftest import bnss_notice


def _breached(session: Session, request_id: int) -> bool:
    return any(e.kind == "deadline_breached" for e in events_of(session, request_id))


def test_a_section_94_notice_also_runs_rule_3_1_j_and_the_earlier_governs(desk: sessionmaker[Session], submit,  # type: ignore[no-untyped-def]
                                                                          clock: ManualClock) -> None:
    request = submit(bnss_notice(due_date=date(2026, 1, 20)))  # the notice allows 19 days
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        running = clocks.clocks_of(session, request, get_instrument(session, request.instrument_key))
        assert [c.title.split(":")[0] for c in running] == ["IT Rules 2021, Rule 3(1)(j)",
                                                            "Notice to produce (BNSS s.94)"]
        assert request.due_at == request.received_at + timedelta(hours=72)  # the earlier clock governs
        assert "Rule 3(1)(j)" in running[0].citation and "s.94" in running[1].citation
        shown = views.request_view(session, request, clock.now()).as_dict()
        assert len(shown["clocks"]) == 2 and "earliest of 2 clocks" in shown["deadline_rule"]
    ticker = Ticker(TaskContext(sessions=desk, clock=clock))
    clock.advance(timedelta(hours=71))
    ticker.tick()
    with desk() as session:
        assert not _breached(session, request.id)
    clock.advance(timedelta(hours=2))  # past 72 hours, long before the date in the notice
    ticker.tick()
    with desk() as session:
        assert _breached(session, request.id)


def test_a_notice_due_sooner_than_72_hours_keeps_its_own_date(desk, submit, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(due_date=date(2026, 1, 2)))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.due_at < request.received_at + timedelta(hours=72)  # type: ignore[operator]
        assert request.deadline_note.startswith("Notice to produce (BNSS s.94)")


def test_an_indian_emergency_gets_an_internal_target_in_hours(desk, submit, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(emergency=True, emergency_person="a 13-year-old", emergency_nature="threat of abuse tonight",
                                 emergency_why="location needed to reach the child"))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.emergency
        assert request.due_at == request.received_at + timedelta(hours=4)
        running = clocks.clocks_of(session, request, get_instrument(session, request.instrument_key))
        assert "DPDP" in running[0].citation or "Digital Personal Data Protection" in running[0].citation


def test_a_held_request_shows_its_time_but_never_escalates(desk, submit, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(requester_email="officer@free-mail.example"))  # no agency uses this domain
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert clocks.is_held(request) and request.due_at is not None
    Ticker(TaskContext(sessions=desk, clock=clock)).tick()
    clock.advance(timedelta(days=30))
    Ticker(TaskContext(sessions=desk, clock=clock)).tick()
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert not _breached(session, request.id)
        held = views.request_view(session, request, clock.now()).as_dict()["held_seconds"]
        assert held is not None and held >= 30 * 86400


def test_a_day_in_an_indian_notice_means_that_day_in_ist(desk, submit) -> None:  # type: ignore[no-untyped-def]
    """'Reply by 2 January' leaves all of 2 January in India: 23:59:59 IST is 18:29:59 UTC, not 00:00 UTC."""
    from datetime import datetime, timezone

    request = submit(bnss_notice(due_date=date(2026, 1, 2), date_from=date(2024, 2, 1), date_to=date(2024, 3, 31)))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.stated_due_at == datetime(2026, 1, 2, 18, 30, tzinfo=timezone.utc)  # 3 Jan 00:00 IST
        assert request.date_from == datetime(2024, 1, 31, 18, 30, tzinfo=timezone.utc)  # 1 Feb 00:00 IST
        assert request.date_to == datetime(2024, 3, 31, 18, 30, tzinfo=timezone.utc)  # end of 31 Mar IST
