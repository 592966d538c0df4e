"""Is the requester who they say they are?

Forged requests from compromised or look-alike government addresses are a documented attack,
so verification trusts only the directory: the sender's address must be on one of the
agency's official domains (else the request is held and never answered), the address should
be confirmed through the portal, and an emergency needs a call-back to the directory's number.
Every requester's history (made, refused, fraudulent) is shown to reviewers.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.db.ids import insert_if_absent
from bastion.errors import InvalidInput
from bastion.legal import directory
from bastion.legal.errors import CallbackRequired
from bastion.legal.models import Agency, Callback, LegalRequest, Requester
from bastion.legal.timeline import event

HOLD, WARN, OK = "hold", "warn", "ok"
OUTCOMES = ("confirmed", "denied", "no_answer")


def flag(code: str, severity: str, text: str) -> dict[str, str]:
    return {"code": code, "severity": severity, "text": text}


def flags_of(request: LegalRequest) -> list[dict[str, str]]:
    return list(json.loads(request.verification_json or "[]"))


def requester_of(session: Session, request: LegalRequest) -> Requester | None:
    return session.get(Requester, request.requester_id) if request.requester_id else None


def requester_for_email(session: Session, email: str, *, clock: Clock, name: str = "", phone: str = "") -> Requester | None:
    """The requester row of an address, created on first sight (unconfirmed)."""
    email = email.strip().lower()
    if not email:
        return None
    row = session.scalar(select(Requester).where(Requester.email == email))
    if row is None:  # two requests from a new address may arrive at once: create it once
        insert_if_absent(session, Requester.__table__, {"email": email, "name": name, "phone": phone,
                                                        "created_at": clock.now()})
        row = session.scalar(select(Requester).where(Requester.email == email))
    return row


def _vouched(session: Session, request: LegalRequest) -> Requester | None:
    """The sender, if two people vouched for them by call-back (see `legal.officers.vouch`)."""
    requester = requester_of(session, request)
    if requester is None or requester.vouched_at is None or requester.agency_id is None:
        return None
    if requester.email != request.requester_email.strip().lower():
        return None
    return requester


def verify(session: Session, request: LegalRequest) -> list[dict[str, str]]:
    """Re-check the sender against the directory; sets `verification` and its flags on the request."""
    flags: list[dict[str, str]] = []
    email = request.requester_email.strip().lower()
    domain = directory.email_domain(email)
    agency = session.get(Agency, request.agency_id) if request.agency_id else None
    vouched = _vouched(session, request)
    if email and domain and vouched is not None:
        agency = session.get(Agency, vouched.agency_id)
        request.agency_id = vouched.agency_id
        flags.append(flag("vouched", OK, f"{email} is on no agency's domain, but {agency.name if agency else 'the agency'} "
                          f"confirmed the officer by call-back on its directory number: {vouched.vouch_note}"))
    if email and domain and vouched is None:
        if agency is None:
            matches = directory.agencies_for_email(session, email)
            if len(matches) == 1:
                agency = matches[0]
                request.agency_id = agency.id
            elif len(matches) > 1:
                named = [a for a in matches if a.name.lower() == request.issuing_authority.strip().lower()]
                if len(named) == 1:
                    agency = named[0]
                    request.agency_id = agency.id
                else:
                    flags.append(flag("agency_ambiguous", WARN, f"Several agencies in the directory use {domain}: "
                                      f"{', '.join(a.name for a in matches)}. Choose the agency on the request."))
            else:
                flags.append(flag("unknown_domain", HOLD,
                                  f"{domain} is not the domain of any agency in the directory. The request is held: "
                                  "verify the agency independently and add it to the directory before anything else."))
        if agency is not None:
            official = directory.domains_of(agency)
            if not agency.active:
                flags.append(flag("agency_inactive", HOLD, f"{agency.name} is marked inactive in the directory."))
            if directory.domain_matches(domain, official):
                flags.append(flag("domain_ok", OK, f"{email} is on an official domain of {agency.name} "
                                  f"({', '.join(official)})."))
            else:
                flags.append(flag("outside_domain", HOLD,
                                  f"The sender {email} is not on an official domain of {agency.name} "
                                  f"({', '.join(official)}). Held: a request from outside the agency's domain is "
                                  "never answered. Contact the agency through the directory if in doubt."))
    elif not email:
        flags.append(flag("no_email", WARN, "No sender address to verify against the directory."))
    requester = requester_of(session, request)
    if requester is not None and email:
        if requester.confirmed_at is not None:
            flags.append(flag("address_confirmed", OK, f"{email} was confirmed through the portal on "
                              f"{requester.confirmed_at:%Y-%m-%d}."))
        else:
            flags.append(flag("address_unconfirmed", WARN, f"{email} has not been confirmed through the portal; "
                              "nothing is disclosed until it is (or, in an emergency, a call-back confirms it)."))
        history = requester_history(session, requester.id)
        if history["fraudulent"]:
            flags.append(flag("fraud_history", WARN, f"This address sent {history['fraudulent']} request(s) found "
                              "fraudulent before."))
    if request.emergency:
        if agency is not None and agency.phone:
            flags.append(flag("callback_needed", WARN, f"Emergency: call {agency.name} back on the directory number "
                              f"{agency.phone} (not a number from the request) before disclosing anything."))
        else:
            flags.append(flag("no_callback_number", WARN, "Emergency, but the directory has no number for the agency: "
                              "the request cannot be verified by call-back until one is added."))
    if _callback_denied(session, request):
        flags.append(flag("callback_denied", HOLD, "The agency, called on its directory number, denied sending this request."))
    if request.fraudulent:
        flags.append(flag("fraudulent", HOLD, "Marked fraudulent."))
    severities = {f["severity"] for f in flags}
    if HOLD in severities:
        request.verification = "held"
    elif any(f["code"] in ("domain_ok", "vouched") for f in flags) and any(f["code"] == "address_confirmed" for f in flags):
        request.verification = "verified"
    else:
        request.verification = "unconfirmed"
    request.verification_json = json.dumps(flags)
    return flags


def requester_history(session: Session, requester_id: int) -> dict[str, int]:
    """How many requests the address made, how many were refused, held, found fraudulent."""
    base = select(func.count()).select_from(LegalRequest).where(LegalRequest.requester_id == requester_id)
    return {
        "made": session.scalar(base) or 0,
        "refused": session.scalar(base.where(LegalRequest.status == "refused")) or 0,
        "held": session.scalar(base.where(LegalRequest.verification == "held")) or 0,
        "fraudulent": session.scalar(base.where(LegalRequest.fraudulent.is_(True))) or 0,
    }


def callbacks_of(session: Session, request_id: int) -> list[Callback]:
    return list(session.scalars(select(Callback).where(Callback.request_id == request_id).order_by(Callback.at)))


def _callback_denied(session: Session, request: LegalRequest) -> bool:
    return any(c.outcome == "denied" for c in callbacks_of(session, request.id)) if request.id else False


def callback_confirmed(session: Session, request: LegalRequest) -> bool:
    """A call to the directory's current number confirmed the request."""
    agency = session.get(Agency, request.agency_id) if request.agency_id else None
    if agency is None or not agency.phone:
        return False
    number = directory.phone_digits(agency.phone)
    return any(c.outcome == "confirmed" and directory.phone_digits(c.number) == number
               for c in callbacks_of(session, request.id))


def record_callback(session: Session, request: LegalRequest, *, outcome: str, actor: str, clock: Clock,
                    spoke_with: str = "", notes: str = "", number: str | None = None) -> Callback:
    """Record a call to the agency's directory number; a number from anywhere else is refused."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"A call-back outcome is one of {', '.join(OUTCOMES)}.")
    agency = session.get(Agency, request.agency_id) if request.agency_id else None
    if agency is None or not agency.phone:
        raise CallbackRequired("The directory has no phone number for this request's agency; add the verified "
                               "number to the directory first. A number from the request itself is never used.")
    if number and directory.phone_digits(number) != directory.phone_digits(agency.phone):
        raise CallbackRequired(f"Call the number in the directory ({agency.phone}), not {number}: numbers given in a "
                               "request may belong to whoever forged it.")
    if outcome == "confirmed" and not spoke_with.strip():
        raise InvalidInput("Say who confirmed the request on the call (name and rank).")
    row = Callback(request_id=request.id, number=agency.phone, outcome=outcome, spoke_with=spoke_with, notes=notes,
                   at=clock.now(), by=actor)
    session.add(row)
    session.flush()
    event(session, request, actor=actor, kind="callback", clock=clock,
          text=f"Called {agency.name} on {agency.phone} (directory): {outcome}"
               + (f", spoke with {spoke_with}" if spoke_with else ""),
          details={"number": agency.phone, "outcome": outcome, "spoke_with": spoke_with, "notes": notes})
    verify(session, request)
    return row


def summary(session: Session, request: LegalRequest) -> dict[str, Any]:
    requester = requester_of(session, request)
    agency = session.get(Agency, request.agency_id) if request.agency_id else None
    return {
        "status": request.verification,
        "flags": flags_of(request),
        "agency": {"id": agency.id, "name": agency.name, "domains": directory.domains_of(agency),
                   "phone": agency.phone} if agency else None,
        "requester": {"email": requester.email, "confirmed": requester.confirmed_at is not None,
                      "history": requester_history(session, requester.id)} if requester else None,
        "callback_confirmed": callback_confirmed(session, request),
    }
