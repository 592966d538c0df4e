"""Bulk decisions on items that matched one bank entry: plan, stale refusal, races, visibility; both databases."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bastion.actions.models import OutboxAction as Action
from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.cases import bulk, routing, service
from bastion.cases.enforce import Enforcement
from bastion.cases.errors import AlreadyDecided, CaseNotFound, DecisionRefused, StaleSelection
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.orgsettings import set_value
from bastion.scanning.models import Scan

CONFIRM = bulk.Verdict("confirm", classification="A1")
REJECT = bulk.Verdict("not_match", reason="a cartoon, not the listed picture")
CHOICE = Enforcement(remove=True, restrict="suspend", preserve=False, report=True, add_to_bank=False)


def _open(db: Session, clock: ManualClock, account: str, *, entry: int = 7, distance: int = 0) -> Case:
    scan = Scan(created_at=clock.now(), source="upload", content_id=f"post-{account}-{entry}", account_id=account,
                metadata_json="{}", md5="0" * 32, sha1="0" * 40, sha256="0" * 64)
    db.add(scan)
    db.flush()
    match = SimpleNamespace(bank_id=1, bank_name="KNOWN", source="industry", entry_id=entry, signal_type="pdq",
                            distance=distance, classification="A1")
    case = service.open_or_extend(db, account_id=account, scan_id=scan.id, content_id=scan.content_id,
                                  matches=[match], media_ref="", clock=clock)
    db.commit()
    return case


def _user(db: Session, user_factory) -> User:  # type: ignore[no-untyped-def]
    return db.get(User, user_factory(Role.REVIEWER).id)  # type: ignore[return-value]


def _items(db: Session, entry: int = 7) -> list[int]:
    return list(db.scalars(select(CaseItem.id).where(CaseItem.entry_id == entry).order_by(CaseItem.id)))


def _allow_unseen(db: Session, clock: ManualClock) -> None:
    set_value(db, "review.action_without_viewing", "A1", actor="admin", clock=clock)
    db.commit()


def test_the_plan_lists_each_item_case_and_action_then_applies_exactly_that(db: Session, clock: ManualClock,
                                                                            user_factory) -> None:  # type: ignore[no-untyped-def]
    _allow_unseen(db, clock)
    first, second = _open(db, clock, "acct-1"), _open(db, clock, "acct-2")
    _open(db, clock, "acct-2", entry=8)  # a second item of acct-2's case, another entry: that case stays open
    alice = _user(db, user_factory)
    shown = bulk.plan(db, _items(db), CONFIRM, CHOICE, user=alice, visible=None, clock=clock)
    assert not shown.blockers
    steps = {s.case.id: s for s in shown.cases}
    assert steps[first.id].concludes and steps[first.id].status_after == "confirmed"
    assert steps[first.id].actions == ["remove content post-acct-1-7", "suspend account acct-1",
                                       "CyberTipline report draft"]
    assert not steps[second.id].concludes and len(steps[second.id].waiting) == 1
    db.rollback()
    bulk.apply(db, _items(db), CONFIRM, CHOICE, user=alice, visible=None, clock=clock, seen=shown.snapshot,
               digest=shown.digest)
    db.commit()
    assert db.get(Case, first.id).status == "confirmed"  # type: ignore[union-attr]
    kept = db.get(Case, second.id)
    assert kept.status == "in_review" and kept.claimed_by is None  # type: ignore[union-attr]
    assert {i.decision for i in db.scalars(select(CaseItem).where(CaseItem.entry_id == 7))} == {"confirmed"}
    assert {(a.kind, a.target) for a in db.scalars(select(Action))} == {
        ("remove_content", "post-acct-1-7"), ("restrict_account", "acct-1")}
    per_item = db.scalars(select(AuditRecord).where(AuditRecord.action == "case.bulk_item")).all()
    assert sorted(int(r.subject.split(":")[1]) for r in per_item) == _items(db)


def test_a_changed_item_refuses_the_whole_act_and_says_what_changed(db: Session, clock: ManualClock,
                                                                    user_factory) -> None:  # type: ignore[no-untyped-def]
    _open(db, clock, "acct-1")
    other = _open(db, clock, "acct-2")
    alice, bob = _user(db, user_factory), _user(db, user_factory)
    shown = bulk.plan(db, _items(db), REJECT, CHOICE, user=alice, visible=None, clock=clock)
    db.rollback()
    service.claim(db, other, bob, clock=clock)  # bob takes one of the cases meanwhile
    db.commit()
    with pytest.raises(StaleSelection) as stale:
        bulk.apply(db, _items(db), REJECT, CHOICE, user=alice, visible=None, clock=clock, seen=shown.snapshot,
                   digest=shown.digest)
    db.rollback()
    assert stale.value.changes == [f"Case {other.id} is now held by {bob.username}.", f"Case {other.id} is now in_review."]
    assert {i.decision for i in db.scalars(select(CaseItem))} == {"pending"}  # nothing at all was decided


def test_a_tampered_confirmation_is_refused(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    _open(db, clock, "acct-1")
    alice = _user(db, user_factory)
    shown = bulk.plan(db, _items(db), REJECT, CHOICE, user=alice, visible=None, clock=clock)
    with pytest.raises(Exception, match="digest"):
        bulk.apply(db, _items(db), REJECT, CHOICE, user=alice, visible=None, clock=clock,
                   seen=shown.snapshot.replace("pending", "confirmed"), digest=shown.digest)


def test_rules_of_single_decisions_hold(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    held = _open(db, clock, "acct-1")
    _open(db, clock, "acct-2")
    alice, bob = _user(db, user_factory), _user(db, user_factory)
    service.claim(db, held, bob, clock=clock)
    db.commit()
    shown = bulk.plan(db, _items(db), CONFIRM, CHOICE, user=alice, visible=None, clock=clock)
    assert any("being reviewed by " + bob.username in b for b in shown.blockers)
    assert any("not yet viewed" in b for b in shown.blockers)  # media unseen, policy silent
    with pytest.raises(DecisionRefused):
        bulk.apply(db, _items(db), CONFIRM, CHOICE, user=alice, visible=None, clock=clock, seen=shown.snapshot,
                   digest=shown.digest)
    db.rollback()
    with pytest.raises(DecisionRefused):
        bulk.plan(db, _items(db), bulk.Verdict("not_match", reason=" "), CHOICE, user=alice, visible=None,
                  clock=clock)
    _open(db, clock, "acct-3", entry=9)
    with pytest.raises(Exception, match="same bank entry"):
        bulk.plan(db, _items(db) + _items(db, 9), REJECT, CHOICE, user=alice, visible=None, clock=clock)


def test_queue_visibility_is_respected(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    hidden = _open(db, clock, "acct-1")
    mine = _open(db, clock, "acct-2")
    queue = routing.create_queue(db, name="Specialists", actor="lead", clock=clock)
    routing.move(db, hidden, queue.id, actor="lead", reason="specialist", clock=clock)
    db.commit()
    alice = _user(db, user_factory)
    visible = routing.visible_queue_ids(db, alice.id, sees_all=False)
    assert [c.id for _, c in bulk.candidates(db, 7, visible=visible)] == [mine.id]
    with pytest.raises(CaseNotFound):
        bulk.plan(db, _items(db), REJECT, CHOICE, user=alice, visible=visible, clock=clock)


def test_two_deciders_on_one_item_one_wins_the_other_is_told(db: Session, clock: ManualClock,
                                                             sessions: sessionmaker[Session], user_factory) -> None:  # type: ignore[no-untyped-def]
    case = _open(db, clock, "acct-1")
    alice, bob = _user(db, user_factory), _user(db, user_factory)
    with sessions() as a, sessions() as b:
        ua, ub = a.get(User, alice.id), b.get(User, bob.id)
        seen_a = bulk.plan(a, _items(a), REJECT, CHOICE, user=ua, visible=None, clock=clock)  # type: ignore[arg-type]
        seen_b = bulk.plan(b, _items(b), REJECT, CHOICE, user=ub, visible=None, clock=clock)  # type: ignore[arg-type]
        a.rollback(), b.rollback()
        bulk.apply(a, _items(a), REJECT, CHOICE, user=ua, visible=None, clock=clock,  # type: ignore[arg-type]
                   seen=seen_a.snapshot, digest=seen_a.digest)
        a.commit()
        with pytest.raises(StaleSelection) as told:
            bulk.apply(b, _items(b), REJECT, CHOICE, user=ub, visible=None, clock=clock,  # type: ignore[arg-type]
                       seen=seen_b.snapshot, digest=seen_b.digest)
        b.rollback()
    assert f"decided (not_match) by {alice.username}" in told.value.message
    db.expire_all()
    assert db.get(Case, case.id).status == "dismissed"  # type: ignore[union-attr]


def test_the_conditional_update_stops_a_second_decision(db: Session, clock: ManualClock,
                                                        sessions: sessionmaker[Session], user_factory) -> None:  # type: ignore[no-untyped-def]
    """Past the snapshot check, the pending-only update is what keeps an item from being decided twice."""
    case = _open(db, clock, "acct-1")
    bob = _user(db, user_factory)
    item = db.get(CaseItem, _items(db)[0])
    db.execute(text("UPDATE case_items SET decision = 'confirmed' WHERE id = :i"), {"i": item.id})  # another decider
    db.commit()
    service.claim(db, case, bob, clock=clock)
    with pytest.raises(AlreadyDecided):
        bulk._decide_once(db, case, item, REJECT, bob, clock, "d")  # type: ignore[arg-type]
    db.rollback()


def test_concurrent_bulk_acts_on_postgres_wait_and_the_second_is_told(database_url: str, db: Session,
                                                                      clock: ManualClock,
                                                                      sessions: sessionmaker[Session],
                                                                      user_factory) -> None:  # type: ignore[no-untyped-def]
    """Row locks: the second act waits for the first to commit, then sees the change and refuses."""
    if not database_url.startswith("postgresql"):
        assert database_url.startswith("sqlite")  # SQLite serialises writers; the tests above cover it
        return
    _open(db, clock, "acct-1")
    alice, bob = _user(db, user_factory), _user(db, user_factory)
    a, b = sessions(), sessions()
    ua, ub = a.get(User, alice.id), b.get(User, bob.id)
    seen_a = bulk.plan(a, _items(a), REJECT, CHOICE, user=ua, visible=None, clock=clock)  # type: ignore[arg-type]
    seen_b = bulk.plan(b, _items(b), REJECT, CHOICE, user=ub, visible=None, clock=clock)  # type: ignore[arg-type]
    a.rollback(), b.rollback()
    bulk.apply(a, _items(a), REJECT, CHOICE, user=ua, visible=None, clock=clock,  # type: ignore[arg-type]
               seen=seen_a.snapshot, digest=seen_a.digest)  # holds the row locks, not committed yet
    outcome: list[BaseException] = []

    def second() -> None:
        try:
            bulk.apply(b, _items(b), REJECT, CHOICE, user=ub, visible=None, clock=clock,  # type: ignore[arg-type]
                       seen=seen_b.snapshot, digest=seen_b.digest)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome.append(exc)
        finally:
            b.rollback()

    thread = threading.Thread(target=second)
    thread.start()
    with sessions() as watch:  # wait until the second act is blocked on a lock (no sleeps, no timing)
        while not watch.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND datname = current_database()")):
            watch.rollback()
            if not thread.is_alive():
                break
    a.commit()
    thread.join()
    a.close(), b.close()
    assert len(outcome) == 1 and isinstance(outcome[0], StaleSelection), outcome
    assert json.loads(seen_b.snapshot)["items"]


def test_candidates_show_pending_items_of_open_cases_only(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    _open(db, clock, "acct-1")
    done = _open(db, clock, "acct-2")
    db.get(Case, done.id).status = "dismissed"  # type: ignore[union-attr]
    db.commit()
    clock.advance(timedelta(minutes=1))
    assert [c.account_id for _, c in bulk.candidates(db, 7, visible=None)] == ["acct-1"]
