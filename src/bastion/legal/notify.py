"""Mail from the desk: through the `bastion.mail` outbox when present, in the caller's transaction.

Nothing is sent from here: `queue_mail` writes an outbox row that a worker delivers. If the
mail package is not installed yet, the message is still recorded on the request's timeline
(`notified` with `queued: false`) so no notification silently disappears.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import event
from bastion.legal.timeline import subject as subject_of

log = logging.getLogger(__name__)


def queue(session: Session, *, to: str, subject: str, text: str, clock: Clock, kind: str = "legal.message",
          subject_ref: str = "legal", actor: str = "bastion", idempotency_key: str | None = None) -> bool:
    """Queue one message; False when no mail outbox exists here or the address is unusable."""
    try:
        from bastion.mail import queue_mail
    except ImportError:
        log.warning("bastion.mail is not installed; legal notification not queued", extra={"to": to})
        return False
    from bastion.mail.addresses import check_recipients

    try:
        check_recipients(to)  # checked first: a refused address must not fail the caller's transaction
    except InvalidInput as exc:
        log.warning("legal notification not queued", extra={"to": to, "reason": exc.message})
        return False
    queue_mail(session, to=to, subject=" ".join(subject.split())[:200], text=text, kind=kind, subject_ref=subject_ref,
               actor=actor, clock=clock, idempotency_key=idempotency_key)
    return True


def _short(address: str) -> str:
    return hashlib.sha256(address.lower().encode()).hexdigest()[:16]


def staff(session: Session, request: LegalRequest, *, to: Iterable[str], subject: str, text: str, kind: str,
          clock: Clock, actor: str = "bastion", key: str | None = None) -> list[str]:
    """Tell staff (assignee, nodal officer, compliance officer); recorded on the timeline.

    `key` makes the messages idempotent (a timer task retried after a crash sends nothing twice).
    """
    recipients = sorted({address.strip() for address in to if address and address.strip()})
    queued = [address for address in recipients
              if queue(session, to=address, subject=subject, text=text, clock=clock, kind=f"legal.{kind}",
                       subject_ref=subject_of(request), actor=actor,
                       idempotency_key=f"{key}:{_short(address)}" if key else None)]
    event(session, request, actor=actor, kind=kind, clock=clock, text=text,
          details={"to": recipients, "queued": bool(queued) and len(queued) == len(recipients), "subject": subject})
    return recipients


def requester(session: Session, request: LegalRequest, *, subject: str, text: str, clock: Clock, actor: str,
              kind: str = "requester_notified", timeline_text: str | None = None) -> bool:
    """Write to the requester, unless the request is held or fraudulent: those are never answered.

    `timeline_text` is what the timeline and the audit log keep instead of `text`, for a mail that
    carries a secret (a download link): the secret goes to the requester and nowhere else.
    """
    if request.verification == "held" or request.fraudulent:
        event(session, request, actor=actor, kind="reply_suppressed", clock=clock,
              text="Not sent: held and unverified requests are never answered.", details={"subject": subject})
        return False
    queued = bool(request.requester_email) and queue(session, to=request.requester_email, subject=subject, text=text,
                                                      clock=clock, kind=f"legal.{kind}",
                                                      subject_ref=subject_of(request), actor=actor)
    event(session, request, actor=actor, kind=kind, clock=clock, text=text if timeline_text is None else timeline_text,
          requester_visible=True, details={"to": request.requester_email, "queued": queued, "subject": subject})
    return True
