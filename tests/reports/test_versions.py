"""Drafts, four eyes, frozen publication, corrections, and the monthly timer that drafts India's report."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import Conflict
from bastion.executor import TaskContext
from bastion.grievances.models import Complaint
from bastion.mail.models import MailMessage
from bastion.reports import monthly, versions
from bastion.reports.period import BadReportRequest
from bastion.reports.versions import FourEyes
from bastion.timers import Ticker
from bastion.timers.models import Timer

DEC_3 = datetime(2026, 12, 3, 9, tzinfo=UTC)


def _complaint(session: Session, n: int, at: datetime, category: str = "csam", outcome: str = "removed") -> None:
    session.add(Complaint(reference=f"G-{n}", status_token_hash=f"{n:064x}", channel="public", category=category,
                          content_ref="https://demo.example/x", jurisdiction="IN", status="resolved", received_at=at,
                          resolved_at=at + timedelta(hours=2), outcome=outcome))


def _actions(session: Session) -> list[str]:
    return [r.action for r in session.scalars(select(AuditRecord).where(AuditRecord.action.like("reports.%"))
                                              .order_by(AuditRecord.seq))]


def test_draft_approve_publish_freeze_and_correct(sessions: sessionmaker[Session], clock: ManualClock,
                                                  user_factory) -> None:  # type: ignore[no-untyped-def]
    alice, bob = user_factory(Role.COMPLIANCE), user_factory(Role.COMPLIANCE)
    clock.set(DEC_3)
    with sessions() as session:
        _complaint(session, 1, datetime(2026, 11, 5, tzinfo=UTC))
        session.commit()
        row = versions.draft(session, "india-monthly", "2026-11", actor=alice.username, actor_id=alice.id, clock=clock)
        session.commit()
        assert (row.version, row.status, row.provisional) == (1, "draft", False)
        with pytest.raises(FourEyes, match="second person"):
            versions.approve(session, row.id, actor=alice.username, actor_id=alice.id, clock=clock)
        with pytest.raises(Conflict, match="once approved"):
            versions.publish(session, row.id, actor=bob.username, actor_id=bob.id, clock=clock)
        versions.approve(session, row.id, actor=bob.username, actor_id=bob.id, clock=clock)
        versions.publish(session, row.id, actor=alice.username, actor_id=alice.id, clock=clock)
        session.commit()
        frozen = {fmt: versions.frozen(row, fmt) for fmt in ("csv", "json", "pdf")}
        hashes = json.loads(row.sha256_json)
        assert all(hashlib.sha256(body).hexdigest() == hashes[fmt] for fmt, body in frozen.items())
        assert all(versions.rebuild(row, fmt) == body for fmt, body in frozen.items())
        assert json.loads(frozen["json"])["complaints"]["total"]["received"] == 1
        # a complaint recorded late changes the records, not the published report
        _complaint(session, 2, datetime(2026, 11, 20, tzinfo=UTC), category="ncii", outcome="restricted")
        session.commit()
        clock.advance(timedelta(days=1))
        body, version = versions.current(session, "india-monthly", "2026-11", "pdf", clock.now())
        assert (body, version) == (frozen["pdf"], 1)
        # a new version after publication is a correction: it must say why, and names what changed
        with pytest.raises(BadReportRequest, match="correction"):
            versions.draft(session, "india-monthly", "2026-11", actor=bob.username, actor_id=bob.id, clock=clock)
        fix = versions.draft(session, "india-monthly", "2026-11", actor=bob.username, actor_id=bob.id, clock=clock,
                             note="A complaint filed on paper on 20 November was entered late.")
        session.commit()
        correction = versions.report_of(fix)["correction"]
        assert (fix.version, fix.corrects, correction["corrects"]) == (2, 1, 1)
        changed = {c["figure"]: (c["was"], c["now"]) for c in correction["changed"]}
        assert changed == {"complaints.by_category.ncii.received": (0, 1), "complaints.by_category.ncii.resolved": (0, 1),
                           "complaints.by_category.ncii.action_taken": (0, 1),
                           "complaints.by_category.ncii.restricted": (0, 1), "complaints.total.received": (1, 2),
                           "complaints.total.resolved": (1, 2), "complaints.total.action_taken": (1, 2),
                           "complaints.total.restricted": (0, 1)}
        versions.approve(session, fix.id, actor=alice.username, actor_id=alice.id, clock=clock)
        versions.publish(session, fix.id, actor=bob.username, actor_id=bob.id, clock=clock)
        session.commit()
        old = versions.get_version(session, row.id)
        assert (old.status, fix.status) == ("superseded", "published")
        assert versions.frozen(old, "pdf") == frozen["pdf"]  # the earlier version stays readable, unchanged
        csv_text = versions.frozen(fix, "csv").decode()
        assert "correction,,corrects_version,1" in csv_text and "complaints.total.received" in csv_text
        pdf_text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(versions.frozen(fix, "pdf"))).pages)
        assert "Correction of version 1" in pdf_text and "entered late" in pdf_text
        assert versions.current(session, "india-monthly", "2026-11", "csv", clock.now()) == (
            versions.frozen(fix, "csv"), 2)
        # nothing changed since: there is nothing to correct
        with pytest.raises(Conflict, match="nothing to correct"):
            versions.draft(session, "india-monthly", "2026-11", actor=bob.username, actor_id=bob.id, clock=clock,
                           note="again")
        session.rollback()
        assert _actions(session) == ["reports.draft", "reports.approve_refused", "reports.approve", "reports.publish",
                                     "reports.correct", "reports.approve", "reports.publish"]


def test_a_provisional_draft_cannot_be_approved(sessions: sessionmaker[Session], clock: ManualClock,
                                                user_factory) -> None:  # type: ignore[no-untyped-def]
    alice, bob = user_factory(Role.COMPLIANCE), user_factory(Role.COMPLIANCE)
    clock.set(datetime(2026, 11, 20, tzinfo=UTC))
    with sessions() as session:
        row = versions.draft(session, "india-monthly", "2026-11", actor=alice.username, actor_id=alice.id, clock=clock)
        session.commit()
        assert row.provisional
        with pytest.raises(Conflict, match="before the period closed"):
            versions.approve(session, row.id, actor=bob.username, actor_id=bob.id, clock=clock)
        pages = pypdf.PdfReader(io.BytesIO(versions.rebuild(row, "pdf"))).pages
        assert all("PROVISIONAL" in page.extract_text() for page in pages)
        clock.set(DEC_3)  # redrafting after the close replaces the draft, same version
        again = versions.draft(session, "india-monthly", "2026-11", actor=alice.username, actor_id=alice.id,
                               clock=clock)
        session.commit()
        assert (again.id, again.version, again.provisional) == (row.id, 1, False)
        versions.approve(session, again.id, actor=bob.username, actor_id=bob.id, clock=clock)
    with pytest.raises(BadReportRequest, match="for a month"):
        with sessions() as session:
            versions.draft(session, "india-monthly", "2026-H2", actor="x", actor_id=1, clock=clock)


def test_the_timer_drafts_after_the_month_closes_and_mails_compliance(sessions: sessionmaker[Session],
                                                                      clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    from bastion.auth.models import User

    officer, second = user_factory(Role.COMPLIANCE), user_factory(Role.COMPLIANCE)
    user_factory(Role.LEGAL)
    with sessions() as session:
        for user_id, email in ((officer.id, "cco@example.org"), (second.id, "deputy@example.org")):
            user = session.get(User, user_id)
            assert user is not None
            user.email = email
        session.commit()
    clock.set(datetime(2026, 11, 30, 12, tzinfo=UTC))
    with sessions() as session:
        versions.draft(session, "india-monthly", "2026-10", actor="x", actor_id=officer.id, clock=clock)
        monthly.schedule(session, clock)  # October has a draft: next due when November closes
        session.commit()
        timer = session.scalar(select(Timer).where(Timer.kind == monthly.TASK))
        assert timer is not None and timer.due_at == datetime(2026, 12, 1, tzinfo=UTC)
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock))
    assert ticker.tick().ran == []
    clock.set(datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC))
    ticker.tick()  # the task re-arms its own timer row for next month
    with sessions() as session:
        [row] = versions.versions_of(session, "india-monthly", "2026-11")
        assert (row.status, row.drafted_by, row.drafted_by_id, row.provisional) == ("draft", monthly.ACTOR, None,
                                                                                   False)
        [mail] = session.scalars(select(MailMessage).where(MailMessage.kind == "reports.drafted")).all()
        assert sorted(mail.to_addrs) == ["cco@example.org", "deputy@example.org"]
        assert f"/transparency/{row.id}" in mail.text_body and "2026-11" in mail.subject
        timer = session.scalar(select(Timer).where(Timer.kind == monthly.TASK))
        assert timer is not None and (timer.status, timer.due_at) == ("pending", datetime(2027, 1, 1, tzinfo=UTC))
        # drafted by the timer: one person approves, a second publishes
        versions.approve(session, row.id, actor=officer.username, actor_id=officer.id, clock=clock)
        with pytest.raises(FourEyes, match="second person publishes"):
            versions.publish(session, row.id, actor=officer.username, actor_id=officer.id, clock=clock)
        versions.publish(session, row.id, actor=second.username, actor_id=second.id, clock=clock)
        session.commit()
    # a restart after the close but before the tick does not skip the month
    clock.set(datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC))
    with sessions() as session:
        monthly.schedule(session, clock)
        session.commit()
        timer = session.scalar(select(Timer).where(Timer.kind == monthly.TASK))
        assert timer is not None and timer.due_at == clock.now()
    ticker.tick()
    with sessions() as session:
        assert [v.version for v in versions.versions_of(session, "india-monthly", "2026-12")] == [1]


def test_a_fresh_process_rebuilds_the_same_bytes(sessions: sessionmaker[Session], clock: ManualClock,
                                                 user_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Frozen means reproducible: another interpreter renders the stored figures to the published bytes."""
    import subprocess
    import sys

    alice, bob = user_factory(Role.COMPLIANCE), user_factory(Role.COMPLIANCE)
    clock.set(DEC_3)
    with sessions() as session:
        _complaint(session, 1, datetime(2026, 11, 5, tzinfo=UTC))
        session.commit()
        row = versions.draft(session, "india-monthly", "2026-11", actor=alice.username, actor_id=alice.id, clock=clock)
        versions.approve(session, row.id, actor=bob.username, actor_id=bob.id, clock=clock)
        versions.publish(session, row.id, actor=bob.username, actor_id=bob.id, clock=clock)
        session.commit()
    (tmp_path / "figures.json").write_text(row.figures_json)
    script = ("import json, sys, pathlib; from bastion.reports.build import render; d = pathlib.Path(sys.argv[1]); "
              "report = json.loads((d / 'figures.json').read_text()); "
              "[(d / f'out.{f}').write_bytes(render(report, f)) for f in ('pdf', 'csv', 'json')]")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    for fmt in ("pdf", "csv", "json"):
        assert (tmp_path / f"out.{fmt}").read_bytes() == versions.frozen(row, fmt), fmt
