"""/c: banks, bank content and configuration (HMA's curator role). Exchanges: `bastion.web.hma.exchanges`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.banks import service as banks
from bastion.web.guard import needs
from bastion.web.hma import translate, types
from bastion.web.hma.dialect import dialect_of
from bastion.web.hma.schemas import (
    BankCreate,
    BankUpdate,
    Body,
    HMAResponse,
    query_dict,
    read_body,
    validated,
)
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/c", tags=["HMA: curation"], default_response_class=HMAResponse)


# -- banks --------------------------------------------------------------------------


@router.get("/banks", dependencies=[needs(Perm.BANKS_READ)])
def list_banks(db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    return [translate.bank_json(bank) for bank in banks.list_banks(db)]


@router.post("/banks", status_code=201)
def create_bank(request: Request, principal: Principal = needs(Perm.BANKS_MANAGE), body: Body = Depends(read_body),
                db: Session = Depends(get_db)) -> dict[str, Any]:
    """`{"name": "MY_BANK", "enabled_ratio": 1.0}` -> 201 with the bank; 403 if the name is taken."""
    data = validated(BankCreate, body.json())
    ratio = data.enabled_ratio if data.enabled_ratio is not None else (
        1.0 if data.enabled is None or data.enabled else 0.0)
    bank = translate.create_bank(db, data.name, ratio, actor=principal.actor, clock=get_state(request).clock)
    return translate.bank_json(bank)


@router.get("/bank/{bank_name}", dependencies=[needs(Perm.BANKS_READ)])
def get_bank(bank_name: str, db: Session = Depends(get_db)) -> dict[str, Any]:
    return translate.bank_json(translate.bank_or_404(db, bank_name))


@router.put("/bank/{bank_name}")
def update_bank(bank_name: str, request: Request, principal: Principal = needs(Perm.BANKS_MANAGE),
                body: Body = Depends(read_body), db: Session = Depends(get_db)) -> dict[str, Any]:
    """Rename (`name`) or set the matching ratio (`enabled`, then `enabled_ratio`)."""
    bank = translate.bank_or_404(db, bank_name, "Bank not found")
    data = validated(BankUpdate, body.json())
    bank = translate.update_bank(db, bank, name=data.name, enabled=data.enabled, enabled_ratio=data.enabled_ratio,
                               actor=principal.actor, clock=get_state(request).clock)
    return translate.bank_json(bank)


@router.delete("/bank/{bank_name}")
def delete_bank(bank_name: str, request: Request, principal: Principal = needs(Perm.BANKS_MANAGE),
                db: Session = Depends(get_db)) -> dict[str, Any]:
    """Always `{"message": "Done"}`, whether or not the bank existed."""
    translate.delete_bank(db, bank_name, actor=principal.actor, clock=get_state(request).clock)
    return {"message": "Done"}


# -- bank content -------------------------------------------------------------------


@router.post("/bank/{bank_name}/content")
def add_content(bank_name: str, request: Request, principal: Principal = needs(Perm.BANKS_MANAGE),
                body: Body = Depends(read_body), db: Session = Depends(get_db)) -> dict[str, Any]:
    """Bank content by `url` query parameter or a one-file upload; `metadata` and `note` optional. 200, not 201."""
    bank = translate.bank_or_404(db, bank_name)
    metadata, note = translate.content_metadata(body), translate.content_note(body)
    state, args, dialect = get_state(request), query_dict(request), dialect_of(request, db)
    conversion = dialect.conversion(args.get("conversion"))
    if args.get("url"):
        hashed = translate.hash_url(args["url"], args.get("content_type"), args.get("types"),
                                    state.scanner.fetch_policy, state.scanner.limits, dialect=dialect,
                                    conversion=conversion)
    elif body.files():
        hashed = translate.hash_upload(body, args.get("types"), state.scanner.limits, dialect=dialect,
                                       conversion=conversion)
    else:
        raise HTTPException(400, "Neither `url` nor multipart file upload was received")
    return translate.add_content(db, bank, hashed.signals, metadata=metadata, note=note, actor=principal.actor,
                                 clock=state.clock, dialect=dialect)


@router.post("/bank/{bank_name}/signal")
def add_signals(bank_name: str, request: Request, principal: Principal = needs(Perm.BANKS_MANAGE),
                body: Body = Depends(read_body), db: Session = Depends(get_db)) -> dict[str, Any]:
    """Bank hashes directly: `{"pdq": "…", "md5": "…", "note": "…"}` is one content item."""
    bank = translate.bank_or_404(db, bank_name)
    data = body.json()
    signals = dict(data) if isinstance(data, dict) else {}
    note = translate.check_note(signals.pop("note", None))
    return translate.add_content(db, bank, signals, metadata=None, note=note, actor=principal.actor,
                                 clock=get_state(request).clock, dialect=dialect_of(request, db))


@router.get("/bank/{bank_name}/content/{content_id:int}", dependencies=[needs(Perm.BANKS_READ)])
def get_content(bank_name: str, content_id: int, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    """One content item; `include_signals=true` adds its hashes, `include_metadata=false` drops its metadata."""
    bank = translate.bank_or_404(db, bank_name)
    args = query_dict(request)
    entry = translate.find_entry(db, bank, content_id)
    if entry is None:
        raise HTTPException(404, f"content '{content_id}' not found")
    return translate.content_json(db, bank, entry, include_signals=args.get("include_signals", "false").lower() == "true",
                                  include_metadata=args.get("include_metadata", "true").lower() == "true",
                                  dialect=dialect_of(request, db))


@router.put("/bank/{bank_name}/content/{content_id:int}")
def update_content(bank_name: str, content_id: int, request: Request,
                   principal: Principal = needs(Perm.BANKS_MANAGE), body: Body = Depends(read_body),
                   db: Session = Depends(get_db)) -> dict[str, Any]:
    """Set `disable_until_ts` (1 enabled, 0 disabled, else disabled until that unix time) and `note`."""
    bank = translate.bank_or_404(db, bank_name)
    entry = translate.find_entry(db, bank, content_id)
    if entry is None:
        raise HTTPException(404, f"content '{content_id}' not found")
    return translate.update_content(db, bank, entry, body.json(), actor=principal.actor,
                                  clock=get_state(request).clock)


@router.delete("/bank/{bank_name}/content/{content_id:int}")
def delete_content(bank_name: str, content_id: int, request: Request,
                   principal: Principal = needs(Perm.BANKS_MANAGE), db: Session = Depends(get_db)) -> dict[str, Any]:
    bank = translate.bank_or_404(db, bank_name)
    return {"deleted": translate.delete_content(db, bank, content_id, actor=principal.actor,
                                              clock=get_state(request).clock)}


# -- configuration ------------------------------------------------------------------


@router.get("/signal_type", dependencies=[needs(Perm.BANKS_READ)])
def list_signal_types(request: Request, db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    ratios = types.ratios(get_state(request).services)
    return [{"enabled_ratio": ratios.get(name, 1.0), "name": name} for name in dialect_of(request, db).names]


@router.get("/signal_type/index", dependencies=[needs(Perm.BANKS_READ)])
def signal_type_index(request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    return translate.signal_type_index(db, get_state(request), query_dict(request).get("signal_type"),
                                       dialect_of(request, db))


@router.put("/signal_type/{signal_type_name}", status_code=204, response_class=Response)
def set_signal_type(signal_type_name: str, request: Request, principal: Principal = needs(Perm.BANKS_MANAGE),
                    body: Body = Depends(read_body), db: Session = Depends(get_db)) -> Response:
    """Set a type's `enabled_ratio` (0-1). 204 with no body (HMA sends one; HTTP forbids it)."""
    translate.set_signal_ratio(db, get_state(request), signal_type_name, body.json(), actor=principal.actor,
                               clock=get_state(request).clock, dialect=dialect_of(request, db))
    return Response(status_code=204)


@router.get("/content_type", dependencies=[needs(Perm.BANKS_READ)])
def list_content_types() -> list[dict[str, Any]]:
    return [{"enabled": True, "name": name} for name in types.CONTENT_TYPES]
