"""The legal request desk over JSON (/api/v1/legal): thin, every route one permission from bastion.legal.perms."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

import bastion.legal  # noqa: F401  (registers settings and tasks)
from bastion.auth.models import User
from bastion.auth.principal import Principal
from bastion.errors import InvalidInput
from bastion.legal import (
    catalogue,
    clocks,
    collection,
    directory,
    intake,
    listing,
    messages,
    notice,
    perms,
    preservation,
    produce,
    removal,
    resolution,
    review,
    rules,
    verification,
)
from bastion.legal.schemas import RequestInput, RequestUpdate
from bastion.legal.views import request_view
from bastion.web import downloads
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state, platform_connector
from bastion.web.api.paging import link_next

router = APIRouter(prefix="/api/v1/legal", tags=["legal"])
NO_STORE = {"Cache-Control": "no-store, private"}
VAULT = "evidence.vault"
SIGNING_KEY = "production.signing_key"


def user_of(db: Session, principal: Principal) -> User:
    user = db.get(User, principal.user_id)
    assert user is not None
    return user


def vault_of(request: Request) -> Any:
    vault = get_state(request).services.get(VAULT)
    if vault is None:
        raise InvalidInput("The evidence vault is not configured on this instance.")
    return vault


def signing_key_of(request: Request) -> Any:
    """The production signing key: a service if the app wired one, else the instance's key file (made on first use)."""
    state = get_state(request)
    key = state.services.get(SIGNING_KEY)
    if key is None:
        key = state.services[SIGNING_KEY] = produce.instance_signing_key(state.settings)
    return key


@contextmanager
def connector_of(request: Request) -> Iterator[Any]:
    """The platform connector, required: a missing one or a platform failure is a sentence for the user."""
    from bastion.legal.errors import PlatformFailed
    from bastion.platform import PlatformError

    with platform_connector(request) as connector:
        if connector is None:
            raise InvalidInput("No platform connector is configured (set BASTION_PLATFORM_URL and "
                               "BASTION_PLATFORM_SECRET).")
        try:
            yield connector
        except PlatformError as exc:  # an outage or refusal is the user's to retry, never a bare 500
            raise PlatformFailed(f"The platform did not answer ({exc}). Nothing was changed; try again.") from None


async def read_upload(db: Session, upload: UploadFile | None) -> tuple[str, bytes] | None:
    """The upload, read no further than the configured limit (+1 byte, so an oversize file is refused)."""
    if upload is None or not upload.filename:
        return None
    from bastion.legal.settings import MAX_DOCUMENT_BYTES
    from bastion.orgsettings import get_value

    return upload.filename, await upload.read(int(get_value(db, MAX_DOCUMENT_BYTES)) + 1)


def _view(request: Request, db: Session, legal_request: Any) -> dict[str, Any]:
    return request_view(db, legal_request, get_state(request).clock.now()).as_dict()


# -- catalogue and directory ---------------------------------------------------------------------


@router.get("/catalogue", dependencies=[needs(perms.READ)])
def get_catalogue(db: Session = Depends(get_db)) -> dict[str, Any]:
    return {
        "jurisdictions": [{"code": j.code, "name": j.name, "notes": j.notes} for j in catalogue.list_jurisdictions(db)],
        "categories": [{"key": c.key, "title": c.title, "class": c.klass, "description": c.description}
                       for c in catalogue.list_categories(db)],
        "instruments": [i.as_dict() for i in catalogue.list_instruments(db, include_inactive=True)],
        "fields": catalogue.field_labels(),
    }


class InstrumentEdit(BaseModel):
    changes: dict[str, Any]
    reason: str


@router.put("/catalogue/instruments/{key}")
def edit_instrument(key: str, body: InstrumentEdit, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    rule = catalogue.set_instrument(db, key, body.changes, actor=principal.actor, reason=body.reason,
                                    clock=get_state(request).clock)
    db.commit()
    return rule.as_dict()


@router.get("/catalogue/rules", dependencies=[needs(perms.READ)])
def list_rules(db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    """Preservation periods by jurisdiction, removal orders, certificate forms: each with citation and "as of"."""
    return [rules.as_dict(r) for r in rules.list_rules(db)]


class RuleEdit(BaseModel):
    changes: dict[str, Any]
    reason: str


@router.put("/catalogue/rules/{key}")
def edit_rule(key: str, body: RuleEdit, request: Request, db: Session = Depends(get_db),
              principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    row = rules.set_rule(db, key, body.changes, actor=principal.actor, reason=body.reason,
                         clock=get_state(request).clock)
    db.commit()
    return rules.as_dict(row)


class AgencyIn(BaseModel):
    name: str
    country: str
    domains: str | list[str]
    jurisdiction: str = ""
    phone: str = ""
    phone_source: str = ""
    notes: str = ""
    active: bool = True
    reason: str = ""


def _agency(a: Any) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "country": a.country, "jurisdiction": a.jurisdiction,
            "domains": directory.domains_of(a), "phone": a.phone, "phone_source": a.phone_source, "notes": a.notes,
            "active": a.active}


@router.get("/agencies", dependencies=[needs(perms.READ)])
def list_agencies(request: Request, response: Response, name: str = "", country: str = "", state: str = "",
                  cursor: str = "", limit: int | None = None, db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    """The directory A to Z (retired agencies too), by the start of the name, the country and whether in use.
    Keyset-paged through `X-Next-Cursor` (and `Link: rel="next"`)."""
    page = listing.agencies_page(db, name=name, country=country, state=state, cursor=cursor or None, limit=limit)
    link_next(request, response, page.next_cursor)
    return [_agency(a) for a in page.rows]


@router.post("/agencies", status_code=201)
def add_agency(body: AgencyIn, request: Request, db: Session = Depends(get_db),
               principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    agency = directory.set_agency(db, actor=principal.actor, clock=get_state(request).clock, **body.model_dump())
    db.commit()
    return _agency(agency)


@router.put("/agencies/{agency_id}")
def change_agency(agency_id: int, body: AgencyIn, request: Request, db: Session = Depends(get_db),
                  principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    directory.get_agency(db, agency_id)
    agency = directory.set_agency(db, agency_id=agency_id, actor=principal.actor, clock=get_state(request).clock,
                                  **body.model_dump())
    db.commit()
    return _agency(agency)


@router.post("/agencies/import")
async def import_agencies(request: Request, file: UploadFile = File(...), db: Session = Depends(get_db),
                          principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    text = (await file.read(5 * 1024 * 1024)).decode("utf-8-sig", errors="replace")
    report = directory.import_csv(db, text, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"added": report.added, "updated": report.updated, "unchanged": report.unchanged}


# -- requests -----------------------------------------------------------------------------------


@router.get("/requests", dependencies=[needs(perms.READ)])
def list_requests(request: Request, response: Response, db: Session = Depends(get_db), closed: bool = False,
                  cursor: str = "", limit: int | None = None) -> list[dict[str, Any]]:
    """The urgency queue; keyset-paged: when there is more, the `X-Next-Cursor` header (and a
    `Link: rel="next"`) carries the cursor of the next page."""
    now = get_state(request).clock.now()
    page = clocks.queue(db, include_closed=closed, cursor=cursor or None, limit=limit)
    link_next(request, response, page.next_cursor)
    return [{"id": r.id, "reference": r.reference, "status": r.status, "instrument": r.instrument_key,
             "jurisdiction": r.jurisdiction, "due_at": r.due_at.isoformat() if r.due_at else None,
             "time_left_seconds": clocks.time_left(r, now), "priority": r.priority, "emergency": r.emergency,
             "verification": r.verification, "requester_email": r.requester_email}
            for r in page.rows]


@router.post("/requests", status_code=201)
def create_request(body: RequestInput, request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    """Staff intake of a request received by email or post (the portal uses bastion.legal.portal)."""
    state = get_state(request)
    legal_request = intake.submit(db, body, actor=principal.actor, clock=state.clock, vault=state.services.get(VAULT))
    db.commit()
    return _view(request, db, legal_request)


@router.get("/requests/{request_id}", dependencies=[needs(perms.READ)])
def get_request(request_id: int, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    return _view(request, db, intake.get_request(db, request_id))


@router.patch("/requests/{request_id}")
def update_request(request_id: int, body: RequestUpdate, request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    intake.update(db, legal_request, body, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/documents", status_code=201)
async def upload_document(request_id: int, request: Request, file: UploadFile = File(...),
                          db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    upload = await read_upload(db, file)
    if upload is None:
        raise InvalidInput("Attach the document.")
    intake.attach_document(db, legal_request, upload[0], upload[1], actor=principal.actor,
                           clock=get_state(request).clock, vault=vault_of(request))
    db.commit()
    return _view(request, db, legal_request)


class MessageIn(BaseModel):
    body: str = Field("", max_length=20_000)
    template: str = Field("", max_length=64)
    reply_to: int | None = None


def _message_dict(m: Any) -> dict[str, Any]:
    return {"id": m.id, "direction": m.direction, "author": m.author_name, "body": m.body, "template": m.template,
            "reply_to": m.reply_to, "created_at": m.created_at.isoformat(),
            "read_at": m.read_at.isoformat() if m.read_at else None,
            "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                            for a in m.attachments]}


@router.get("/requests/{request_id}/messages", dependencies=[needs(perms.READ)])
def list_messages(request_id: int, db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    """The thread with the officer, oldest first."""
    intake.get_request(db, request_id)
    return [_message_dict(m) for m in messages.thread(db, request_id)]


@router.post("/requests/{request_id}/messages", status_code=201)
def post_message(request_id: int, body: MessageIn, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    """Write to the officer (a template's key with an empty body sends the filled template)."""
    state = get_state(request)
    sent = messages.send_from_desk(db, intake.get_request(db, request_id), body=body.body, actor=principal.actor,
                                   author_name=user_of(db, principal).username, clock=state.clock,
                                   base_url=state.settings.base_url, template=body.template, reply_to=body.reply_to,
                                   vault=vault_of(request))
    db.commit()
    return next(_message_dict(m) for m in messages.thread(db, request_id) if m.id == sent.id)


class ReminderIn(BaseModel):
    source: str = Field("email", pattern="^(portal|email|post|phone)$")
    from_email: str = ""
    text: str = ""


@router.post("/requests/{request_id}/reminders")
def record_reminder(request_id: int, body: ReminderIn, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    intake.requester_reminder(db, legal_request, actor=principal.actor, clock=get_state(request).clock,
                              source=body.source, from_email=body.from_email, text=body.text)
    db.commit()
    return _view(request, db, legal_request)


class AccountResolve(BaseModel):
    account_id: str


@router.post("/requests/{request_id}/accounts/{row_id}")
def resolve_account(request_id: int, row_id: int, body: AccountResolve, request: Request,
                    db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    intake.set_account(db, legal_request, row_id, body.account_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/account-lookups")
def lookup_accounts(request_id: int, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    """Ask the platform which accounts the usernames, emails and phones match: candidates for staff to confirm."""
    legal_request = intake.get_request(db, request_id)
    with connector_of(request) as connector:
        resolution.find_candidates(db, legal_request, connector, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/candidates/{candidate_id}/confirm")
def confirm_candidate(request_id: int, candidate_id: int, request: Request, db: Session = Depends(get_db),
                      principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    resolution.confirm(db, legal_request, candidate_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/candidates/{candidate_id}/reject")
def reject_candidate(request_id: int, candidate_id: int, request: Request, db: Session = Depends(get_db),
                     principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    resolution.reject(db, legal_request, candidate_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


class AssignIn(BaseModel):
    username: str


@router.post("/requests/{request_id}/assign")
def assign(request_id: int, body: AssignIn, request: Request, db: Session = Depends(get_db),
           principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    from bastion.auth import users

    legal_request = intake.get_request(db, request_id)
    review.assign(db, legal_request, users.require_user(db, body.username), actor=principal.actor,
                  clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


class CallbackIn(BaseModel):
    outcome: str
    spoke_with: str = ""
    notes: str = ""
    number: str | None = None


@router.post("/requests/{request_id}/callbacks")
def callback(request_id: int, body: CallbackIn, request: Request, db: Session = Depends(get_db),
             principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    verification.record_callback(db, legal_request, actor=principal.actor, clock=get_state(request).clock,
                                 **body.model_dump())
    intake.refresh(db, legal_request, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/reverify")
def reverify(request_id: int, request: Request, db: Session = Depends(get_db),
             principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    """Re-check against the directory (e.g. after adding the agency)."""
    legal_request = intake.get_request(db, request_id)
    intake.refresh(db, legal_request, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


class FraudIn(BaseModel):
    reason: str


@router.post("/requests/{request_id}/fraudulent")
def fraudulent(request_id: int, body: FraudIn, request: Request, db: Session = Depends(get_db),
               principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    intake.mark_fraudulent(db, legal_request, actor=principal.actor, clock=get_state(request).clock,
                           reason=body.reason)
    db.commit()
    return _view(request, db, legal_request)


class DecisionIn(BaseModel):
    outcome: str
    categories: list[str] | None = None
    reason: str = ""


@router.post("/requests/{request_id}/decision")
def decide(request_id: int, body: DecisionIn, request: Request, db: Session = Depends(get_db),
           principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    review.decide(db, legal_request, user_of(db, principal), outcome=body.outcome, categories=body.categories,
                  reason=body.reason, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/approve")
def approve(request_id: int, request: Request, db: Session = Depends(get_db),
            principal: Principal = needs(perms.APPROVE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    review.approve(db, legal_request, user_of(db, principal), actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/collect")
def collect(request_id: int, request: Request, db: Session = Depends(get_db),
            principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    with connector_of(request) as connector:
        collection.collect(db, legal_request, connector=connector, vault=vault_of(request), actor=principal.actor,
                           clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.get("/requests/{request_id}/collection")
def collection_preview(request_id: int, request: Request, db: Session = Depends(get_db),
                       principal: Principal = needs(perms.MANAGE)) -> Response:
    from fastapi.responses import JSONResponse

    legal_request = intake.get_request(db, request_id)
    shown = collection.preview(db, legal_request, vault=vault_of(request), actor=principal.actor)
    db.commit()  # the custody "view" records
    return JSONResponse(shown, headers=NO_STORE)


class ProduceIn(BaseModel):
    delivery: str = "portal"


@router.post("/requests/{request_id}/productions", status_code=201)
def make_production(request_id: int, body: ProduceIn, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    state = get_state(request)
    legal_request = intake.get_request(db, request_id)
    production, _token = produce.build(db, legal_request, vault=vault_of(request), actor=principal.actor,
                                       clock=state.clock, delivery=body.delivery,
                                       signing_key=signing_key_of(request),
                                       certificate=state.services.get("production.certificate"))
    db.commit()
    return {"id": production.id, "sha256": production.sha256, "size": production.size,
            "delivery": production.delivery, "token_expires_at": production.token_expires_at}


class ExportIn(BaseModel):
    recipient: str


@router.post("/requests/{request_id}/productions/{production_id}/export")
def export_production(request_id: int, production_id: int, body: ExportIn, request: Request,
                      db: Session = Depends(get_db), principal: Principal = needs(perms.MANAGE)) -> Response:
    legal_request = intake.get_request(db, request_id)
    name, data = produce.export(db, legal_request, production_id, vault=vault_of(request), actor=principal.actor,
                                clock=get_state(request).clock, recipient=body.recipient)
    db.commit()
    return downloads.attachment(data, name, "application/zip", NO_STORE)


class NoticeIn(BaseModel):
    to: str
    text: str = ""


@router.post("/requests/{request_id}/notice")
def send_notice(request_id: int, body: NoticeIn, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    notice.send(db, legal_request, to=body.to, text=body.text, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


class PreserveIn(BaseModel):
    reason: str = Field("", max_length=2000)


@router.post("/requests/{request_id}/preserve")
def preserve_now(request_id: int, request: Request, body: PreserveIn | None = None, db: Session = Depends(get_db),
                 principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    """Preserve the request's accounts and named posts now, under a legal hold (any request, no org setting)."""
    legal_request = intake.get_request(db, request_id)
    preservation.preserve_now(db, legal_request, actor=principal.actor, clock=get_state(request).clock,
                              vault=vault_of(request), reason=body.reason if body else "")
    db.commit()
    return _view(request, db, legal_request)


class ExtendIn(BaseModel):
    reason: str
    requested_by: str = Field("", max_length=500)
    until: date | None = None


@router.post("/requests/{request_id}/preservation/extend")
def extend_preservation(request_id: int, body: ExtendIn, request: Request, db: Session = Depends(get_db),
                        principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    preservation.extend(db, legal_request, actor=principal.actor, clock=get_state(request).clock,
                        vault=vault_of(request), reason=body.reason, requested_by=body.requested_by,
                        until=body.until)
    db.commit()
    return _view(request, db, legal_request)


class ReleaseIn(BaseModel):
    reason: str


@router.post("/requests/{request_id}/preservation/release")
def release_preservation(request_id: int, body: ReleaseIn, request: Request, db: Session = Depends(get_db),
                         principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    preservation.release(db, legal_request, actor=principal.actor, clock=get_state(request).clock,
                         vault=vault_of(request), reason=body.reason)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/removals/retry")
def retry_removals(request_id: int, request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    legal_request = intake.get_request(db, request_id)
    removal.retry(db, legal_request, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)


@router.post("/requests/{request_id}/productions/{production_id}/link")
def new_download_link(request_id: int, production_id: int, request: Request, db: Session = Depends(get_db),
                      principal: Principal = needs(perms.MANAGE)) -> dict[str, Any]:
    """Mail the requester a new download link (the old one stops working); the token is shown to nobody else."""
    legal_request = intake.get_request(db, request_id)
    produce.reissue_token(db, legal_request, production_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return _view(request, db, legal_request)

