"""/h: hashing content by URL or upload (HMA's hasher role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.web.guard import needs
from bastion.web.hma import translate
from bastion.web.hma.dialect import dialect_of
from bastion.web.hma.schemas import (
    Body,
    HashQuery,
    HMAResponse,
    query_dict,
    query_doc,
    query_model,
    read_body,
)
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/h", tags=["HMA: hashing"], default_response_class=HMAResponse)


@router.get("/hash", dependencies=[needs(Perm.MEDIA_HASH)], openapi_extra=query_doc(HashQuery))
def hash_url(request: Request, query: HashQuery = Depends(query_model(HashQuery)),
             db: Session = Depends(get_db)) -> dict[str, Any]:
    """Fetch a URL (SSRF-guarded) and hash it: `{"pdq": "…", "md5": "…", …}`; `conversion=hma`: HMA's PDQ values."""
    scanner, dialect = get_state(request).scanner, dialect_of(request, db)
    return translate.hash_url(query.url, query.content_type, query.types, scanner.fetch_policy, scanner.limits,
                              dialect=dialect, conversion=dialect.conversion(query.conversion)).signals


@router.post("/hash", dependencies=[needs(Perm.MEDIA_HASH)])
def hash_upload(request: Request, body: Body = Depends(read_body), db: Session = Depends(get_db)) -> dict[str, Any]:
    """Hash one uploaded file; the multipart field name is the content type (`photo` or `video`)."""
    limits, args, dialect = get_state(request).scanner.limits, query_dict(request), dialect_of(request, db)
    return translate.hash_upload(body, args.get("types"), limits, dialect=dialect,
                                 conversion=dialect.conversion(args.get("conversion"))).signals
