"""Cases from matches, claims, decisions, escalation, clocks: through the service, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.cases import service
from bastion.cases.errors import CaseHeld, DecisionRefused, NotRevealed
from bastion.cases.models import Case, CaseEvent, EntryFeedback
from bastion.clock import ManualClock
from bastion.matching.banked import BankMatch


def _match(entry_id: int = 1, distance: int = 3, classification: str = "A1", bank_id: int = 1) -> BankMatch:
    return BankMatch(bank_id, "KNOWN", "match", entry_id, entry_id, "pdq", "f" * 64, distance, classification,
                     "industry", "ext")


def _open(db: Session, clock: ManualClock, account: str = "acct-1", scan_id: int = 1, **kw) -> Case:  # type: ignore[no-untyped-def]
    case = service.open_or_extend(db, account_id=account, scan_id=scan_id, content_id=f"post-{scan_id}",
                                  matches=[_match(**kw)], media_ref="", clock=clock)
    db.commit()
    return case


def _reviewer(db: Session, user_factory, role: Role = Role.REVIEWER) -> User:  # type: ignore[no-untyped-def]
    made = user_factory(role)
    return db.get(User, made.id)  # type: ignore[return-value]


def test_matches_of_one_account_share_a_case(db: Session, clock: ManualClock) -> None:
    first = _open(db, clock, scan_id=1)
    second = _open(db, clock, scan_id=2)
    other = _open(db, clock, account="acct-2", scan_id=3)
    assert first.id == second.id != other.id
    assert len(service.items_of(db, first.id)) == 2
    assert first.removal_due_at == clock.now() + timedelta(hours=24)
    assert first.removal_policy.startswith("IT Rules 2021")


def test_priority_follows_classification_distance_and_history(db: Session, clock: ManualClock) -> None:
    grave = _open(db, clock, account="a", classification="A1", distance=0)
    mild = _open(db, clock, account="b", classification="B2", distance=20)
    assert grave.priority > mild.priority
    history = Case(account_id="c", status="closed", priority=0, opened_at=clock.now(), updated_at=clock.now(),
                   classification="B2")
    db.add(history)
    db.commit()
    repeat = _open(db, clock, account="c", classification="B2", distance=20)
    assert repeat.priority > mild.priority


def test_claims_are_exclusive_and_expire(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case = _open(db, clock)
    alice, bob = _reviewer(db, user_factory), _reviewer(db, user_factory)
    service.claim(db, case, alice, clock=clock)
    assert case.status == "in_review"
    with pytest.raises(CaseHeld) as held:
        service.claim(db, case, bob, clock=clock)
    assert alice.username in held.value.message
    item = service.items_of(db, case.id)[0]
    with pytest.raises(CaseHeld) as refused:
        service.reject_item(db, case, item, bob, reason="x", disable_entry=False, clock=clock)
    assert alice.username in refused.value.message
    clock.advance(timedelta(minutes=16))  # abandoned
    assert service.next_case(db, bob, clock=clock).id == case.id  # type: ignore[union-attr]


def test_confirm_needs_a_classification_and_a_view_unless_policy_allows(db: Session, clock: ManualClock,
                                                                       user_factory) -> None:  # type: ignore[no-untyped-def]
    from bastion import orgsettings

    case = _open(db, clock, distance=0, classification="A1")
    alice = _reviewer(db, user_factory)
    service.claim(db, case, alice, clock=clock)
    item = service.items_of(db, case.id)[0]
    with pytest.raises(DecisionRefused):
        service.confirm_item(db, case, item, alice, classification="Z9", annotations=[], clock=clock)
    with pytest.raises(NotRevealed):
        service.confirm_item(db, case, item, alice, classification="A1", annotations=[], clock=clock)
    orgsettings.set_value(db, "review.action_without_viewing", "A1", actor="admin", clock=clock)
    service.confirm_item(db, case, item, alice, classification="A1", annotations=["generative_ai"], clock=clock)
    assert service.conclude(db, case, alice, clock=clock) == "confirmed"
    assert case.classification == "A1"


def test_not_a_match_needs_a_reason_and_feeds_back_to_the_bank(db: Session, clock: ManualClock,
                                                               user_factory) -> None:  # type: ignore[no-untyped-def]
    bank = banks.create_bank(db, name="KNOWN", actor="t", clock=clock)
    entry = banks.add_entry(db, bank, {"md5": "a" * 32}, actor="t", clock=clock).entry
    db.commit()
    case = _open(db, clock, entry_id=entry.id, bank_id=bank.id)
    alice = _reviewer(db, user_factory)
    service.claim(db, case, alice, clock=clock)
    item = service.items_of(db, case.id)[0]
    with pytest.raises(DecisionRefused):
        service.reject_item(db, case, item, alice, reason="  ", disable_entry=True, clock=clock)
    service.reject_item(db, case, item, alice, reason="a cartoon, not the listed image", disable_entry=True,
                        clock=clock)
    assert service.conclude(db, case, alice, clock=clock) == "dismissed"
    db.commit()
    feedback = db.scalar(select(EntryFeedback))
    assert feedback is not None and feedback.entry_id == entry.id and feedback.disabled_entry
    db.refresh(entry)
    assert entry.enabled is False


def test_escalation_needs_a_different_second_reviewer(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case = _open(db, clock)
    alice, bob = _reviewer(db, user_factory), _reviewer(db, user_factory)
    service.claim(db, case, alice, clock=clock)
    service.escalate(db, case, alice, note="unsure of the age", clock=clock)
    assert case.status == "escalated"
    with pytest.raises(CaseHeld):
        service.claim(db, case, alice, clock=clock)
    assert service.next_case(db, alice, clock=clock) is None
    service.claim(db, case, bob, clock=clock)
    item = service.items_of(db, case.id)[0]
    service.reject_item(db, case, item, bob, reason="adult, verified", disable_entry=False, clock=clock)
    assert service.conclude(db, case, bob, clock=clock) == "dismissed"


def test_every_transition_is_recorded(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case = _open(db, clock)
    alice = _reviewer(db, user_factory)
    service.claim(db, case, alice, clock=clock)
    service.release(db, case, alice, clock=clock)
    db.commit()
    kinds = [e.kind for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
    assert kinds == ["opened", "item_added", "claimed", "released"]


def test_removal_clock_fires_when_nothing_was_removed(db: Session, clock: ManualClock, sessions) -> None:  # type: ignore[no-untyped-def]
    import bastion.cases.tasks  # noqa: F401
    from bastion.executor import TaskContext
    from bastion.timers import Ticker

    case = _open(db, clock)
    before = case.priority
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock))
    clock.advance(timedelta(hours=23, minutes=59))
    assert ticker.tick().ran == []
    clock.advance(timedelta(minutes=1))
    assert len(ticker.tick().ran) == 1
    db.expire_all()
    assert db.get(Case, case.id).priority > before + 500  # type: ignore[union-attr]
    assert "removal_overdue" in [e.kind for e in service.events_of(db, case.id)]


def test_an_innocent_users_media_is_purged_on_schedule_after_not_a_match(db: Session, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                                         user_factory, tmp_path) -> None:
    """Decided not a match: 30 days to check the decision, then the picture leaves the vault (unless held)."""
    from bastion.evidence import FsspecBlobStore, MasterKey, Vault
    from bastion.evidence.models import EvidenceItem
    from bastion.evidence.purge import purge_expired
    from tests.detect.images import jpeg

    store = FsspecBlobStore(str(tmp_path / "vault"))
    vault = Vault(store, MasterKey.generate(), clock)
    kept = [vault.preserve(db, jpeg(n), kind="media", subject=f"scan:{n}", actor="t", reason="matched upload")
            for n in (1, 2)]
    db.commit()
    innocent = service.open_or_extend(db, account_id="acct-9", scan_id=9, content_id="post-9", matches=[_match()],
                                      media_ref=f"evidence:{kept[0].id}", clock=clock)
    shared = service.open_or_extend(db, account_id="acct-8", scan_id=8, content_id="post-8", matches=[_match()],
                                    media_ref=f"evidence:{kept[1].id}", clock=clock)
    service.open_or_extend(db, account_id="acct-7", scan_id=7, content_id="post-7", matches=[_match()],
                           media_ref=f"evidence:{kept[1].id}", clock=clock)  # the same picture, still pending
    db.commit()
    alice = _reviewer(db, user_factory)
    for case in (innocent, shared):
        service.claim(db, case, alice, clock=clock)
        service.reject_item(db, case, service.items_of(db, case.id)[0], alice, reason="a different picture",
                            disable_entry=False, clock=clock)
    db.commit()
    first, second = db.get(EvidenceItem, kept[0].id), db.get(EvidenceItem, kept[1].id)
    assert first.retention_until == clock.now() + timedelta(days=30)  # type: ignore[union-attr]
    assert second.retention_until is None  # another case still holds it undecided

    clock.advance(timedelta(days=31))
    purge_expired(db, store=store, now=clock.now(), actor="bastion", clock=clock)
    db.commit()
    db.refresh(first)
    assert first.status == "purged"  # type: ignore[union-attr]
    assert db.get(EvidenceItem, kept[1].id).status != "purged"  # type: ignore[union-attr]
