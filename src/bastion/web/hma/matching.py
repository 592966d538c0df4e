"""/m: looking hashes and content up in the banks (HMA's matcher role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.web.guard import needs
from bastion.web.hma import translate
from bastion.web.hma.dialect import dialect_of
from bastion.web.hma.schemas import (
    Body,
    HMAResponse,
    LookupQuery,
    RawLookupQuery,
    query_dict,
    query_doc,
    query_model,
    read_body,
)
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/m", tags=["HMA: matching"], default_response_class=HMAResponse)


def _may_hash(principal: Principal) -> None:
    """HMA refuses content lookups when the process is not a hasher; Bastion, when the caller may not hash."""
    if not principal.can(Perm.MEDIA_HASH):
        raise HTTPException(403, "Hashing is disabled, missing role")


@router.get("/raw_lookup", dependencies=[needs(Perm.MATCH_LOOKUP)], openapi_extra=query_doc(RawLookupQuery))
def raw_lookup(request: Request, query: RawLookupQuery = Depends(query_model(RawLookupQuery)),
               db: Session = Depends(get_db)) -> dict[str, Any]:
    """Index hits for one hash, ignoring entry state and bank ratios: `{"matches": [id, …]}`."""
    st, value = translate.parse_signal(query.signal_type, query.signal, dialect_of(request, db))
    hits = translate.raw_lookup(db, get_state(request), st, value, translate.bank_filter(query.banks))
    if query.include_distance:
        return {"matches": [{"bank_content_id": entry_id, "distance": distance} for entry_id, distance in hits]}
    return {"matches": [entry_id for entry_id, _ in hits]}


@router.get("/lookup", openapi_extra=query_doc(LookupQuery))
def lookup_get(request: Request, principal: Principal = needs(Perm.MATCH_LOOKUP),
               query: LookupQuery = Depends(query_model(LookupQuery)), db: Session = Depends(get_db)
               ) -> dict[str, Any]:
    """By `url` (grouped by signal type, then bank) or by `signal` + `signal_type` (flat: bank -> matches)."""
    state, wanted, dialect = get_state(request), translate.bank_filter(query.banks), dialect_of(request, db)
    if query.url:
        _may_hash(principal)
        hashed = translate.hash_url(query.url, query.content_type, query.types, state.scanner.fetch_policy,
                                    state.scanner.limits, dihedral=True, dialect=dialect,
                                    conversion=dialect.conversion(query_dict(request).get("conversion")))
        signals = {name: translate.parse_signal(name, value)[1] for name, value in hashed.signals.items()}
        grouped = translate.lookup(db, state, signals, variants=hashed.pdq_variants, seed=query.seed, wanted=wanted)
        return grouped.get(query.signal_type, {}) if query.signal_type is not None else grouped
    if not query.signal or not query.signal_type:
        raise HTTPException(400, "Either url or both signal and signal_type are required")
    st, value = translate.parse_signal(query.signal_type, query.signal, dialect)
    return translate.lookup(db, state, {st.name: value}, seed=query.seed, wanted=wanted)[st.name]


@router.post("/lookup")
def lookup_post(request: Request, principal: Principal = needs(Perm.MATCH_LOOKUP),
                body: Body = Depends(read_body), db: Session = Depends(get_db)) -> dict[str, Any]:
    """Hash one uploaded file and look it up (rotated and mirrored copies match too)."""
    _may_hash(principal)
    state, args, dialect = get_state(request), query_dict(request), dialect_of(request, db)
    hashed = translate.hash_upload(body, args.get("types"), state.scanner.limits, dihedral=True, dialect=dialect,
                                   conversion=dialect.conversion(args.get("conversion")))
    signals = {name: translate.parse_signal(name, value)[1] for name, value in hashed.signals.items()}
    return translate.lookup(db, state, signals, variants=hashed.pdq_variants, seed=args.get("seed"),
                          bypass_coinflip=args.get("bypass_coinflip", "false") == "true",
                          wanted=translate.bank_filter(args.get("banks")))


@router.get("/index/status", dependencies=[needs(Perm.MATCH_LOOKUP)])
def index_status(request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    """Per signal type: whether its index is present, what it was built to (unix seconds) and its size."""
    return translate.index_status(db, get_state(request), query_dict(request).get("signal_type"),
                                  dialect_of(request, db))


@router.post("/compare", dependencies=[needs(Perm.MATCH_LOOKUP)])
def compare(request: Request, body: Body = Depends(read_body), db: Session = Depends(get_db)) -> dict[str, Any]:
    """Compare pairs of hashes: `{"pdq": [a, b]}` -> `{"pdq": [true, {"distance": 9}]}`."""
    return translate.compare(body.json(), dialect_of(request, db))
