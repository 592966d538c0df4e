"""The grievance desk: complaints in, clocks from the catalogue, a decision the complainant can read.

India's IT Rules 2021 (as amended in 2022) put clocks on every complaint: acknowledge within 24
hours and dispose of it within 15 days (Rule 3(2)(a)(i)); act within 72 hours on a request to
remove prohibited information (its proviso); and within 24 hours remove intimate or morphed
imagery of the complainant (Rule 3(2)(b)). The clocks are data (`clocks.json`, cited); the queue
puts the nearest unmet one first, and Rule 3(2)(b) complaints rank above everything else.

The complainant gets a reference and a secret status link (only its hash is stored) and, if they
gave an address, mail that says something changed, never what the content was. What they are told
reveals nothing about other users. Public submissions are rationed per client address.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from bastion import audit, timers
from bastion.auth import throttle
from bastion.auth.throttle import Policy, Target
from bastion.clock import Clock
from bastion.db.base import UTCDateTime
from bastion.db.keyset import NEVER, Page, after_key, cut, exact, key_cursor, page_size, seek
from bastion.errors import InvalidInput, NotFound
from bastion.executor import TaskContext, registry
from bastion.grievances.models import Complaint, ComplaintEvent
from bastion.orgsettings import fractions, get_value
from bastion.platform import NotFoundOnPlatform, PlatformConnector, PlatformError
from bastion.orgsettings.store import register

CATEGORIES = {
    "csam": "Child sexual abuse material",
    "ncii": "Intimate imagery of me, shared without my consent",
    "impersonation": "Impersonation of me, or a morphed image of me",
    "illegal": "Other unlawful content",
    "tos": "Against the platform's terms",
}
CHANNELS = ("public", "platform", "flagger")
OUTCOMES = {
    "removed": "The content was removed.",
    "restricted": "Access to the content was restricted.",
    "no_action": "The content was reviewed and no action was taken: it does not break the law or the platform's "
                 "terms as reported.",
    "not_found": "The content could not be found; it may already be gone. Send a new complaint with its exact address "
                 "if it is still online.",
}
PRIORITY = {"ncii": 100, "impersonation": 100, "csam": 90}  # Rule 3(2)(b) first, then child safety
MAX_DESCRIPTION = 5000
DEADLINE_TASK = "grievances.deadline"
REMINDER_TASK = "grievances.reminder"
REMINDER_FRACTIONS = "grievances.reminder_fractions"
register(REMINDER_FRACTIONS, str, "0.5 0.8", "Fractions of each complaint clock at which the Grievance Officer is "
                                             "reminded while it is unmet (space-separated, each between 0 and 1).")
OFFICER_EMAIL = "grievances.officer_email"
register(OFFICER_EMAIL, str, "", "The Grievance Officer's address (IT Rules 2021 Rule 3(2)(a)): told when a complaint's "
                                  "clock runs out unmet.")
DSA_TARGET_HOURS = "grievances.dsa_target_hours"
register(DSA_TARGET_HOURS, int, 72, "Internal target, in hours, for deciding a notice under the DSA (Art. 16(6) "
                                    "says only 'timely').")

#: Public submissions per client address: each one can make staff work and send mail.
PUBLIC_POLICY = Policy(account_failures=10, ip_failures=10, lockout=timedelta(hours=1), window=timedelta(hours=1),
                       free_failures=5, first_delay=timedelta(seconds=30))
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class ClockDue:
    key: str
    title: str
    citation: str
    kind: str  # acknowledge, act, resolve
    due_at: datetime
    met_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.met_at is None and now > self.due_at


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    return dict(json.loads(resources.files("bastion.grievances").joinpath("clocks.json").read_text("utf-8")))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _event(session: Session, complaint: Complaint, *, actor: str, kind: str, clock: Clock, text: str = "",
           public: bool = False) -> None:
    session.add(ComplaintEvent(complaint_id=complaint.id, at=clock.now(), actor=actor[:200], kind=kind, text=text,
                               public=public))


def clocks_of(session: Session, complaint: Complaint) -> list[ClockDue]:
    """Every clock that applies to this complaint, earliest first."""
    met = {"acknowledge": complaint.acknowledged_at, "act": complaint.acted_at or complaint.resolved_at,
           "resolve": complaint.resolved_at}
    out = []
    for rule in catalogue()["clocks"]:
        if rule["jurisdiction"] != complaint.jurisdiction:
            continue
        if rule["categories"] != "*" and complaint.category not in rule["categories"]:
            continue
        hours = rule["hours"]
        if isinstance(hours, str):  # "setting:<key>"
            hours = int(get_value(session, hours.split(":", 1)[1]))
        out.append(ClockDue(rule["key"], rule["title"], rule["citation"], rule["kind"],
                            complaint.received_at + timedelta(hours=int(hours)), met[rule["kind"]]))
    order = {"act": 0, "acknowledge": 1, "resolve": 2}  # at the same moment, the removal duty is the one to show
    return sorted(out, key=lambda c: (c.due_at, order[c.kind]))


def next_due(session: Session, complaint: Complaint) -> ClockDue | None:
    return next((c for c in clocks_of(session, complaint) if c.met_at is None), None)


def _refresh_due(session: Session, complaint: Complaint) -> None:
    """Store the nearest unmet deadline, so the queue is one indexed, ordered query."""
    due = next_due(session, complaint)
    complaint.next_due_at = due.due_at if due else None


def refuse_if_blocked(session: Session, client: str, now: datetime) -> None:
    """Refuse a blocked address before any costly work (hashing a file); `submit` does the counting."""
    throttle.refuse_if_blocked(session, [Target("complaint_ip", client or "unknown")], now)


def submit(session: Session, *, channel: str, category: str, content_ref: str, description: str = "",
           contact_email: str = "", jurisdiction: str = "IN", submitted_by: str = "", client: str = "",
           media: dict[str, Any] | None = None, connector: PlatformConnector | None = None,
           clock: Clock) -> tuple[Complaint, str]:
    """Take a complaint in; returns it and the secret for its status link (shown once).

    `media` is what the delivery layer learnt from a file the complainant sent (its hashes, the
    banks it matches, earlier uploads with the same bytes): the file itself is never stored.
    """
    if channel == "public":
        targets = [Target("complaint_ip", client or "unknown")]
        throttle.refuse_if_blocked(session, targets, clock.now())
        throttle.count_failure(session, targets, PUBLIC_POLICY, clock.now())
    if channel not in CHANNELS:
        raise InvalidInput(f"A complaint's channel is one of: {', '.join(CHANNELS)}.")
    if category not in CATEGORIES:
        raise InvalidInput(f"Choose what the complaint is about: one of {', '.join(CATEGORIES)}.")
    content_ref, contact_email = content_ref.strip(), contact_email.strip().lower()
    if not content_ref or len(content_ref) > 2000:
        raise InvalidInput("Give the address (URL) or the platform's id of the content, up to 2,000 characters.")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"The description is {len(description):,} characters; the limit is {MAX_DESCRIPTION:,}.")
    if contact_email and not _EMAIL.fullmatch(contact_email):
        raise InvalidInput(f"{contact_email!r} is not an email address (it is optional: leave it empty).")
    if jurisdiction not in {c["jurisdiction"] for c in catalogue()["clocks"]}:
        raise InvalidInput(f"No complaint clocks for {jurisdiction!r}.")
    check_content(connector, content_ref)  # after the throttle: a flood costs the platform nothing
    token = secrets.token_urlsafe(24)
    complaint = Complaint(reference="", status_token_hash=_hash(token), channel=channel, submitted_by=submitted_by,
                          category=category, content_ref=content_ref, description=description.strip(),
                          contact_email=contact_email, jurisdiction=jurisdiction,
                          priority=PRIORITY.get(category, 0) + (10 if channel == "flagger" else 0)
                          + (20 if media and media.get("matches") else 0),
                          status="received", received_at=clock.now(), media_md5=(media or {}).get("md5", ""),
                          media_pdq=(media or {}).get("pdq", ""), media_findings=media)
    session.add(complaint)
    session.flush()
    complaint.reference = f"GR-{clock.now():%Y}-{complaint.id:06d}"
    _refresh_due(session, complaint)
    _event(session, complaint, actor=submitted_by or channel, kind="received", clock=clock, public=True,
           text=f"Complaint {complaint.reference} received: {CATEGORIES[category]}.")
    if media:
        banks = sorted({m["bank"] for m in media.get("matches", [])})
        _event(session, complaint, actor="bastion", kind="file_hashed", clock=clock,
               text=(f"The file sent with it was hashed and dropped. Matches: {', '.join(banks) or 'none'}; "
                     f"earlier uploads with the same bytes: {', '.join(media.get('uploads', [])) or 'none'}."))
    _schedule_clocks(session, complaint, clock)
    audit.record(session, actor=submitted_by or f"complainant:{channel}", action="grievance.receive",
                 subject=f"complaint:{complaint.id}", clock=clock,
                 details={"reference": complaint.reference, "channel": channel, "category": category})
    return complaint, token


def _schedule_clocks(session: Session, complaint: Complaint, clock: Clock) -> None:
    """Each clock reminds at the configured fractions and escalates when it runs out unmet."""
    subject = f"complaint:{complaint.id}"
    for due in clocks_of(session, complaint):
        span = due.due_at - complaint.received_at
        for fraction in fractions(session, REMINDER_FRACTIONS):
            timers.schedule(session, kind=REMINDER_TASK, due_at=complaint.received_at + span * fraction, clock=clock,
                            subject=subject, payload={"complaint_id": complaint.id, "clock": due.key,
                                                      "fraction": fraction},
                            dedupe_key=f"complaint:{complaint.id}:{due.key}:reminder:{fraction}")
        timers.schedule(session, kind=DEADLINE_TASK, due_at=due.due_at, clock=clock, subject=subject,
                        payload={"complaint_id": complaint.id, "clock": due.key},
                        dedupe_key=f"complaint:{complaint.id}:{due.key}")


def check_content(connector: PlatformConnector | None, content_ref: str) -> None:
    """A complaint naming a platform id that does not exist is told so at once, not after 15 days.

    Only bare ids are checked (a URL may point anywhere); an unreachable platform accepts the
    complaint, because losing it would be worse than checking it later.
    """
    ref = content_ref.strip()
    if connector is None or not ref or "/" in ref or ":" in ref:
        return
    try:
        connector.get_content(ref)
    except NotFoundOnPlatform:
        raise NotFound(f"The platform has no content {ref!r}. Check the id, or give the address (URL) where you "
                       "saw it.") from None
    except PlatformError:
        return


def get(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"No complaint {complaint_id}.")
    return complaint


def by_token(session: Session, token: str) -> Complaint:
    complaint = session.scalar(select(Complaint).where(Complaint.status_token_hash == _hash(token or "")))
    if complaint is None or not token:
        raise NotFound("This status link is not valid. Check that you copied all of it.")
    return complaint


def _tell(session: Session, complaint: Complaint, *, subject: str, base_url: str, clock: Clock, actor: str) -> None:
    """Mail the complainant that something changed (never the content): the status page says what."""
    if not complaint.contact_email:
        return
    from bastion.mail import queue_mail

    queue_mail(session, to=complaint.contact_email, subject=f"{subject} ({complaint.reference})", clock=clock,
               text=f"Your complaint {complaint.reference}: {subject.lower()}. Open the status link you were given "
                    f"when you sent it to read more ({base_url.rstrip('/')}/complaints/status).",
               kind="grievance.update", subject_ref=f"complaint:{complaint.id}", actor=actor)


def acknowledge(session: Session, complaint: Complaint, *, actor: str, clock: Clock, base_url: str) -> None:
    if complaint.acknowledged_at is not None:
        return
    complaint.acknowledged_at, complaint.status = clock.now(), "acknowledged"
    _refresh_due(session, complaint)
    _event(session, complaint, actor=actor, kind="acknowledged", clock=clock, public=True,
           text="Your complaint was acknowledged and is being reviewed.")
    _tell(session, complaint, subject="Complaint acknowledged", base_url=base_url, clock=clock, actor=actor)
    audit.record(session, actor=actor, action="grievance.acknowledge", subject=f"complaint:{complaint.id}",
                 clock=clock, details={"reference": complaint.reference})


def note(session: Session, complaint: Complaint, *, actor: str, clock: Clock, kind: str, text: str) -> None:
    """An internal entry on the complaint's timeline (not shown to the complainant), audited."""
    _event(session, complaint, actor=actor, kind=kind, clock=clock, text=text)
    audit.record(session, actor=actor, action=f"grievance.{kind}", subject=f"complaint:{complaint.id}", clock=clock,
                 details={"reference": complaint.reference, "text": text})


def decide(session: Session, complaint: Complaint, *, outcome: str, text: str, actor: str, user_id: int | None,
           clock: Clock, base_url: str, via: str = "") -> None:
    """Resolve the complaint; what the complainant reads is `text` (or the outcome's standard wording).

    `via` names where the decision was taken when not on the complaint itself (a review case). Its
    reminder and breach timers are cancelled: a resolved complaint has met every clock.
    """
    if complaint.status == "resolved":
        raise InvalidInput(f"{complaint.reference} is already resolved.")
    if outcome not in OUTCOMES:
        raise InvalidInput(f"An outcome is one of: {', '.join(OUTCOMES)}.")
    now = clock.now()
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
    complaint.status, complaint.outcome, complaint.resolved_at = "resolved", outcome, now
    complaint.outcome_text, complaint.decided_by = (text.strip() or OUTCOMES[outcome])[:5000], user_id
    if outcome in ("removed", "restricted"):
        complaint.acted_at = now
    _refresh_due(session, complaint)
    for kind in (REMINDER_TASK, DEADLINE_TASK):
        timers.cancel(session, subject=f"complaint:{complaint.id}", kind=kind)
    if via:
        _event(session, complaint, actor=actor, kind="decided_by_review", clock=clock,
               text=f"Decided through {via}: {outcome}.")
    _event(session, complaint, actor=actor, kind="decided", clock=clock, public=True, text=complaint.outcome_text)
    _tell(session, complaint, subject="Complaint decided", base_url=base_url, clock=clock, actor=actor)
    audit.record(session, actor=actor, action="grievance.decide", subject=f"complaint:{complaint.id}", clock=clock,
                 details={"reference": complaint.reference, "outcome": outcome, **({"via": via} if via else {})})


def _queue_key() -> list[Any]:
    """Rule 3(2)(b) and child safety first (highest priority), then the nearest unmet clock (none
    last), id last so no two rows tie and a keyset page never skips one."""
    return [-Complaint.priority, func.coalesce(Complaint.next_due_at, literal(NEVER, UTCDateTime())), Complaint.id]


def queue(session: Session, *, search: str = "", cursor: str | None = None, limit: int | None = None
          ) -> Page[tuple[Complaint, ClockDue | None]]:
    """Open complaints, one keyset page at a time, by the stored (indexed) next deadline.

    The search is the exact reference (a unique index), so it never scans the table."""
    size = page_size(limit)
    stmt = select(Complaint).where(Complaint.status != "resolved")
    reference = exact(search, "reference", 32).upper()
    if reference:
        stmt = stmt.where(Complaint.reference == reference)
    key = _queue_key()
    after = after_key(cursor, "iti")
    if after is not None:
        stmt = stmt.where(seek(key, after))
    page = cut(list(session.scalars(stmt.order_by(*key).limit(size + 1))), size,
               key=lambda c: key_cursor([-c.priority, c.next_due_at or NEVER, c.id]))
    return Page([(c, next_due(session, c)) for c in page.rows], page.next_cursor)


def events_of(session: Session, complaint_id: int, *, public_only: bool = False) -> list[ComplaintEvent]:
    stmt = select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id).order_by(ComplaintEvent.id)
    if public_only:
        stmt = stmt.where(ComplaintEvent.public.is_(True))
    return list(session.scalars(stmt))


def tell_officer(session: Session, *, subject: str, text: str, kind: str, subject_ref: str, actor: str, clock: Clock,
                 key: str) -> bool:
    """Mail the Grievance Officer (once per `key`); False when no officer address is set."""
    officer = str(get_value(session, OFFICER_EMAIL)).strip()
    if officer:
        from bastion.mail import queue_mail

        queue_mail(session, to=officer, subject=subject, text=text, kind=kind, subject_ref=subject_ref, actor=actor,
                   clock=clock, idempotency_key=key)
    return bool(officer)


@registry.task(REMINDER_TASK)
def reminder_due(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Part of a complaint's time is gone and its clock is unmet: remind the Grievance Officer."""
    with ctx.sessions() as session, session.begin():
        complaint = session.get(Complaint, int(payload["complaint_id"]))
        if complaint is None:
            return
        due = next((c for c in clocks_of(session, complaint) if c.key == payload["clock"]), None)
        if due is None or due.met_at is not None:
            return
        fraction = float(payload.get("fraction", 0))
        text = (f"Complaint {complaint.reference} has used {fraction:.0%} of its time. {due.title}: due "
                f"{due.due_at:%Y-%m-%d %H:%M} UTC ({due.citation}).")
        _event(session, complaint, actor="system:grievances", kind="reminder", clock=ctx.clock, text=text)
        tell_officer(session, subject=f"Complaint {complaint.reference}: {fraction:.0%} of its time used", text=text,
                     kind="grievance.reminder", subject_ref=f"complaint:{complaint.id}", actor="system:grievances",
                     clock=ctx.clock, key=f"grievance-reminder:{complaint.id}:{due.key}:{fraction}")


@registry.task(DEADLINE_TASK)
def deadline_passed(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """A complaint's clock ran out: if it is still unmet, record the breach and tell the Grievance Officer."""
    with ctx.sessions() as session, session.begin():
        complaint = session.get(Complaint, int(payload["complaint_id"]))
        if complaint is None:
            return
        due = next((c for c in clocks_of(session, complaint) if c.key == payload["clock"]), None)
        if due is None or due.met_at is not None or due.due_at > ctx.clock.now():
            return
        text = f"{due.title}: due {due.due_at:%Y-%m-%d %H:%M} UTC and not met ({due.citation})."
        _event(session, complaint, actor="system:grievances", kind="deadline_breached", clock=ctx.clock, text=text)
        mailed = tell_officer(session, subject=f"Complaint {complaint.reference}: deadline passed", text=text,
                              kind="grievance.breach", subject_ref=f"complaint:{complaint.id}",
                              actor="system:grievances", clock=ctx.clock,
                              key=f"grievance-breach:{complaint.id}:{due.key}")
        audit.record(session, actor="system:grievances", action="grievance.breach", subject=f"complaint:{complaint.id}",
                     clock=ctx.clock, details={"reference": complaint.reference, "clock": due.key, "mailed": mailed})
