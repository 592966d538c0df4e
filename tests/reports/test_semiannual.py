"""The half-yearly timer that drafts the law-enforcement transparency report when each half-year closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.mail.models import MailMessage
from bastion.reports import cadence, semiannual, versions
from bastion.reports.versions import FourEyes
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.legal.conftest import bnss_notice


def _timer(session: Session) -> Timer:
    timer = session.scalar(select(Timer).where(Timer.kind == semiannual.TASK))
    assert timer is not None
    return timer


def _drafted_mails(session: Session) -> list[MailMessage]:
    return list(session.scalars(select(MailMessage).where(MailMessage.kind == "reports.drafted")))


def test_half_year_boundaries() -> None:
    assert semiannual.half_start(datetime(2026, 7, 1, tzinfo=UTC)) == datetime(2026, 7, 1, tzinfo=UTC)
    assert semiannual.half_start(datetime(2026, 6, 30, 23, tzinfo=UTC), 1) == datetime(2026, 7, 1, tzinfo=UTC)
    assert semiannual.half_start(datetime(2026, 12, 31, tzinfo=UTC), 1) == datetime(2027, 1, 1, tzinfo=UTC)
    assert semiannual.last_closed(datetime(2026, 7, 1, tzinfo=UTC)) == "2026-H1"
    assert semiannual.last_closed(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-H2"
    assert semiannual.last_closed(datetime(2026, 6, 30, tzinfo=UTC)) == "2025-H2"


def test_the_timer_drafts_when_the_half_year_closes(sessions: sessionmaker[Session], desk: sessionmaker[Session],
                                                    submit, clock: ManualClock, user_factory,  # type: ignore[no-untyped-def]  # noqa: E501
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    officer, second = user_factory(Role.COMPLIANCE), user_factory(Role.COMPLIANCE)
    user_factory(Role.LEGAL)  # not compliance: not mailed
    with sessions() as session:
        for user_id, email in ((officer.id, "cco@example.org"), (second.id, "deputy@example.org")):
            user = session.get(User, user_id)
            assert user is not None
            user.email = email
        session.commit()
    clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))
    submit(bnss_notice())  # one request from India in 2026-H1
    clock.set(datetime(2026, 6, 30, 12, tzinfo=UTC))
    with sessions() as session:
        versions.draft(session, "le-transparency", "2025-H2", actor="x", actor_id=officer.id, clock=clock)
        semiannual.schedule(session, clock)  # 2025-H2 has a draft: next due when 2026-H1 closes
        session.commit()
        assert _timer(session).due_at == datetime(2026, 7, 1, tzinfo=UTC)
    ctx = TaskContext(sessions=sessions, clock=clock)
    first, other = Ticker(ctx, name="ticker-a"), Ticker(ctx, name="ticker-b")
    first.tick(), other.tick()
    with sessions() as session:  # not due before the close
        assert versions.versions_of(session, "le-transparency", "2026-H1") == [] and _drafted_mails(session) == []
        ours = _timer(session).id  # the legal desk arms timers of its own; only this one is looked at

    # drafting fails once: nothing is drafted or mailed, and the timer stays armed to retry
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(cadence, "draft", broken)
    clock.set(datetime(2026, 7, 1, 0, 0, 30, tzinfo=UTC))
    report = first.tick()
    with sessions() as session:
        timer = _timer(session)
        assert ours in report.failed and (timer.status, timer.attempts) == ("pending", 1)
        assert timer.due_at > clock.now() and "database went away" in (timer.last_error or "")
        assert versions.versions_of(session, "le-transparency", "2026-H1") == [] and _drafted_mails(session) == []
    monkeypatch.undo()

    clock.advance(timedelta(minutes=5))
    other.tick(), first.tick()  # a task that re-arms its own row is not counted in TickReport.ran
    with sessions() as session:
        [row] = versions.versions_of(session, "le-transparency", "2026-H1")
        assert (row.status, row.drafted_by, row.drafted_by_id, row.provisional) == ("draft", cadence.ACTOR, None,
                                                                                   False)
        assert versions.report_of(row)["law_enforcement"]["IN"]["requests"] == 1
        [mail] = _drafted_mails(session)
        assert sorted(mail.to_addrs) == ["cco@example.org", "deputy@example.org"]
        assert "2026-H1" in mail.subject and "transparency" in mail.subject and f"/transparency/{row.id}" in mail.text_body
        timer = _timer(session)
        assert (timer.status, timer.attempts, timer.due_at) == ("pending", 0, datetime(2027, 1, 1, tzinfo=UTC))

    # running the timers again, a restart that schedules it, and a rerun of the task itself draft nothing more
    clock.advance(timedelta(hours=1))
    first.tick(), other.tick()
    with sessions() as session:
        semiannual.schedule(session, clock)
        session.commit()
        assert _timer(session).due_at == datetime(2027, 1, 1, tzinfo=UTC)
    semiannual.run(ctx, {})
    with sessions() as session:
        assert [v.version for v in versions.versions_of(session, "le-transparency", "2026-H1")] == [1]
        assert len(_drafted_mails(session)) == 1
        assert list(session.scalars(select(AuditRecord.action).where(
            AuditRecord.subject.like("report:le-transparency:2026-H1:%")))) == ["reports.draft"]  # never redrafted
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.kind == semiannual.TASK)) == 1
        # drafted by the timer: one person approves, a second publishes
        versions.approve(session, row.id, actor=officer.username, actor_id=officer.id, clock=clock)
        with pytest.raises(FourEyes, match="second person publishes"):
            versions.publish(session, row.id, actor=officer.username, actor_id=officer.id, clock=clock)
        versions.publish(session, row.id, actor=second.username, actor_id=second.id, clock=clock)
        session.commit()

    clock.set(datetime(2027, 1, 1, 0, 1, tzinfo=UTC))  # the next close drafts 2026-H2
    first.tick()
    with sessions() as session:
        assert [v.version for v in versions.versions_of(session, "le-transparency", "2026-H2")] == [1]
        assert _timer(session).due_at == datetime(2027, 7, 1, tzinfo=UTC)
