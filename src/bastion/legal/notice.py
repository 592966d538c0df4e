"""User notice: tell the account holder about a request before disclosure, unless something bars it.

Barred by: a non-disclosure order (until it expires, when the notice falls due on the clock),
a child-safety case (flagged on the request, or a confirmed Bastion case on the same account),
an emergency, or the instrument's own rule in the catalogue (e.g. confidential directions).
Where the catalogue says notice "may be delayed" (India: no statute requires it), it is deferred:
staff may send it later, and it never holds up production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.executor import TaskContext, registry
from bastion.legal import notify
from bastion.legal.catalogue import InstrumentRule
from bastion.legal.errors import WrongState
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import event, subject

NDO_EXPIRY_TASK = "legal.ndo_expired"


def evaluate(session: Session, request: LegalRequest, rule: InstrumentRule, *, actor: str, clock: Clock) -> None:
    """Decide (again) whether the user is to be told, and put an NDO's expiry on the clock."""
    if request.notice_status in ("sent", "due"):
        return
    from bastion.legal.related import confirmed_case_ids

    status, reason = "pending", "Notify the user, with a copy of the request, before disclosure."
    timers.cancel(session, subject=subject(request), kind=NDO_EXPIRY_TASK)
    if request.child_safety or confirmed_case_ids(session, request):
        status, reason = "not_required", "Child-safety case: the user is not told."
    elif request.emergency or rule.emergency:
        status, reason = "not_required", "Emergency: the user is not told before disclosure."
    elif not rule.notice.get("provider_notifies", True):
        status, reason = "not_required", rule.notice.get("note", "The instrument bars notice.")
    elif rule.notice.get("may_delay") and not request.ndo:
        status = "deferred"  # may be sent later, by choice; never holds up production
        reason = rule.notice.get("note", "Notice may be delayed or withheld; it is not a precondition of production.")
    elif request.ndo:
        if request.ndo_expires_at is None:
            status, reason = "deferred", "Non-disclosure order without an expiry date: no notice until it is lifted."
        elif request.ndo_expires_at > clock.now():
            status = "deferred"
            reason = f"Non-disclosure order until {request.ndo_expires_at:%Y-%m-%d}; the notice falls due then."
            timers.schedule(session, kind=NDO_EXPIRY_TASK, due_at=request.ndo_expires_at, clock=clock,
                            subject=subject(request), payload={"request_id": request.id},
                            dedupe_key=f"legal:{request.id}:ndo")
        else:
            status, reason = "due", "The non-disclosure order has expired: notify the user now."
    if (status, reason) != (request.notice_status, request.notice_reason):
        request.notice_status, request.notice_reason = status, reason
        event(session, request, actor=actor, kind="notice_rule", clock=clock, text=reason, details={"notice": status})


def send(session: Session, request: LegalRequest, *, to: str, actor: str, clock: Clock, text: str = "") -> None:
    """Send the user notice (queued through the mail outbox) and record it."""
    optional = request.notice_status == "deferred" and not request.ndo  # delayed by choice, not by an order
    if request.notice_status not in ("pending", "due") and not optional:
        raise WrongState(f"No user notice is to be sent for {request.reference}: {request.notice_reason}")
    if "@" not in to:
        raise InvalidInput("Give the account holder's email address (from the subscriber data).")
    body = text or (f"We received a legal request ({request.reference}) for information about your account. "
                    "A copy of the request is available from us on request. Unless you obtain a court order "
                    "preventing it, we may disclose the information requested.")
    queued = notify.queue(session, to=to, subject="A legal request concerning your account", text=body, clock=clock,
                          kind="legal.user_notice", subject_ref=subject(request), actor=actor)
    request.notice_status, request.notice_reason = "sent", f"Notice sent to {to} on {clock.now():%Y-%m-%d}."
    event(session, request, actor=actor, kind="notice_sent", clock=clock, text=request.notice_reason,
          details={"to": to, "queued": queued})


def blocks_disclosure(request: LegalRequest) -> bool:
    return request.notice_status == "pending"


@registry.task(NDO_EXPIRY_TASK)
def ndo_expired(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session, session.begin():
        request = session.get(LegalRequest, int(payload["request_id"]))
        if request is None or request.notice_status != "deferred" or request.ndo_expires_at is None:
            return
        if request.ndo_expires_at > ctx.clock.now():  # extended meanwhile; its own timer was moved
            return
        request.notice_status = "due"
        request.notice_reason = (f"The non-disclosure order expired on {request.ndo_expires_at:%Y-%m-%d}: "
                                 "notify the user now.")
        from bastion.legal.clocks import assignee_address

        notify.staff(session, request, to=[assignee_address(session, request)], kind="notice_due", clock=ctx.clock,
                     subject=f"User notice due: {request.reference}", text=request.notice_reason)


def account_notice_bar(session: Session, account_id: str, now: datetime) -> str | None:
    """Why the account holder must not be told of an enforcement now, if a legal request forbids it.

    Other domains ask before they send the user anything (a statement of reasons, say): a
    non-disclosure order still in force forbids it, and so does an open request whose notice the
    desk has withheld (a child-safety case, an emergency, an instrument that bars notice), because
    telling the user of the enforcement can tip them off. The answer names the request for staff;
    it is never shown to the user.
    """
    from sqlalchemy import select

    from bastion.legal.models import RequestAccount
    from bastion.legal.requests import is_closed

    requests = session.scalars(select(LegalRequest).join(RequestAccount, RequestAccount.request_id == LegalRequest.id)
                               .where(RequestAccount.account_id == account_id).order_by(LegalRequest.id)).unique()
    for request in requests:
        if request.ndo and (request.ndo_expires_at is None or request.ndo_expires_at > now):
            return f"Non-disclosure order on legal request {request.reference}."
        if not is_closed(request) and request.notice_status in ("deferred", "not_required"):
            return f"Legal request {request.reference} withholds notice: {request.notice_reason}"
    return None
