"""Appeals: the account holder contests a confirmed case's enforcement, and someone else decides.

The platform files the appeal on its user's behalf (`POST /api/v1/appeals`), naming the account
and the statement of reasons or the content it is about. The clock comes from the redress
catalogue of the user's jurisdiction (India: fifteen days, Rule 3(2)(a)(i); EU: "timely", an
internal target). Whoever confirmed the case, or any of its items, may not decide its appeal (DSA
Art. 20; the principle holds everywhere).

A reversal undoes what the case did, through the outbox, with the same retries and idempotency as
the enforcement: removed content is restored, a restricted account reinstated, and the hashes
Bastion itself added to its own bank from this case are disabled. What was filed cannot be undone
that way: a CyberTipline report is flagged for staff (`ncmec.reversal`), and the DSA statement is
dealt with by the `dsa.submit` timer (`dsa.reversals`), which reads the case's `appeal_reversed` event. The evidence stays preserved
under its retention: an appeal decides about the user, not about the legal hold, and the media is
never shown unblurred here. The decision letter goes to the user through the platform, and for an
Indian user names the Grievance Appellate Committee route (Rule 3A).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from bastion import audit, timers
from bastion.actions import outbox
from bastion.actions.models import ActionStatus
from bastion.appeals.models import Appeal
from bastion.auth.models import User
from bastion.banks import service as banks
from bastion.banks.models import BankEntry
from bastion.cases.models import Case, CaseEvent, CaseItem
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.db.base import UTCDateTime
from bastion.db.keyset import NEVER, Page, after_key, cut, exact, key_cursor, page_size, seek
from bastion.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bastion.executor import TaskContext, registry
from bastion.grievances.service import tell_officer
from bastion.ncmec import reversal as ncmec_reversal
from bastion.notices import statements
from bastion.orgsettings import get_value
from bastion.platform import AccountNotice

DEADLINE_TASK = "appeals.deadline"
OUTCOMES = {"upheld": "The decision stands.", "reversed": "The decision is reversed."}
ENFORCED = ("confirmed", "actioned", "closed")
MAX_GROUNDS = 5000


def _hours(session: Session, value: Any) -> int:
    if isinstance(value, str):  # "setting:<key>"
        return int(get_value(session, value.split(":", 1)[1]))
    return int(value)


def _case_for(session: Session, *, account_id: str, notice_reference: str, content_id: str) -> tuple[Case, str]:
    """The enforced case the appeal is about, found only through the appellant's own account."""
    if notice_reference:
        record = statements.by_reference(session, notice_reference)
        if record.account_id != account_id or not record.subject.startswith("case:"):
            raise NotFound(f"No notice {notice_reference!r} was sent to this account.")
        case = session.get(Case, int(record.subject.split(":", 1)[1]))
    elif content_id:
        case = session.scalar(select(Case).join(CaseItem, CaseItem.case_id == Case.id).where(
            Case.account_id == account_id, CaseItem.content_id == content_id).order_by(Case.id.desc()).limit(1))
    else:
        raise InvalidInput("Name what is appealed: the notice's reference, or the content's id.")
    if case is None or case.account_id != account_id or case.status not in ENFORCED:
        raise NotFound("No enforcement on this account matches; check the account id and the reference.")
    return case, notice_reference


def submit(session: Session, *, account_id: str, grounds: str, notice_reference: str = "", content_id: str = "",
           jurisdiction: str = "", submitted_by: str, clock: Clock) -> Appeal:
    """File an appeal; one open appeal per case, within the jurisdiction's window."""
    account_id, grounds = account_id.strip(), grounds.strip()
    if not account_id:
        raise InvalidInput("Give the account id of the user who appeals.")
    if len(grounds) > MAX_GROUNDS:
        raise InvalidInput(f"The grounds are {len(grounds):,} characters; the limit is {MAX_GROUNDS:,}.")
    jurisdiction = jurisdiction or str(get_value(session, statements.USER_JURISDICTION))
    rules = statements.route(jurisdiction)
    case, notice_reference = _case_for(session, account_id=account_id, notice_reference=notice_reference.strip(),
                                       content_id=content_id.strip())
    open_one = session.scalar(select(Appeal).where(Appeal.case_id == case.id, Appeal.status == "received"))
    if open_one is not None:
        raise Conflict(f"Appeal {open_one.reference} against this decision is already open.")
    window = rules["appeal_window_days"]
    decided_at = case.closed_at or case.updated_at
    if window is not None and clock.now() > decided_at + timedelta(days=int(window)):
        raise InvalidInput(f"The time to appeal this decision ({window} days) has passed.")
    now = clock.now()
    appeal = Appeal(reference="", case_id=case.id, account_id=account_id, notice_reference=notice_reference,
                    grounds=grounds, jurisdiction=jurisdiction, submitted_by=submitted_by, status="received",
                    received_at=now, due_at=now + timedelta(hours=_hours(session, rules["appeal_decide_hours"])))
    session.add(appeal)
    session.flush()
    appeal.reference = f"AP-{now:%Y}-{appeal.id:06d}"
    timers.schedule(session, kind=DEADLINE_TASK, due_at=appeal.due_at, clock=clock, subject=f"appeal:{appeal.id}",
                    payload={"appeal_id": appeal.id}, dedupe_key=f"appeal:{appeal.id}:due")
    case_event(session, case, submitted_by, "appeal_received", clock, details={"appeal": appeal.reference})
    audit.record(session, actor=submitted_by, action="appeal.receive", subject=f"appeal:{appeal.id}", clock=clock,
                 details={"reference": appeal.reference, "case": case.id, "jurisdiction": jurisdiction})
    return appeal


def get(session: Session, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"No appeal {appeal_id}.")
    return appeal


def first_deciders(session: Session, case: Case) -> tuple[set[int], set[str]]:
    """Who took the decision under appeal: the item deciders (ids) and who concluded the case (names)."""
    ids = {i for i in session.scalars(select(CaseItem.decided_by).where(CaseItem.case_id == case.id)) if i}
    names = set(session.scalars(select(CaseEvent.actor).where(CaseEvent.case_id == case.id,
                                                              CaseEvent.kind == "confirmed")))
    return ids, names


def may_decide(session: Session, appeal: Appeal, user: User) -> bool:
    ids, names = first_deciders(session, session.get(Case, appeal.case_id))  # type: ignore[arg-type]
    return user.id not in ids and user.username not in names


def decide(session: Session, appeal: Appeal, user: User, *, outcome: str, text: str, clock: Clock) -> None:
    """Decide the appeal: a reversal undoes the case's actions; either way the user gets the letter."""
    if appeal.status != "received":
        raise Conflict(f"Appeal {appeal.reference} is already decided.")
    if outcome not in OUTCOMES:
        raise InvalidInput(f"An appeal's outcome is one of: {', '.join(OUTCOMES)}.")
    if not text.strip():
        raise InvalidInput("Write the reasons for the decision: the user reads them.")
    case = session.get(Case, appeal.case_id)
    assert case is not None
    if not may_decide(session, appeal, user):
        raise PermissionDenied("You took the decision under appeal: a different reviewer must decide it.")
    if outcome == "reversed":
        waiting = [a for a in outbox.actions_for(session, f"case:{case.id}")
                   if a.status not in (ActionStatus.DELIVERED, ActionStatus.DEAD)]
        if waiting:  # an undo delivered before its action would be undone by that action arriving late
            raise Conflict(f"{len(waiting)} of the case's actions are still being delivered to the platform; "
                           "reverse it once they are done (the case page shows them).")
    appeal.status, appeal.outcome, appeal.decided_at, appeal.decided_by = "decided", outcome, clock.now(), user.id
    appeal.decision_text = text.strip()[:MAX_GROUNDS]
    undone = reverse(session, appeal, case, user, clock) if outcome == "reversed" else []
    case_event(session, case, user.username, f"appeal_{outcome}", clock,
               details={"appeal": appeal.reference, "undone": undone})
    timers.cancel(session, subject=f"appeal:{appeal.id}", kind=DEADLINE_TASK)
    rules = statements.route(appeal.jurisdiction)
    body = (f"{OUTCOMES[outcome]} {appeal.decision_text}" +
            ("\n\nWhat we restored: " + "; ".join(undone) + "." if undone else "") +
            (f"\n\n{rules['after_appeal']}" if rules["after_appeal"] else ""))
    letter = AccountNotice(kind="appeal_decision", reference=appeal.reference, title="The decision on your appeal",
                           body=body, facts={"outcome": outcome, "decided_by": "a person other than the first "
                                                                               "decider"})
    statements.send(session, account_id=appeal.account_id, subject=f"appeal:{appeal.id}", notice=letter,
                    jurisdiction=appeal.jurisdiction, withheld=None, actor=user.username, clock=clock)
    audit.record(session, actor=user.username, action="appeal.decide", subject=f"appeal:{appeal.id}", clock=clock,
                 details={"reference": appeal.reference, "outcome": outcome, "case": case.id, "undone": undone})


def reverse(session: Session, appeal: Appeal, case: Case, user: User, clock: Clock) -> list[str]:
    """Undo the case's removals and restriction through the outbox; withdraw the hashes it added."""
    undone: list[str] = []
    subject, reason = f"appeal:{appeal.id}", f"appeal {appeal.reference} upheld the user"
    for action in outbox.actions_for(session, f"case:{case.id}"):
        if action.status == ActionStatus.DEAD:
            continue  # it never happened
        if action.kind == "remove_content":
            outbox.enqueue(session, kind="restore_content", target=action.target, subject=subject,
                           payload={"reason": reason}, actor=user.username, clock=clock)
            undone.append(f"post {action.target}")
        elif action.kind == "restrict_account":
            outbox.enqueue(session, kind="lift_restriction", target=action.target, subject=subject,
                           payload={"reason": reason}, actor=user.username, clock=clock)
            undone.append(f"account {action.target}")
    prefix = f"case-{case.id}-item-"
    for entry in session.scalars(select(BankEntry).where(BankEntry.external_id.like(prefix + "%"),
                                                         BankEntry.enabled.is_(True))):
        banks.set_entry_enabled(session, entry, False, actor=user.username, clock=clock,
                                reason=f"appeal {appeal.reference} reversed case {case.id}")
        undone.append(f"own-bank entry {entry.id} withdrawn")
    # what was already filed with NCMEC cannot be amended through its API: flag it for staff, on the case
    ncmec_reversal.record_reversal(session, case, appeal_reference=appeal.reference, actor=user.username, clock=clock)
    return undone


def queue(session: Session, *, search: str = "", status: str = "received", cursor: str | None = None,
          limit: int | None = None) -> Page[Appeal]:
    """Appeals one keyset page at a time: open ones by their stored deadline, nearest first; decided
    ones latest first. The search is an exact reference or account id (both indexed), so no scan."""
    size = page_size(limit)
    stmt = select(Appeal).where(Appeal.status == status)
    search = exact(search, "reference or account id", 255)
    if search:
        stmt = stmt.where((Appeal.reference == search.upper()) | (Appeal.account_id == search))
    opened = status == "received"
    key = [Appeal.due_at, Appeal.id] if opened else [func.coalesce(Appeal.decided_at, literal(NEVER, UTCDateTime())),
                                                     Appeal.id]
    after = after_key(cursor, "ti")
    if after is not None:
        stmt = stmt.where(seek(key, after, descending=not opened))
    rows = list(session.scalars(stmt.order_by(*(key if opened else [k.desc() for k in key])).limit(size + 1)))
    return cut(rows, size, key=lambda a: key_cursor([a.due_at if opened else a.decided_at or NEVER, a.id]))


def of_case(session: Session, case_id: int) -> list[Appeal]:
    return list(session.scalars(select(Appeal).where(Appeal.case_id == case_id).order_by(Appeal.id)))


@registry.task(DEADLINE_TASK)
def deadline_passed(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """An appeal's clock ran out undecided: record it on the case and tell the Grievance Officer."""
    with ctx.sessions() as session, session.begin():
        appeal = session.get(Appeal, int(payload["appeal_id"]))
        if appeal is None or appeal.status != "received" or appeal.due_at > ctx.clock.now():
            return
        case = session.get(Case, appeal.case_id)
        rules = statements.route(appeal.jurisdiction)
        text = (f"Appeal {appeal.reference}: due {appeal.due_at:%Y-%m-%d %H:%M} UTC and not decided "
                f"({rules['appeal_decide_citation']}).")
        if case is not None:
            case_event(session, case, "system:appeals", "appeal_overdue", ctx.clock,
                       details={"appeal": appeal.reference})
        mailed = tell_officer(session, subject=f"Appeal {appeal.reference}: deadline passed", text=text,
                              kind="appeal.breach", subject_ref=f"appeal:{appeal.id}", actor="system:appeals",
                              clock=ctx.clock, key=f"appeal-breach:{appeal.id}")
        audit.record(session, actor="system:appeals", action="appeal.breach", subject=f"appeal:{appeal.id}",
                     clock=ctx.clock, details={"reference": appeal.reference, "mailed": mailed})


def overdue(appeal: Appeal, now: datetime) -> bool:
    return appeal.status == "received" and now > appeal.due_at


def as_dict(appeal: Appeal) -> dict[str, Any]:
    return json.loads(json.dumps({
        "reference": appeal.reference, "status": appeal.status, "outcome": appeal.outcome,
        "received_at": appeal.received_at.isoformat(), "due_at": appeal.due_at.isoformat(),
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None}))
