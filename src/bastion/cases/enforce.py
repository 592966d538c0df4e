"""Turning a confirmed case into enforcement: outbox actions, own-bank entries, the report request.

Everything here runs in the reviewer's transaction: the decision and its actions
commit together, and the outbox delivers them afterwards with retries. A case
becomes `actioned` when every action it caused has been delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bastion import timers
from bastion.actions import outbox
from bastion.actions.models import ActionStatus
from bastion.auth.models import User
from bastion.banks import service as banks
from bastion.banks.errors import BankNotFound
from bastion.cases import autoaction, sampling
from bastion.cases.kinds import REPORTABLE
from bastion.cases.models import Case, CaseItem
from bastion.cases.service import REMOVAL_TIMER, _event, conclude, items_of, transition
from bastion.clock import Clock
from bastion.executor import TaskContext, registry
from bastion.orgsettings import get_value
from bastion.scanning.models import Scan

SYNC_TIMER = "cases.sync_actions"
#: Registered by `bastion.notices.statements` (a layer above): the statement of reasons, or its withholding.
STATEMENT_TIMER = "notices.statement"
RESTRICTIONS = ("", "suspend", "limit")


@dataclass(frozen=True)
class Enforcement:
    """What a reviewer chose to do about a confirmed case."""

    remove: bool = True
    restrict: str = "suspend"  # "", "suspend" or "limit"
    preserve: bool = True
    report: bool = True
    add_to_bank: bool = True


def subject(case: Case) -> str:
    return f"case:{case.id}"


def decide_case(session: Session, case: Case, user: User, choice: Enforcement, *, clock: Clock,
                vault: Any | None = None) -> str:
    """Conclude the case; if confirmed, request the chosen actions. Returns the new status.

    With a `vault`, preserving also files each confirmed item's media as evidence of the
    case (with the decision as context) under the removed-content retention policy.
    """
    if choice.restrict not in RESTRICTIONS:
        from bastion.errors import InvalidInput

        raise InvalidInput("restrict must be empty, 'suspend' or 'limit'.")
    status = conclude(session, case, user, clock=clock)
    autoaction.reverse_rejected(session, case, user, clock=clock)
    sampling.maybe_sample(session, case, user, clock=clock)
    if status == "confirmed":
        _enforce(session, case, user, choice, clock)
        if choice.preserve and vault is not None:
            _preserve_media(session, case, user, vault, clock)
    return status


def _preserve_media(session: Session, case: Case, user: User, vault: Any, clock: Clock) -> None:
    """The matched media becomes evidence of this case: same encrypted bytes, new item, case context."""
    for item in items_of(session, case.id):
        if item.decision != "confirmed" or not item.media_ref.startswith("evidence:"):
            continue
        kept = vault.get(session, int(item.media_ref.split(":", 1)[1]))
        # streamed: a video goes from the scan's copy into the case's evidence a chunk at a time
        with vault.open_stream(session, kept.id, actor=user.username, reason=f"preserving for case {case.id}") as data:
            evidence = vault.preserve(
                session, data, kind="media", subject=subject(case), actor=user.username,
                reason=f"confirmed {item.classification} in case {case.id}", pdq=kept.pdq or None,
                metadata={"content_id": item.content_id, "scan_id": item.scan_id, "account_id": case.account_id},
                context={"case": case.id, "item": item.id, "classification": item.classification,
                         "bank": item.bank_name, "entry": item.entry_id, "distance": item.distance},
            )
        vault.apply_retention(session, evidence.id, "removed_content", from_time=clock.now(), actor=user.username,
                              reason=f"content removed after case {case.id}")
        _event(session, case, user.username, "evidence_preserved", clock,
               details={"item": item.id, "evidence": evidence.id})


def _enforce(session: Session, case: Case, user: User, choice: Enforcement, clock: Clock) -> None:
    confirmed = [i for i in items_of(session, case.id) if i.decision == "confirmed"]
    account = case.account_id if not case.account_id.startswith("content:") else ""
    requested: list[str] = []
    for item in confirmed:
        if choice.remove and item.content_id:
            outbox.enqueue(session, kind="remove_content", target=item.content_id, subject=subject(case),
                           payload={"reason": f"confirmed {item.classification} (case {case.id})"},
                           actor=user.username, clock=clock)
            requested.append(f"remove {item.content_id}")
    if account and choice.restrict:
        outbox.enqueue(session, kind="restrict_account", target=account, subject=subject(case),
                       payload={"restriction": choice.restrict, "reason": f"case {case.id} confirmed"},
                       actor=user.username, clock=clock)
        requested.append(f"{choice.restrict} {account}")
    if account and choice.preserve:
        outbox.enqueue(session, kind="preserve_account", target=account, subject=subject(case), payload={},
                       actor=user.username, clock=clock)
        requested.append(f"preserve {account}")
    if choice.add_to_bank and case.kind in REPORTABLE:  # never NCII into the CSAM bank
        requested.extend(_add_to_own_bank(session, case, confirmed, user, clock))
    if choice.report and case.kind in REPORTABLE:  # NCMEC takes child sexual abuse material only
        _event(session, case, user.username, "report_requested", clock, details={"items": [i.id for i in confirmed]})
    _event(session, case, user.username, "actions_requested", clock, details={"actions": requested})
    timers.schedule(session, kind=SYNC_TIMER, due_at=clock.now(), clock=clock, subject=subject(case),
                    payload={"case_id": case.id}, dedupe_key=f"case:{case.id}:sync")
    if account and (choice.remove or choice.restrict):
        timers.schedule(session, kind=STATEMENT_TIMER, due_at=clock.now(), clock=clock, subject=subject(case),
                        payload={"case_id": case.id}, dedupe_key=f"case:{case.id}:statement")


#: The `source` of the entries confirmed media adds to the own bank (external id `case-<case>-item-<item>`); hash
#: exchanges read it to share confirmed new material (`bastion.exchanges.sharing`).
OWN_REVIEW_SOURCE = "own review"


def own_bank_name(session: Session) -> str:
    """The bank confirmed media goes to (the `review.own_bank` setting)."""
    return str(get_value(session, "review.own_bank"))


def _add_to_own_bank(session: Session, case: Case, items: list[CaseItem], user: User, clock: Clock) -> list[str]:
    """Re-uploads of confirmed media are caught at once: their hashes join the platform's own bank."""
    name = own_bank_name(session)
    try:
        bank = banks.get_bank(session, name)
    except BankNotFound:
        bank = banks.create_bank(session, name=name, source=OWN_REVIEW_SOURCE, actor=user.username, clock=clock,
                                 description="Media confirmed by this platform's reviewers.")
    added = []
    for item in items:
        scan = session.get(Scan, item.scan_id)
        if scan is None:
            continue
        signals = {"md5": scan.md5, "sha256": scan.sha256, **({"pdq": scan.pdq} if scan.pdq else {})}
        result = banks.add_entry(session, bank, signals, actor=user.username, clock=clock,
                                 external_id=f"case-{case.id}-item-{item.id}", source=OWN_REVIEW_SOURCE,
                                 classification=item.classification)
        added.append(f"bank {name} entry {result.entry.id}")
    return added


def sync_status(session: Session, case: Case, clock: Clock) -> bool:
    """Mark a confirmed case actioned once every action it caused is delivered. True when done."""
    actions = outbox.actions_for(session, subject(case))
    if case.status != "confirmed":
        return True
    if actions and all(a.status == ActionStatus.DELIVERED for a in actions):
        transition(session, case, "actioned", actor="bastion", clock=clock, kind="actioned",
                   details={"actions": len(actions)})
        timers.cancel(session, subject=subject(case), kind=REMOVAL_TIMER)
        return True
    return not actions or all(a.status == ActionStatus.DEAD or a.status == ActionStatus.DELIVERED for a in actions)


@registry.task(SYNC_TIMER)
def sync_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Check a confirmed case's actions; look again shortly while any are still under way."""
    with ctx.sessions() as session:
        case = session.get(Case, int(payload["case_id"]))
        if case is None:
            return
        if not sync_status(session, case, ctx.clock):
            timers.schedule(session, kind=SYNC_TIMER, due_at=ctx.clock.now() + timedelta(seconds=15),
                            clock=ctx.clock, subject=subject(case), payload={"case_id": case.id},
                            dedupe_key=f"case:{case.id}:sync:{ctx.clock.now().timestamp():.0f}")
        session.commit()
