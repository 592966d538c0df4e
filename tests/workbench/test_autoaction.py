"""Auto-action policies: exact matches in high-confidence banks act first, a person still decides, all reversible."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bastion.actions.models import OutboxAction
from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.cases import autoaction, service
from bastion.cases.errors import NotRevealed
from bastion.cases.enforce import Enforcement, decide_case
from bastion.cases.models import Case
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.matching import DEFAULT_THRESHOLD
from bastion.matching.banked import BankMatch
from bastion.ncmec import draft
from bastion.orgsettings import set_value
from bastion.scanning.models import Scan, ScanMatch


def _bank(db: Session, clock: ManualClock, name: str, *, confident: bool) -> int:
    bank = banks.create_bank(db, name=name, actor="admin", clock=clock)
    db.flush()
    if confident:
        autoaction.set_high_confidence(db, bank.id, True, actor="admin", clock=clock)
    return bank.id


def _policy(db: Session, clock: ManualClock, **kw: object) -> None:
    fields = {"name": "ncmec-exact", "enabled": True, "signal_types": ["md5", "sha256"], "remove": True,
              "preserve": True, "suspend": True, **kw}
    autoaction.save_policy(db, actor="admin", clock=clock, **fields)  # type: ignore[arg-type]
    db.commit()


def _scan(db: Session, clock: ManualClock, bank_id: int, bank_name: str, *, signal: str = "md5", distance: int = 0,
          account: str = "acct-9", content: str = "post-9") -> tuple[Case, Scan]:
    scan = Scan(created_at=clock.now(), source="upload", content_id=content, account_id=account, md5="1" * 32,
                sha1="0" * 40, sha256="2" * 64, match_count=1)
    db.add(scan)
    db.flush()
    match = BankMatch(bank_id, bank_name, "match", 1, 1, signal, "x", distance, "A1", "industry", "ext")
    db.add(ScanMatch(scan_id=scan.id, bank_id=bank_id, bank_name=bank_name, entry_id=1, signal_id=scan.id,
                     signal_type=signal, distance=distance, classification="A1", found_at=clock.now()))
    case = service.open_or_extend(db, account_id=account, scan_id=scan.id, content_id=content, matches=[match],
                                  media_ref="", clock=clock)
    autoaction.apply(db, case, scan, [match], clock=clock)
    db.commit()
    return case, scan


def _actions(db: Session, case: Case) -> list[tuple[str, str, str]]:
    return [(a.kind, a.target, a.created_by) for a in
            db.scalars(select(OutboxAction).where(OutboxAction.subject == f"case:{case.id}").order_by(OutboxAction.id))]


def test_an_exact_match_in_a_confident_bank_is_actioned_but_still_waits_for_a_person(
        db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, "NCMEC", confident=True)
    _policy(db, clock)
    case, _ = _scan(db, clock, bank, "NCMEC")
    assert _actions(db, case) == [("remove_content", "post-9", "auto-policy:ncmec-exact"),
                                  ("restrict_account", "acct-9", "auto-policy:ncmec-exact"),
                                  ("preserve_account", "acct-9", "auto-policy:ncmec-exact")]
    assert case.status == "new" and case.auto_policy == "ncmec-exact"  # nobody has decided anything
    assert all(i.decision == "pending" and not i.viewed for i in service.items_of(db, case.id))


@pytest.mark.parametrize("confident,signal,distance", [(False, "md5", 0), (True, "pdq", 0), (True, "pdq", 4)])
def test_nothing_acts_on_ordinary_banks_or_perceptual_matches(db: Session, clock: ManualClock, confident: bool,
                                                              signal: str, distance: int) -> None:
    bank = _bank(db, clock, "SOME", confident=confident)
    _policy(db, clock)
    case, _ = _scan(db, clock, bank, "SOME", signal=signal, distance=distance)
    assert _actions(db, case) == [] and case.auto_actioned_at is None


def test_a_disabled_policy_does_nothing(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, "NCMEC", confident=True)
    _policy(db, clock, enabled=False)
    case, _ = _scan(db, clock, bank, "NCMEC")
    assert _actions(db, case) == []


def _reviewer(db: Session, user_factory) -> User:  # type: ignore[no-untyped-def]
    return db.get(User, user_factory(Role.REVIEWER).id)  # type: ignore[return-value]


def test_not_a_match_reverses_the_automatic_actions_through_the_outbox(
        db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    bank = _bank(db, clock, "NCMEC", confident=True)
    _policy(db, clock)
    case, _ = _scan(db, clock, bank, "NCMEC")
    user = _reviewer(db, user_factory)
    service.claim(db, case, user, clock=clock)
    item = service.items_of(db, case.id)[0]
    service.reject_item(db, case, item, user, reason="a different picture", disable_entry=False, clock=clock)
    assert decide_case(db, case, user, Enforcement(), clock=clock) == "dismissed"
    db.commit()
    kinds = [(k, t) for k, t, _ in _actions(db, case)]
    assert ("restore_content", "post-9") in kinds and ("lift_restriction", "acct-9") in kinds
    assert "auto_reversed" in [e.kind for e in service.events_of(db, case.id)]


def test_confirming_keeps_the_actions_once_and_the_report_says_nobody_viewed(
        db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    set_value(db, "review.action_without_viewing", "A1", actor="admin", clock=clock)
    bank = _bank(db, clock, "NCMEC", confident=True)
    _policy(db, clock)
    case, _ = _scan(db, clock, bank, "NCMEC")
    user = _reviewer(db, user_factory)
    service.claim(db, case, user, clock=clock)
    item = service.items_of(db, case.id)[0]
    service.confirm_item(db, case, item, user, classification="A1", annotations=[], clock=clock)
    decide_case(db, case, user, Enforcement(add_to_bank=False), clock=clock)
    db.commit()
    kinds = [k for k, _, _ in _actions(db, case)]
    assert kinds.count("remove_content") == 1 and "restore_content" not in kinds  # the same action, not a second
    plan = draft.build(db, case, vault=None, connector_factory=None).files[0]
    assert plan.details["file_viewed_by_esp"] is False
    assert any("without viewing" in line for line in plan.details["additional_info"])


def test_a_reviewer_who_looked_is_reported_as_having_viewed(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    bank = _bank(db, clock, "NCMEC", confident=True)
    _policy(db, clock)
    case, _ = _scan(db, clock, bank, "NCMEC")
    user = _reviewer(db, user_factory)
    service.claim(db, case, user, clock=clock)
    item = service.items_of(db, case.id)[0]
    service.mark_viewed(db, item)
    service.confirm_item(db, case, item, user, classification="A1", annotations=[], clock=clock)
    decide_case(db, case, user, Enforcement(add_to_bank=False), clock=clock)
    plan = draft.build(db, case, vault=None, connector_factory=None).files[0]
    assert plan.details["file_viewed_by_esp"] is True
    assert not any("without viewing" in line for line in plan.details["additional_info"])


def test_policy_changes_are_audited_and_bad_policies_refused(db: Session, clock: ManualClock) -> None:
    _policy(db, clock)
    _policy(db, clock, suspend=False)
    saves = list(db.scalars(select(AuditRecord).where(AuditRecord.action == "autopolicy.save")))
    assert len(saves) == 2 and '"suspend":false' in saves[1].details.replace(" ", "")
    for bad in ({"signal_types": ["pdq"]}, {"remove": False, "preserve": False, "suspend": False}, {"name": " "}):
        with pytest.raises(InvalidInput):
            _policy(db, clock, **bad)


def test_dry_run_counts_what_would_have_happened_without_doing_it(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, "NCMEC", confident=True)
    other = _bank(db, clock, "OTHER", confident=False)
    _policy(db, clock, enabled=False)
    _scan(db, clock, bank, "NCMEC", account="old", content="old-post")
    clock.advance(timedelta(days=10))
    _scan(db, clock, bank, "NCMEC", account="a1", content="p1")
    _scan(db, clock, bank, "NCMEC", account="a2", content="p2", signal="pdq", distance=3)
    _scan(db, clock, other, "OTHER", account="a3", content="p3")
    before = db.scalar(select(OutboxAction.id).order_by(OutboxAction.id.desc()).limit(1))
    policy = db.scalar(select(autoaction.AutoPolicy))
    result = autoaction.dry_run(db, policy, days=7, clock=clock)  # type: ignore[arg-type]
    assert result.scans == 1 and [e["content_id"] for e in result.examples] == ["p1"]
    assert result.actions == {"remove_content": 1, "restrict_account": 1, "preserve_account": 1}
    assert autoaction.dry_run(db, policy, days=30, clock=clock).scans == 2  # type: ignore[arg-type]
    assert db.scalar(select(OutboxAction.id).order_by(OutboxAction.id.desc()).limit(1)) == before
    with pytest.raises(InvalidInput):
        autoaction.dry_run(db, policy, days=0, clock=clock)  # type: ignore[arg-type]


# -- PDQ within a policy's own maximum distance ------------------------------------------------------

def _pdq_policy(db: Session, clock: ManualClock, distance: int | None = 8, **kw: object) -> None:
    _policy(db, clock, name="ncmec-pdq", signal_types=["pdq"], pdq_max_distance=distance, **kw)


def test_a_pdq_policy_needs_a_distance_within_the_ceiling(db: Session, clock: ManualClock) -> None:
    assert autoaction.PDQ_CEILING <= DEFAULT_THRESHOLD  # never wider than what the queue calls a match
    for distance, says in ((None, "needs a maximum distance"), (autoaction.PDQ_CEILING + 1, "Enter a smaller"),
                           (-1, "from 0 to")):
        with pytest.raises(InvalidInput, match=says):
            _pdq_policy(db, clock, distance)
    with pytest.raises(InvalidInput, match="applies only to PDQ"):
        _policy(db, clock, pdq_max_distance=4)  # exact hashes keep distance 0; a stray distance is refused
    _pdq_policy(db, clock, autoaction.PDQ_CEILING)
    _pdq_policy(db, clock, 6)
    saves = list(db.scalars(select(AuditRecord).where(AuditRecord.action == "autopolicy.save")
                            .order_by(AuditRecord.seq)))
    details = json.loads(saves[-1].details)
    assert details["before"]["pdq_max_distance"] == autoaction.PDQ_CEILING
    assert details["after"]["pdq_max_distance"] == 6 and details["after"]["signal_types"] == "pdq"


@pytest.mark.parametrize("distance,acts", [(0, True), (8, True), (9, False)])
def test_a_pdq_match_acts_only_within_the_policy_distance(db: Session, clock: ManualClock, distance: int,
                                                          acts: bool) -> None:
    bank = _bank(db, clock, "NCMEC", confident=True)
    _pdq_policy(db, clock, 8)
    case, _ = _scan(db, clock, bank, "NCMEC", signal="pdq", distance=distance)
    actions = list(db.scalars(select(OutboxAction).where(OutboxAction.subject == f"case:{case.id}")))
    assert bool(actions) is acts and (case.auto_policy == "ncmec-pdq") is acts
    if acts:
        removal = next(a for a in actions if a.kind == "remove_content")
        assert f"PDQ match at distance {distance} in NCMEC" in removal.payload["reason"]
        assert case.status == "new"
        assert all(i.decision == "pending" and not i.viewed for i in service.items_of(db, case.id))


def test_a_pdq_match_in_an_ordinary_bank_waits_for_a_person(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, "SOME", confident=False)
    _pdq_policy(db, clock, 31)
    case, _ = _scan(db, clock, bank, "SOME", signal="pdq", distance=1)
    assert _actions(db, case) == [] and case.auto_actioned_at is None


def test_an_exact_match_reason_says_exact(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, "NCMEC", confident=True)
    _policy(db, clock, signal_types=["md5", "pdq"], pdq_max_distance=8)
    case, _ = _scan(db, clock, bank, "NCMEC")
    removal = db.scalar(select(OutboxAction).where(OutboxAction.subject == f"case:{case.id}",
                                                   OutboxAction.kind == "remove_content"))
    assert removal is not None and "exact md5 match in NCMEC" in removal.payload["reason"]
    assert "PDQ" not in removal.payload["reason"]


def test_dry_run_counts_pdq_within_distance_and_reads_by_scan_time(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, "NCMEC", confident=True)
    other = _bank(db, clock, "OTHER", confident=False)
    _pdq_policy(db, clock, 8, enabled=False)
    _scan(db, clock, bank, "NCMEC", account="old", content="old-post", signal="pdq", distance=2)
    clock.advance(timedelta(days=10))
    _scan(db, clock, bank, "NCMEC", account="a1", content="near", signal="pdq", distance=5)
    _scan(db, clock, bank, "NCMEC", account="a2", content="far", signal="pdq", distance=9)
    _scan(db, clock, bank, "NCMEC", account="a3", content="exact")  # md5: not in this policy
    _scan(db, clock, other, "OTHER", account="a4", content="elsewhere", signal="pdq", distance=1)
    policy = db.scalar(select(autoaction.AutoPolicy))
    statements: list[str] = []
    listen = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    event.listen(db.get_bind(), "before_cursor_execute", listen)
    try:
        result = autoaction.dry_run(db, policy, days=7, clock=clock)  # type: ignore[arg-type]
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", listen)
    assert result.scans == 1 and [(e["content_id"], e["distance"]) for e in result.examples] == [("near", 5)]
    assert result.actions == {"remove_content": 1, "restrict_account": 1, "preserve_account": 1}
    assert any("scans.created_at >=" in s for s in statements)  # bounded by the created_at index
    assert autoaction.dry_run(db, policy, days=30, clock=clock).scans == 2  # type: ignore[arg-type]


def test_not_a_match_reverses_a_pdq_auto_action(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    bank = _bank(db, clock, "NCMEC", confident=True)
    _pdq_policy(db, clock, 8)
    case, _ = _scan(db, clock, bank, "NCMEC", signal="pdq", distance=6)
    user = _reviewer(db, user_factory)
    service.claim(db, case, user, clock=clock)
    item = service.items_of(db, case.id)[0]
    service.reject_item(db, case, item, user, reason="a similar but different picture", disable_entry=False,
                        clock=clock)
    assert decide_case(db, case, user, Enforcement(), clock=clock) == "dismissed"
    db.commit()
    kinds = [(k, t) for k, t, _ in _actions(db, case)]
    assert ("remove_content", "post-9") in kinds
    assert ("restore_content", "post-9") in kinds and ("lift_restriction", "acct-9") in kinds


def test_a_pdq_auto_actioned_case_nobody_viewed_is_reported_as_not_viewed(
        db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    set_value(db, "review.action_without_viewing", "A1", actor="admin", clock=clock)
    bank = _bank(db, clock, "NCMEC", confident=True)
    _pdq_policy(db, clock, 8)
    user = _reviewer(db, user_factory)
    near, _ = _scan(db, clock, bank, "NCMEC", signal="pdq", distance=3, account="acct-3", content="post-3")
    service.claim(db, near, user, clock=clock)
    with pytest.raises(NotRevealed):  # acting early never lowers the bar for confirming unseen
        service.confirm_item(db, near, service.items_of(db, near.id)[0], user, classification="A1",
                             annotations=[], clock=clock)
    db.rollback()
    case, _ = _scan(db, clock, bank, "NCMEC", signal="pdq", distance=0)
    assert case.auto_policy == "ncmec-pdq"
    service.claim(db, case, user, clock=clock)
    item = service.items_of(db, case.id)[0]
    service.confirm_item(db, case, item, user, classification="A1", annotations=[], clock=clock)
    decide_case(db, case, user, Enforcement(add_to_bank=False), clock=clock)
    db.commit()
    assert not service.items_of(db, case.id)[0].viewed
    plan = draft.build(db, case, vault=None, connector_factory=None).files[0]
    assert plan.details["file_viewed_by_esp"] is False
    assert any("without viewing" in line for line in plan.details["additional_info"])
