"""Bulk decisions: one verdict on several pending items that matched the same bank entry, across cases.

Why a separate step: a bank entry that is wrong (or plainly right) brings the same picture into many
cases, and deciding each alone is slow and error-prone. The rules stay those of a single decision:
only cases in the reviewer's queues, the case's claim (taken here, refused if someone else holds it),
a classification the case's kind allows, and confirming only what was viewed unless policy allows
confirming unseen. Media is never part of this module's output: hashes and metadata only.

The confirmation binds exactly what was shown. `plan` returns a snapshot of the selected items' state
(and of their cases and the cases' other items, since those decide whether a case concludes) and its
digest. `apply` locks the rows, takes the snapshot again and refuses the whole act, saying what
changed, if it differs; each item is then decided by a conditional update that succeeds only while
it is still pending, so two deciders racing on one item cannot both win.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.models import User
from bastion.cases import routing, service
from bastion.cases.enforce import Enforcement, decide_case
from bastion.cases.errors import AlreadyDecided, CaseNotFound, DecisionRefused, StaleSelection
from bastion.cases.kinds import REPORTABLE, classifications_of
from bastion.cases.models import Case, CaseItem
from bastion.clock import Clock
from bastion.errors import InvalidInput

DECISIONS = {"confirm": "confirmed", "not_match": "not_match"}
MAX_ITEMS = 200


@dataclass(frozen=True)
class Verdict:
    """The one decision applied to every selected item."""

    decision: str  # confirm | not_match
    classification: str = ""
    reason: str = ""
    disable_entry: bool = False

    def check(self) -> None:
        if self.decision not in DECISIONS:
            raise DecisionRefused("Choose confirm or not a match.")
        if self.decision == "not_match" and not self.reason.strip():
            raise DecisionRefused("Say why these are not a match; the reason is sent back to the bank's curators.")


@dataclass
class ItemStep:
    item: CaseItem
    outcome: str  # what the item becomes, e.g. "confirmed A1"
    blocker: str = ""


@dataclass
class CaseStep:
    case: Case
    queue: str
    items: list[ItemStep] = field(default_factory=list)
    concludes: bool = False
    status_after: str = ""
    actions: list[str] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # items of the case still to decide afterwards


@dataclass
class Plan:
    entry_id: int
    bank_name: str
    cases: list[CaseStep]
    snapshot: str
    digest: str

    @property
    def blockers(self) -> list[str]:
        return [f"Item {s.item.id} (case {c.case.id}): {s.blocker}" for c in self.cases for s in c.items if s.blocker]


def candidates(session: Session, entry_id: int, *, visible: list[int] | None, limit: int = MAX_ITEMS
               ) -> list[tuple[CaseItem, Case]]:
    """Pending items that matched `entry_id`, in open cases of the reviewer's queues, oldest case first."""
    stmt = (select(CaseItem, Case).join(Case, Case.id == CaseItem.case_id)
            .where(CaseItem.entry_id == entry_id, CaseItem.decision == "pending",
                   CaseItem.signal_type.not_in(routing.UNHASHED), Case.status.in_(service.OPEN))
            .order_by(Case.id, CaseItem.id).limit(limit))
    scope = routing.scope_clause(visible)
    if scope is not None:
        stmt = stmt.where(scope)
    return [(item, case) for item, case in session.execute(stmt).all()]


def _other_holder(case: Case, user_id: int, clock: Clock) -> int | None:
    live = case.claimed_by is not None and case.claim_expires_at is not None and case.claim_expires_at > clock.now()
    return case.claimed_by if live and case.claimed_by != user_id else None


def _load(session: Session, item_ids: list[int], *, lock: bool = False) -> tuple[list[CaseItem], dict[int, Case]]:
    ids = sorted(set(item_ids))
    if not ids:
        raise InvalidInput("Select at least one item.")
    if len(ids) > MAX_ITEMS:
        raise InvalidInput(f"Select at most {MAX_ITEMS} items at a time.")
    case_ids = sorted(set(session.scalars(select(CaseItem.case_id).where(CaseItem.id.in_(ids)))))
    # cases first, then items, each in id order: concurrent bulk acts lock in one order and never deadlock
    case_stmt = select(Case).where(Case.id.in_(case_ids)).order_by(Case.id).execution_options(populate_existing=True)
    item_stmt = (select(CaseItem).where(CaseItem.case_id.in_(case_ids)).order_by(CaseItem.id)
                 .execution_options(populate_existing=True))
    if lock:
        case_stmt, item_stmt = case_stmt.with_for_update(), item_stmt.with_for_update()
    cases = {c.id: c for c in session.scalars(case_stmt)}
    everything = list(session.scalars(item_stmt))
    found = {i.id for i in everything}
    missing = [i for i in ids if i not in found]
    if missing:
        raise CaseNotFound(f"No case item {', '.join(map(str, missing))}; select from the list again.")
    return [i for i in everything if i.id in ids], cases


def snapshot(session: Session, items: list[CaseItem], cases: dict[int, Case], user_id: int, clock: Clock) -> str:
    """The state the confirmation depends on, as canonical JSON."""
    siblings: dict[int, dict[str, str]] = {cid: {} for cid in cases}
    for item in session.scalars(select(CaseItem).where(CaseItem.case_id.in_(list(cases)))):
        siblings[item.case_id][str(item.id)] = item.decision
    state = {
        "items": {str(i.id): {"case": i.case_id, "decision": i.decision, "decided_by": i.decided_by,
                              "viewed": i.viewed, "entry": i.entry_id} for i in items},
        "cases": {str(c.id): {"status": c.status, "queue": c.queue_id, "held_by": _other_holder(c, user_id, clock),
                              "escalated_by": c.escalated_by, "items": siblings[c.id]} for c in cases.values()},
    }
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def digest_of(snap: str) -> str:
    return hashlib.sha256(snap.encode()).hexdigest()


def plan(session: Session, item_ids: list[int], verdict: Verdict, choice: Enforcement, *, user: User,
         visible: list[int] | None, clock: Clock, lock: bool = False) -> Plan:
    """Exactly what applying would do, item by item and case by case, with anything that stops it."""
    verdict.check()
    items, cases = _load(session, item_ids, lock=lock)
    entries = {(i.bank_id, i.entry_id) for i in items}
    if len(entries) != 1 or any(i.signal_type in routing.UNHASHED for i in items):
        raise InvalidInput("Select items that matched the same bank entry; a bulk decision is about one entry.")
    for case in cases.values():
        if not routing.may_see(case, visible):
            raise CaseNotFound(f"No case {case.id} in your queues.")
    names = routing.queue_names(session)
    users = dict(session.execute(select(User.id, User.username)).all())
    snap = snapshot(session, items, cases, user.id, clock)
    chosen = {i.id for i in items}
    steps: dict[int, CaseStep] = {}
    for item in items:
        case = cases[item.case_id]
        step = steps.setdefault(case.id, CaseStep(case, names.get(case.queue_id, "General queue")
                                                  if case.queue_id else "General queue"))
        outcome = (f"confirmed {verdict.classification}" if verdict.decision == "confirm" else "not a match")
        step.items.append(ItemStep(item, outcome, _blocker(session, case, item, verdict, user, users, clock)))
    for step in steps.values():
        _outcome(session, step, chosen, verdict, choice)
    return Plan(items[0].entry_id, items[0].bank_name, [steps[k] for k in sorted(steps)], snap, digest_of(snap))


def _blocker(session: Session, case: Case, item: CaseItem, verdict: Verdict, user: User, users: dict[int, str],
             clock: Clock) -> str:
    """Why this item cannot be decided by this reviewer now ('' when it can): the single decision's rules."""
    if item.decision != "pending":
        return f"already decided ({item.decision}) by {users.get(item.decided_by or 0, 'someone')}."
    holder = _other_holder(case, user.id, clock)
    if holder is not None:
        return f"case {case.id} is being reviewed by {users.get(holder, 'someone')}."
    if case.status == "escalated" and case.escalated_by == user.id:
        return f"case {case.id} needs a second reviewer: you escalated it."
    if case.status not in service.OPEN:
        return f"case {case.id} is {case.status}; there is nothing to review."
    if verdict.decision == "confirm":
        allowed = classifications_of(case.kind)
        if verdict.classification not in allowed:
            return f"choose a classification this kind of case allows: {', '.join(allowed)}."
        if not item.viewed and not service.may_confirm_unseen(session, item):
            return (f"not yet viewed, and policy does not allow confirming it unseen: open case {case.id} and "
                    "reveal it, or decide it there.")
    return ""


def _outcome(session: Session, step: CaseStep, chosen: set[int], verdict: Verdict, choice: Enforcement) -> None:
    """Whether the case concludes afterwards, and the actions its conclusion requests (as `enforce` does)."""
    case = step.case
    everything = service.items_of(session, case.id)
    step.waiting = [i.id for i in everything if i.decision == "pending" and i.id not in chosen]
    if step.waiting:
        return
    step.concludes = True
    after = {i.id: (DECISIONS[verdict.decision] if i.id in chosen else i.decision) for i in everything}
    confirmed = [i for i in everything if after[i.id] == "confirmed"]
    step.status_after = "confirmed" if confirmed else "dismissed"
    if not confirmed:
        step.actions = ["no enforcement: the case is dismissed"]
        return
    account = case.account_id if not case.account_id.startswith("content:") else ""
    acts = [f"remove content {i.content_id}" for i in confirmed if choice.remove and i.content_id]
    if account and choice.restrict:
        acts.append(f"{choice.restrict} account {account}")
    if account and choice.preserve:
        acts.append(f"preserve account {account}")
    if choice.add_to_bank and case.kind in REPORTABLE:
        acts.append(f"add {len(confirmed)} confirmed item(s) to our own bank")
    if choice.report and case.kind in REPORTABLE:
        acts.append("CyberTipline report draft")
    step.actions = acts or ["no enforcement chosen"]


def changes(seen: str, now: str, session: Session) -> list[str]:
    """Each difference between the confirmed snapshot and the current one, as a sentence."""
    old, new = json.loads(seen), json.loads(now)
    users = dict(session.execute(select(User.id, User.username)).all())
    names = routing.queue_names(session)
    said: list[str] = []
    for key, was in old["items"].items():
        cur = new["items"].get(key)
        if cur is None:
            said.append(f"Item {key} is no longer there.")
        elif cur["decision"] != was["decision"]:
            said.append(f"Item {key} was decided ({cur['decision']}) by {users.get(cur['decided_by'], 'someone')}.")
        elif cur != was:
            said.append(f"Item {key} changed.")
    for key, was in old["cases"].items():
        cur = new["cases"].get(key)
        if cur is None:
            said.append(f"Case {key} is no longer there.")
            continue
        if cur["queue"] != was["queue"]:
            said.append(f"Case {key} moved to {names.get(cur['queue'], 'the general queue')}.")
        if cur["held_by"] != was["held_by"]:
            said.append(f"Case {key} is now held by {users.get(cur['held_by'], 'nobody else')}.")
        if cur["status"] != was["status"]:
            said.append(f"Case {key} is now {cur['status']}.")
        if cur["items"] != was["items"] and not any(s.startswith(f"Item {i} ") for i in cur["items"] for s in said):
            said.append(f"Another item of case {key} was decided or added.")
        elif cur["escalated_by"] != was["escalated_by"]:
            said.append(f"Case {key} was escalated.")
    return said or ["The selection's state changed."]


def apply(session: Session, item_ids: list[int], verdict: Verdict, choice: Enforcement, *, user: User,
          visible: list[int] | None, clock: Clock, seen: str, digest: str, vault: Any | None = None) -> Plan:
    """Decide every selected item as confirmed, or nothing at all. The caller commits."""
    if digest_of(seen) != digest:
        raise InvalidInput("The confirmation does not match its digest; select the items again.")
    done = plan(session, item_ids, verdict, choice, user=user, visible=visible, clock=clock, lock=True)
    if done.snapshot != seen:
        raise StaleSelection(changes(seen, done.snapshot, session))
    if done.blockers:
        raise DecisionRefused("Nothing was decided: " + " ".join(done.blockers))
    for step in done.cases:
        case = step.case
        took = case.claimed_by != user.id or case.claim_expires_at is None or case.claim_expires_at <= clock.now()
        if took:
            service.claim(session, case, user, clock=clock, visible=visible)
        for s in step.items:
            _decide_once(session, case, s.item, verdict, user, clock, done.digest)
        if step.concludes:
            decide_case(session, case, user, choice, clock=clock, vault=vault)
        elif took:
            service.release(session, case, user, clock=clock)
    audit.record(session, actor=user.username, action="case.bulk_decision", subject=f"entry:{done.entry_id}",
                 clock=clock, details={"digest": done.digest, "decision": verdict.decision,
                                       "classification": verdict.classification,
                                       "items": [s.item.id for c in done.cases for s in c.items],
                                       "cases": [c.case.id for c in done.cases]})
    return done


def _decide_once(session: Session, case: Case, item: CaseItem, verdict: Verdict, user: User, clock: Clock,
                 digest: str) -> None:
    """Decide as a single decision would; the service takes the item from pending by a conditional update."""
    try:
        if verdict.decision == "confirm":
            service.confirm_item(session, case, item, user, classification=verdict.classification, annotations=[],
                                 clock=clock)
        else:
            service.reject_item(session, case, item, user, reason=verdict.reason,
                                disable_entry=verdict.disable_entry, clock=clock)
    except AlreadyDecided:
        raise AlreadyDecided(f"Item {item.id} of case {case.id} was decided by someone else first; nothing was "
                             "decided. Look at the selection again.") from None
    audit.record(session, actor=user.username, action="case.bulk_item", subject=f"case_item:{item.id}", clock=clock,
                 details={"case": case.id, "digest": digest, "decision": DECISIONS[verdict.decision]})
