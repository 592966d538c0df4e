"""Appeal and statement-of-reasons figures, and the DSA report in the harmonised template, to the exact figure."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pypdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.appeals.models import Appeal
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.dev.dsa_tdb import DsaStandinServer
from bastion.dsa.build import record_new
from bastion.dsa.client import TransparencyDatabase
from bastion.dsa.submit import submit_pending
from bastion.reports.appeals import appeals
from bastion.reports.build import figures, render
from bastion.reports.period import parse_period
from bastion.reports.statements import statements_of_reasons
from tests.dsa.seed import enforced_case, notice_for

JAN = parse_period("2026-01")


def at(day: int, hour: int = 0, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def seed_appeals(db: Session, clock: ManualClock) -> None:
    """Seven appeals around January 2026; the comments give each one's part in the figures."""
    case = enforced_case(db, clock)
    spec = [  # (reference, jurisdiction, received, decided, due, outcome)
        ("A1", "EU", at(2), at(2, 10), at(5), "upheld"),        # 10 h, in time
        ("A2", "EU", at(3), at(4), at(10), "reversed"),         # 24 h
        ("A3", "EU", at(10), at(11, 6), at(11), "reversed"),    # 30 h, after its deadline
        ("A4", "EU", at(20), None, at(30), ""),                 # pending at the end
        ("A5", "EU", at(28, 0, 12, 2025), at(1), at(10), "upheld"),  # received in December: 96 h
        ("A6", "EU", at(30), at(2, 0, 2), at(31), "reversed"),  # decided in February: pending at the end
        ("A7", "IN", at(5), at(6), at(20), "reversed"),         # Indian: only in the all-jurisdiction figures
    ]
    for ref, jurisdiction, received, decided, due, outcome in spec:
        db.add(Appeal(reference=ref, case_id=case.id, account_id=case.account_id, jurisdiction=jurisdiction,
                      submitted_by="platform", status="decided" if decided else "received", outcome=outcome,
                      received_at=received, due_at=due, decided_at=decided))
    db.flush()


def test_appeal_figures(db: Session, clock: ManualClock) -> None:
    seed_appeals(db, clock)
    assert appeals(db, JAN, jurisdiction="EU") == {
        "received": 5, "decided": 4, "upheld": 2, "reversed": 2, "decided_late": 1, "pending_at_end": 2,
        "median_hours_to_decide": 27.0}
    assert appeals(db, JAN) == {
        "received": 6, "decided": 5, "upheld": 2, "reversed": 3, "decided_late": 1, "pending_at_end": 2,
        "median_hours_to_decide": 24.0}
    assert appeals(db, parse_period("2026-03"), jurisdiction="EU") == {
        "received": 0, "decided": 0, "upheld": 0, "reversed": 0, "decided_late": 0, "pending_at_end": 1,
        "median_hours_to_decide": None}


def seed_statements(db: Session, clock: ManualClock, reviewer_id: int) -> None:
    """January: EU sent x2 (one limited under the terms, decided by a person), EU withheld under an order and under
    the CSAM policy, IN sent and IN withheld by the legal desk; February: one more EU statement."""
    clock.advance(at(5, 9) - clock.now())
    notice_for(db, clock, enforced_case(db, clock, account="eu-a"))
    notice_for(db, clock, enforced_case(db, clock, account="eu-b", classification="", restrict="limit",
                                        decided_by=reviewer_id))
    notice_for(db, clock, enforced_case(db, clock, account="eu-c"),
               withheld="Non-disclosure order on legal request LR-2026-000003.")
    notice_for(db, clock, enforced_case(db, clock, account="eu-d"),
               withheld="Policy: accounts actioned for child sexual abuse material are not notified "
                        "(notices.withhold_csam).")
    notice_for(db, clock, enforced_case(db, clock, account="in-a"), jurisdiction="IN")
    notice_for(db, clock, enforced_case(db, clock, account="in-b"), jurisdiction="IN",
               withheld="Legal request LR-2026-000004 withholds notice: ongoing investigation")
    clock.advance(at(3, 9, 2) - clock.now())
    notice_for(db, clock, enforced_case(db, clock, account="eu-e"))


def test_statement_of_reasons_figures_and_the_dsa_report(db: Session, clock: ManualClock, user_factory,  # type: ignore[no-untyped-def]
                                                          tdb: DsaStandinServer,
                                                          tdb_client: TransparencyDatabase) -> None:
    reviewer = user_factory(Role.REVIEWER)
    seed_statements(db, clock, reviewer.id)
    seed_appeals(db, clock)
    record_new(db, clock)
    assert submit_pending(db, tdb_client, clock)["submitted"] == 4  # three EU ones of January, one of February
    sor = statements_of_reasons(db, JAN)
    assert sor == {"written": 6, "sent": 3, "withheld": 3,
                   "withheld_by_reason": {"non_disclosure_order": 1, "legal_request": 1, "csam_policy": 1,
                                          "other": 0},
                   "by_jurisdiction": {"EU": {"sent": 2, "withheld": 2}, "IN": {"sent": 1, "withheld": 1}},
                   "dsa_database": {"pending": 0, "submitted": 3, "held": 1, "refused": 0}}

    report = figures(db, "dsa-transparency", "2026-01", clock.now())
    assert report["provisional"] is False
    assert report["own_initiative"] == {
        "decisions": 4,
        "by_measure": {"DECISION_ACCOUNT_SUSPENDED": 3, "DECISION_PROVISION_PARTIAL_SUSPENSION": 1,
                       "DECISION_VISIBILITY_CONTENT_REMOVED": 4},
        "by_category": {"STATEMENT_CATEGORY_OTHER_VIOLATION_TC": 1, "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": 3},
        "by_keyword": {"KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL": 3},
        "detected_by_automated_means": 4, "decided_fully_automatically": 3, "accounts_suspended": 3}
    assert report["appeals"]["reversed"] == 2 and report["appeals"]["median_hours_to_decide"] == 27.0
    assert report["statements_of_reasons"] == sor

    rows = list(csv.reader(io.StringIO(render(report, "csv").decode())))
    assert rows[0] == ["template_section", "template_field", "breakdown", "value", "bastion_source"]
    table = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert table[("1.1", "Reporting period start", "")] == "2026-01-01"
    assert table[("1.1", "Report status", "")] == "final"
    assert table[("1.4", "Number of own-initiative content moderation decisions", "")] == "4"
    assert table[("1.4", "Number of own-initiative content moderation decisions",
                  "measure=DECISION_PROVISION_PARTIAL_SUSPENSION")] == "1"
    assert table[("1.5", "Number of complaints received through the internal complaint-handling system (Art. 20)",
                  "")] == "5"
    assert table[("1.5", "Number of decisions reversed", "")] == "2"
    assert table[("1.5", "Median time to decide a complaint (hours)", "")] == "27.0"
    assert table[("1.5", "Number of account suspensions", "")] == "3"
    assert table[("1.6", "Decisions taken fully by automated means", "")] == "3"
    assert table[("Art. 24(5)", "Statements of reasons withheld from the recipient", "reason=csam_policy")] == "1"
    assert table[("Art. 24(5)", "Statements of reasons in the Transparency Database", "state=held")] == "1"
    assert table[("1.7", "Human resources dedicated to content moderation", "")] == "not held by Bastion"
    text = " ".join(rows.__repr__().split())
    assert "eu-a" not in text and "LR-2026" not in text  # aggregates only

    pdf = pypdf.PdfReader(io.BytesIO(render(report, "pdf")))
    words = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Internal complaint handling (Art. 20)" in words and "Median hours to decide 27.0" in words
    assert "Withheld: non disclosure order 1" in words


def test_the_dsa_report_is_provisional_while_its_period_runs(db: Session, clock: ManualClock) -> None:
    report = figures(db, "dsa-transparency", "2026-H1", clock.now())
    assert report["provisional"] is True
    assert dict(((r[0], r[1]), r[3]) for r in csv.reader(io.StringIO(render(report, "csv").decode())))[
        ("1.1", "Report status")] == "provisional"
    assert report["own_initiative"]["decisions"] == 0 and report["appeals"]["median_hours_to_decide"] is None




def test_the_cli_writes_the_template_csv(sessions, engine, tmp_path, clock: ManualClock,  # type: ignore[no-untyped-def]
                                         monkeypatch) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app
    from bastion.config import get_settings

    with sessions() as session, session.begin():
        seed_appeals(session, clock)
    monkeypatch.setenv("BASTION_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reports", "build", "--kind", "dsa-transparency", "--period", "2026-01",
                                          "--format", "csv"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    table = {(r[0], r[1], r[2]): r[3] for r in csv.reader(io.StringIO(result.output))}
    assert table[("1.5", "Number of decisions upheld", "")] == "2"
    assert table[("1.5", "Median time to decide a complaint (hours)", "")] == "27.0"


def test_the_dsa_report_is_drafted_approved_published_frozen_and_corrected(db: Session, clock: ManualClock,
                                                                            user_factory) -> None:  # type: ignore[no-untyped-def]
    from bastion.reports import versions

    alice, bob = user_factory(Role.COMPLIANCE), user_factory(Role.COMPLIANCE)  # before this session writes
    seed_appeals(db, clock)
    clock.advance(at(3, 9, 2) - clock.now())
    row = versions.draft(db, "dsa-transparency", "2026-01", actor="alice", actor_id=alice.id, clock=clock)
    versions.approve(db, row.id, actor="bob", actor_id=bob.id, clock=clock)
    versions.publish(db, row.id, actor="bob", actor_id=bob.id, clock=clock)
    frozen_csv = versions.frozen(row, "csv")
    assert versions.rebuild(row, "csv") == frozen_csv and versions.rebuild(row, "pdf") == versions.frozen(row, "pdf")
    late = db.scalar(select(Appeal).where(Appeal.reference == "A4"))
    late.status, late.outcome, late.decided_at = "decided", "reversed", at(31)  # a decision entered late
    db.flush()
    assert versions.frozen(row, "csv") == frozen_csv  # publication is frozen
    fixed = versions.draft(db, "dsa-transparency", "2026-01", actor="alice", actor_id=alice.id, clock=clock,
                           note="A4 was decided on 31 January and entered late.")
    changed = {c["figure"]: (c["was"], c["now"]) for c in versions.report_of(fixed)["correction"]["changed"]}
    assert changed["appeals.reversed"] == (2, 3) and changed["appeals.pending_at_end"] == (2, 1)
    table = {(r[0], r[1]): r[3] for r in csv.reader(io.StringIO(render(versions.report_of(fixed), "csv").decode()))}
    assert table[("1.1", "Correction of version 1")] == "A4 was decided on 31 January and entered late."
