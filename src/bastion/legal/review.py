"""Legal review: assignment, the decision, and the second approver every disclosure needs.

Decisions: produce, produce in part (say what is withheld and why), refuse (the reason goes to
the requester), ask for more (the request waits for the requester). A disclosure is approved
by a second person holding LEGAL_APPROVE; the decider cannot approve their own decision.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.auth.permissions import allowed
from bastion.auth.roles import Role
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal import clocks, intake, notify, perms, scope, verification
from bastion.legal.catalogue import get_instrument
from bastion.legal.errors import (
    CallbackRequired,
    OutOfScope,
    RequestHeld,
    RequestIncomplete,
    ScopeChanged,
    SecondApproverRequired,
    WrongState,
)
from bastion.legal.models import Decision, LegalRequest
from bastion.legal.requests import current_decision, decisions_of
from bastion.legal.timeline import event
from bastion.legal.validation import categories_of, scope_flags

OUTCOMES = ("produce", "produce_in_part", "refuse", "ask_more", "remove")
DISCLOSING = ("produce", "produce_in_part")
#: Decisions a second person must approve: disclosures, and acting on a removal order (`bastion.legal.removal`).
NEEDS_APPROVAL = (*DISCLOSING, "remove")


def approved_categories(session: Session, request: LegalRequest) -> list[str]:
    decision = current_decision(session, request.id)
    if decision is None or decision.status != "approved":
        return []
    return list(json.loads(decision.categories_json))


def assign(session: Session, request: LegalRequest, assignee: User, *, actor: str, clock: Clock) -> None:
    if not allowed(Role(assignee.role), perms.MANAGE) or assignee.disabled:
        raise InvalidInput(f"{assignee.username} cannot work legal requests (role {assignee.role}).")
    request.assignee_id = assignee.id
    event(session, request, actor=actor, kind="assigned", clock=clock, text=f"Assigned to {assignee.username}",
          details={"assignee": assignee.username})


def disclosure_blockers(session: Session, request: LegalRequest) -> list[str]:
    """Why nothing may be disclosed yet; empty when disclosure may go ahead."""
    blockers = []
    if request.verification == "held" or request.fraudulent:
        blockers.append("The request is held: its sender is not verified against the directory. It is never answered.")
    missing = json.loads(request.missing_json or "[]")
    if missing:
        blockers.append(f"The request is incomplete ({len(missing)} item(s) missing); ask the requester first.")
    emergency = request.emergency or get_instrument(session, request.instrument_key).emergency
    if emergency:
        if not verification.callback_confirmed(session, request):
            blockers.append("Emergency disclosure needs a confirmed call-back to the agency's number in the directory "
                            "first; record it on the verification panel.")
    elif request.verification != "verified":
        blockers.append("The requester's address is not confirmed through the portal yet.")
    return blockers


def decide(session: Session, request: LegalRequest, user: User, *, outcome: str, actor: str, clock: Clock,
           categories: list[str] | None = None, reason: str = "") -> Decision:
    if outcome not in OUTCOMES:
        raise InvalidInput(f"A decision is one of {', '.join(OUTCOMES)}.")
    if intake.is_closed(request):
        raise WrongState(f"{request.reference} is {request.status}; it takes no more decisions.")
    if request.verification == "held" or request.fraudulent:
        raise RequestHeld(f"{request.reference} is held (sender not verified against the directory) and is never "
                          "answered. Mark it fraudulent, or verify the agency and re-check.")
    if outcome in ("refuse", "ask_more", "produce_in_part") and not reason.strip():
        raise InvalidInput({"refuse": "Give the reason for refusing; it is sent to the requester.",
                            "ask_more": "Say what the requester must send.",
                            "produce_in_part": "Say what is withheld and why."}[outcome])
    chosen: list[str] = []
    if outcome == "remove":
        from bastion.legal import removal

        removal.check_decidable(session, request)
        if json.loads(request.missing_json or "[]"):
            raise RequestIncomplete(f"{request.reference} is incomplete; ask for what is missing before acting on it.")
    if outcome in DISCLOSING:
        if json.loads(request.missing_json or "[]"):
            raise RequestIncomplete(f"{request.reference} is incomplete; ask for what is missing before deciding "
                                    "to produce.")
        rule = get_instrument(session, request.instrument_key)
        flags = {f.category: f.reason for f in scope_flags(session, request, rule)}
        requested = categories_of(request)
        chosen = list(dict.fromkeys(categories if categories is not None else requested))
        if not chosen:
            raise InvalidInput("Choose the data categories to produce.")
        outside = [c for c in chosen if c not in requested]
        if outside:
            raise InvalidInput(f"Only categories the request asks for can be produced; not requested: {', '.join(outside)}.")
        barred = [c for c in chosen if c in flags]
        if barred:
            raise OutOfScope("Outside what the instrument may compel: "
                             + "; ".join(f"{c}: {flags[c]}" for c in barred))
        if outcome == "produce" and set(chosen) != set(requested):
            raise InvalidInput("Producing less than was asked is 'produce in part', with the reason.")
        if request.emergency and not verification.callback_confirmed(session, request):
            raise CallbackRequired("Emergency disclosure needs a confirmed call-back to the agency's number in the "
                                   "directory before it can be decided; record the call first.")
    for previous in decisions_of(session, request.id):
        if previous.status == "pending_approval":
            previous.status = "superseded"
    decision = Decision(request_id=request.id, outcome=outcome, categories_json=json.dumps(chosen), reason=reason,
                        status="pending_approval" if outcome in NEEDS_APPROVAL else "final", decided_by=user.id,
                        decided_at=clock.now())
    session.add(decision)
    session.flush()
    scope.freeze(session, decision, request, chosen)
    event(session, request, actor=actor, kind=f"decision_{outcome}", clock=clock,
          text=f"Decision: {outcome.replace('_', ' ')}" + (f" ({', '.join(chosen)})" if chosen else "")
               + (f". {reason}" if reason else ""),
          details={"decision": decision.id, "categories": chosen, "reason": reason,
                   "scope_digest": decision.scope_digest})
    if outcome in NEEDS_APPROVAL:
        request.status = "pending_approval"
    elif outcome == "refuse":
        notify.requester(session, request, subject=f"{request.reference}: refused", actor=actor, clock=clock,
                         text=f"We cannot act on your request {request.reference}. Reason: {reason}",
                         kind="refusal_sent")
        clocks.note_answered(session, request, actor=actor, clock=clock, text="Refused; the reason was sent.")
        intake.close(session, request, actor=actor, clock=clock, status="refused", text=reason)
    else:
        request.missing_json = json.dumps(json.loads(request.missing_json or "[]") + [reason])
        request.status = "needs_information"
        notify.requester(session, request, subject=f"{request.reference}: more information needed", actor=actor,
                         clock=clock, text=f"Before we can act on {request.reference}, please send: {reason}",
                         kind="information_requested")
    return decision


def approve(session: Session, request: LegalRequest, approver: User, *, actor: str, clock: Clock) -> Decision:
    """The second person approves the disclosure decision."""
    decision = current_decision(session, request.id)
    if decision is None or decision.status != "pending_approval":
        raise WrongState(f"{request.reference} has no decision waiting for approval.")
    if decision.decided_by == approver.id:
        raise SecondApproverRequired("A disclosure needs a second approver: you made this decision, so a different "
                                     "member of legal staff must approve it.")
    changes = scope.differences(session, request, decision) if decision.scope_json else []
    if changes:
        scope.void_approval(session, request, actor=actor, clock=clock, why="; ".join(changes))
        raise ScopeChanged(f"{request.reference} changed after the decision ({'; '.join(changes)}); it must be "
                           "decided again before anyone approves it.")
    blockers = disclosure_blockers(session, request)
    if blockers:
        error = CallbackRequired if any("call-back" in b for b in blockers) else RequestHeld if request.verification == "held" else WrongState
        raise error("Cannot approve yet: " + " ".join(blockers))
    decision.status, decision.approved_by, decision.approved_at = "approved", approver.id, clock.now()
    request.status = "approved"
    if decision.outcome == "remove":
        from bastion.legal import removal

        event(session, request, actor=actor, kind="approved", clock=clock, text="Removal approved",
              details={"decision": decision.id})
        removal.start(session, request, actor=actor, clock=clock)
        return decision
    event(session, request, actor=actor, kind="approved", clock=clock,
          text=f"Disclosure approved ({', '.join(json.loads(decision.categories_json))})",
          details={"decision": decision.id, "scope_digest": decision.scope_digest})
    return decision
