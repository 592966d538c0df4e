"""Production: package the collected datasets, deliver them, and record the disclosure in custody.

The package is built by `bastion.production.build_package` (signed manifest, the evidence
certificate in the catalogue's form for the jurisdiction, see `bastion.legal.certificates`;
datasets outside the approved categories are refused there too). It is kept in the vault;
delivery is either through the officer portal (a download link with an expiring token, usable
only by the requester it was made for) or an export by staff for delivery by other means.
Either way every evidence item in it gets a "disclose" custody event naming the recipient.

A download token is `<production id>.<secret>`: only the secret's SHA-256 is stored, it is
compared in constant time, and it is written only into the mail to the requester, never into
the timeline, the audit log or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import tempfile
from contextlib import ExitStack
from datetime import timedelta
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import InvalidInput
from bastion.legal import certificates, clocks, collection, notice, notify, review, scope
from bastion.legal.catalogue import get_instrument
from bastion.legal.errors import TokenInvalid, WrongState
from bastion.legal.models import Agency, LegalRequest, Production, Requester
from bastion.legal.settings import DOWNLOAD_TOKEN_HOURS, NOTICE_BEFORE_DISCLOSURE
from bastion.legal.timeline import event, subject
from bastion.orgsettings import get_value

DELIVERIES = ("portal", "export")
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4",
        "video/webm": "webm", "video/quicktime": "mov", "video/x-matroska": "mkv", "video/x-msvideo": "avi"}


def productions_of(session: Session, request_id: int) -> list[Production]:
    return list(session.scalars(select(Production).where(Production.request_id == request_id).order_by(Production.id)))


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip("._-")
    return cleaned[:100] or "item"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token(production: Production) -> str:
    """A fresh token for the production; its secret's hash replaces any earlier one (the old link stops working)."""
    secret = secrets.token_urlsafe(32)
    production.token_hash = _hash(secret)
    return f"{production.id}.{secret}"


def _production_for(session: Session, token: str) -> Production | None:
    """The production a token opens, or None; the secret is compared in constant time."""
    ident, _, secret = token.strip().partition(".")
    if not ident.isdigit() or not secret or len(secret) > 100:
        return None
    production = session.get(Production, int(ident))
    if production is None or not production.token_hash:
        return None
    return production if hmac.compare_digest(production.token_hash, _hash(secret)) else None


def records_of(category: str, account: str, data: Any) -> list[dict[str, Any]]:
    """A collected dataset as flat records (one list per category across accounts), each naming its account."""
    if isinstance(data, dict) and category == "traffic":
        return [{"account_id": account, "record_type": kind.rstrip("s"), **record}
                for kind in ("logins", "devices", "posts") for record in data.get(kind, [])]
    if isinstance(data, dict):
        return [{"account_id": account, **data}]
    return [{"account_id": account, **record} for record in data]


def instance_signing_key(settings: Settings) -> Any:
    """The instance's production signing key (created on first use; see docs/production-packages.md)."""
    from bastion.production import ProductionConfig

    return ProductionConfig.from_settings(settings).signing_key()


def _in_scope(session: Session, request: LegalRequest, frozen: scope.Scope) -> list[Any]:
    """The collected datasets the approval covers: its categories, for the accounts of its entries."""
    accounts = {row.account_id for row in scope.approved_entries(session, request, frozen) if row.account_id}
    return [row for row in collection.collected_of(session, request.id)
            if row.category in frozen.categories and row.account_id in accounts]


def build(session: Session, request: LegalRequest, *, vault: Any, actor: str, clock: Clock, delivery: str = "portal",
          signing_key: Any = None, certificate: Any = None) -> tuple[Production, str | None]:
    """Package what was collected; returns the production and (for the portal) its download token, shown once."""
    if delivery not in DELIVERIES:
        raise InvalidInput(f"Delivery is one of {', '.join(DELIVERIES)}.")
    if request.status != "collected":
        raise WrongState(f"{request.reference} is {request.status}; collect the approved data first.")
    blockers = review.disclosure_blockers(session, request)
    if blockers:
        raise WrongState("Cannot produce: " + " ".join(blockers))
    if bool(get_value(session, NOTICE_BEFORE_DISCLOSURE)) and notice.blocks_disclosure(request):
        raise WrongState(f"Send the user notice first ({request.notice_reason})")
    rule = get_instrument(session, request.instrument_key)
    decision, frozen = scope.approved(session, request, actor=actor, clock=clock)
    from bastion.production import Attachment, write_package

    destination = f"production for {request.reference}"
    approved = list(frozen.categories)
    in_scope = _in_scope(session, request, frozen)
    datasets: dict[str, list[dict[str, Any]]] = {category: [] for category in approved}
    attachments: list[tuple[str, Attachment]] = []
    items: list[int] = []
    with ExitStack() as opened:  # media is streamed from the vault into the package, the package into the vault
        for row in in_scope:
            exported = vault.export(session, row.evidence_id, actor=actor, reason=destination, destination=destination)
            datasets[row.category].extend(records_of(row.category, row.account_id, json.loads(exported.data)["data"]))
            items.append(row.evidence_id)
            for media in json.loads(row.media_json):
                name = (f"media/{_safe(row.account_id)}/{_safe(media['content_id'])}."
                        f"{_EXT.get(media['media_type'], 'bin')}")
                attachments.append((name, _media_attachment(session, vault, media["evidence"], opened,
                                                             actor=actor, destination=destination)))
                items.append(media["evidence"])
        summary = {
            "reference": request.reference, "instrument": rule.key, "instrument_title": rule.title,
            "citation": rule.citation, "case_number": request.case_number, "court": request.court,
            "issuing_authority": request.issuing_authority, "issuing_officer": request.issuing_officer,
            "received_at": request.received_at.isoformat(),
        }
        covered = {
            "categories": approved, "decision": decision.outcome, "reason": decision.reason,
            "accounts": sorted({r.account_id for r in in_scope}),
            "date_range": {"start": frozen.date_from, "end": frozen.date_to},
            "approval_digest": frozen.digest,
        }
        certificate = certificate or certificates.certificate_for(session, request, actor=actor, clock=clock)
        if signing_key is None:
            raise InvalidInput("No production signing key is configured on this instance.")
        package: IO[bytes] = opened.enter_context(tempfile.TemporaryFile(prefix="bastion-production-"))
        write_package(package, summary, covered, datasets, attachments, signing_key, certificate, clock=clock)
        package.seek(0)
        builder = f"bastion.production (key {signing_key.key_id})"
        item = vault.preserve(session, package, kind="other", subject=subject(request), actor=actor,
                              reason=f"production package of {request.reference}",
                              metadata={"filename": f"{request.reference}.zip", "builder": builder},
                              context={"request": request.reference, "evidence_items": items})
    hours = int(get_value(session, DOWNLOAD_TOKEN_HOURS))
    portal = delivery == "portal"
    production = Production(request_id=request.id, evidence_id=item.id, sha256=item.sha256, size=item.size,
                            delivery=delivery, token_hash="",
                            token_expires_at=clock.now() + timedelta(hours=hours) if portal else None,
                            created_at=clock.now(), created_by=actor)
    session.add(production)
    session.flush()
    token = _new_token(production) if portal else None
    request.status = "produced"
    form = certificate.form
    to_complete = certificates.gaps(certificate)
    event(session, request, actor=actor, kind="produced", clock=clock,
          text=f"Production package built ({len(datasets)} dataset(s), {len(attachments)} attachment(s), "
               f"{item.size:,} bytes, by {builder}), for delivery by {delivery}; certificate: "
               f"{form.heading if form else 'business records'} signed by {certificate.custodian_name}"
               + (f"; to complete by hand before it is sent: {', '.join(to_complete)}" if to_complete else ""),
          details={"production": production.id, "sha256": item.sha256, "certificate": form.key if form else "",
                   "to_complete": to_complete})
    if token:
        until = f"{production.token_expires_at:%Y-%m-%d %H:%M} UTC"
        notify.requester(session, request, actor=actor, clock=clock, subject=f"{request.reference}: production ready",
                         text=f"The production for {request.reference} is ready in the portal until {until}. "
                              f"Download token: {token}",
                         timeline_text=f"The production for {request.reference} is ready in the portal until "
                                       f"{until}; the download link was sent by mail.",
                         kind="production_ready")
        clocks.note_answered(session, request, actor=actor, clock=clock, text="Production made available in the portal.")
    return production, token


def _disclose(session: Session, request: LegalRequest, production: Production, *, vault: Any, actor: str,
              recipient: str) -> None:
    context = json.loads(vault.get(session, production.evidence_id).context_json)
    items = [production.evidence_id, *context.get("evidence_items", [])]
    for item_id in items:
        vault.record_disclosure(session, item_id, actor=actor, reason=f"production of {request.reference}",
                                recipient=recipient, reference=request.reference)


def _recipient(session: Session, request: LegalRequest) -> str:
    agency = session.get(Agency, request.agency_id) if request.agency_id else None
    return f"{request.requester_email} ({agency.name if agency else request.issuing_authority})"


def download(session: Session, token: str, *, requester: Requester, vault: Any, clock: Clock) -> tuple[str, IO[bytes]]:
    """The officer portal's download: the token must be live and the caller the request's own requester.

    Returns the file name and a reader of the package (streamed from the vault: close it when sent).
    """
    production = _production_for(session, token)
    request = session.get(LegalRequest, production.request_id) if production else None
    if production is None or request is None or request.requester_id != requester.id:
        raise TokenInvalid("This download link is not valid. Sign in to the portal with the address the request "
                           "came from, or ask us for a new link.")
    if request.verification == "held" or request.fraudulent:
        raise TokenInvalid("This download link is not valid.")
    assert production.token_expires_at is not None
    if production.token_expires_at <= clock.now():
        raise TokenInvalid(f"This download link expired on {production.token_expires_at:%Y-%m-%d %H:%M} UTC; "
                           "ask us for a new one.")
    actor = f"officer:{requester.email}"
    data = vault.open_stream(session, production.evidence_id, actor=actor,
                             reason=f"portal download of {request.reference}")
    first = production.delivered_at is None
    production.downloads += 1
    if first:
        production.delivered_at = clock.now()
        _disclose(session, request, production, vault=vault, actor=actor, recipient=_recipient(session, request))
        request.status, request.closed_at = "delivered", clock.now()
    event(session, request, actor=actor, kind="downloaded", clock=clock, requester_visible=True,
          text=f"Production downloaded through the portal (download {production.downloads})",
          details={"production": production.id})
    return f"{request.reference}.zip", data


def _media_attachment(session: Session, vault: Any, item_id: int, opened: ExitStack, *, actor: str,
                      destination: str) -> Any:
    """A media item for the package: a streamed reader when the vault can stream (video), else its bytes."""
    if hasattr(vault, "export_stream"):
        exported = vault.export_stream(session, item_id, actor=actor, reason=destination, destination=destination)
        return opened.enter_context(exported.reader)
    return vault.export(session, item_id, actor=actor, reason=destination, destination=destination).data


def reissue_token(session: Session, request: LegalRequest, production_id: int, *, actor: str, clock: Clock) -> str:
    production = session.get(Production, production_id)
    if production is None or production.request_id != request.id or production.delivery != "portal":
        raise WrongState(f"{request.reference} has no portal production {production_id}.")
    token = _new_token(production)
    production.token_expires_at = clock.now() + timedelta(hours=int(get_value(session, DOWNLOAD_TOKEN_HOURS)))
    until = f"{production.token_expires_at:%Y-%m-%d %H:%M} UTC"
    notify.requester(session, request, actor=actor, clock=clock, subject=f"{request.reference}: new download link",
                     text=f"A new download token for {request.reference}, valid until {until}. Download token: {token}",
                     timeline_text=f"A new download link for {request.reference}, valid until {until}, was sent by "
                                   "mail; earlier links no longer work.", kind="production_ready")
    return token


def export(session: Session, request: LegalRequest, production_id: int, *, vault: Any, actor: str, clock: Clock,
           recipient: str) -> tuple[str, IO[bytes]]:
    """Staff take the package out for delivery by other means (e.g. a court's upload system).

    Returns the file name and a reader of the package (streamed from the vault: close it when sent).
    """
    production = session.get(Production, production_id)
    if production is None or production.request_id != request.id:
        raise WrongState(f"{request.reference} has no production {production_id}.")
    if not recipient.strip():
        raise InvalidInput("Name who receives the export (it is recorded in the chain of custody).")
    exported = vault.export_stream(session, production.evidence_id, actor=actor,
                                   reason=f"export of {request.reference}", destination=recipient)
    if production.delivered_at is None:
        production.delivered_at = clock.now()
        _disclose(session, request, production, vault=vault, actor=actor, recipient=recipient)
        if request.answered_at is None:
            clocks.note_answered(session, request, actor=actor, clock=clock, text=f"Production exported to {recipient}.")
        request.status, request.closed_at = "delivered", clock.now()
    event(session, request, actor=actor, kind="exported", clock=clock, text=f"Production exported to {recipient}",
          details={"production": production.id, "recipient": recipient})
    return f"{request.reference}.zip", exported.reader
