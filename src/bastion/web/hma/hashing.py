"""/h: hashing content by URL or upload (HMA's hasher role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from bastion.auth.permissions import Perm
from bastion.web.guard import needs
from bastion.web.hma import translate
from bastion.web.hma.schemas import (
    Body,
    HashQuery,
    HMAResponse,
    query_dict,
    query_doc,
    query_model,
    read_body,
)
from bastion.web.state import get_state

router = APIRouter(prefix="/h", tags=["HMA: hashing"], default_response_class=HMAResponse)


@router.get("/hash", dependencies=[needs(Perm.MEDIA_HASH)], openapi_extra=query_doc(HashQuery))
def hash_url(request: Request, query: HashQuery = Depends(query_model(HashQuery))) -> dict[str, Any]:
    """Fetch a URL (SSRF-guarded) and hash it: `{"pdq": "…", "md5": "…", …}`."""
    scanner = get_state(request).scanner
    return translate.hash_url(query.url, query.content_type, query.types, scanner.fetch_policy, scanner.limits).signals


@router.post("/hash", dependencies=[needs(Perm.MEDIA_HASH)])
def hash_upload(request: Request, body: Body = Depends(read_body)) -> dict[str, Any]:
    """Hash one uploaded file; the multipart field name is the content type (`photo` or `video`)."""
    limits = get_state(request).scanner.limits
    return translate.hash_upload(body, query_dict(request).get("types"), limits).signals
