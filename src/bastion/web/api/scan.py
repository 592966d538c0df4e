"""The scan API: a platform sends each upload (or its URL) with its metadata, and gets matches back."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import InvalidInput
from bastion.matching.banked import BankMatch
from bastion.media import MediaTooLarge
from bastion.scanning import search as scan_search
from bastion.scanning import views
from bastion.scanning.models import Scan, ScanMatch
from bastion.media.video_formats import sniff_container
from bastion.scanning.service import ScanResult, UploadMeta
from bastion.scanning.video_scan import VideoScanResult, check_sync_size, scan_video
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.api.paging import link_next

router = APIRouter(prefix="/api/v1", tags=["scan"])


class MatchOut(BaseModel):
    bank: str
    bank_id: int
    bank_kind: str
    entry_id: int
    signal_type: str
    distance: int
    classification: str
    source: str
    external_id: str

    @classmethod
    def of(cls, m: BankMatch) -> "MatchOut":
        return cls(bank=m.bank_name, bank_id=m.bank_id, bank_kind=m.bank_kind, entry_id=m.entry_id,
                   signal_type=m.signal_type, distance=m.distance, classification=m.classification, source=m.source,
                   external_id=m.external_id)


class ScanOut(BaseModel):
    scan_id: int
    hashes: dict[str, Any]
    media: dict[str, Any]
    matches: list[MatchOut]
    allowed: list[MatchOut]
    suppressed_by_allow_bank: bool
    pdq_used: bool
    video: dict[str, Any] | None = None  # for a video: its frames and, per matched signal, the seconds matched


def _render(result: ScanResult) -> ScanOut:
    h = result.hashes
    return ScanOut(
        scan_id=result.scan_id,
        hashes={"md5": h.md5, "sha1": h.sha1, "sha256": h.sha256, "pdq": h.pdq, "pdq_quality": h.pdq_quality},
        media={"width": h.width, "height": h.height, "format": h.format, "animated": h.animated,
               "frame_count": h.frame_count, "first_frame_only": h.animated},
        matches=[MatchOut.of(m) for m in result.outcome.matches],
        allowed=[MatchOut.of(m) for m in result.outcome.allowed],
        suppressed_by_allow_bank=bool(result.outcome.suppressed),
        pdq_used=result.pdq_used,
    )


def _render_video(result: VideoScanResult) -> ScanOut:
    h = result.hashes
    return ScanOut(
        scan_id=result.scan_id,
        hashes={"md5": h.md5, "sha256": h.sha256, "vpdq": h.signal_string()},
        media={"width": h.width, "height": h.height, "format": f"video/{h.codec}", "animated": True,
               "frame_count": h.frames_decoded, "first_frame_only": False},
        matches=[MatchOut.of(m) for m in result.outcome.matches],
        allowed=[MatchOut.of(m) for m in result.outcome.allowed],
        suppressed_by_allow_bank=bool(result.outcome.suppressed) and not result.outcome.matches,
        pdq_used=bool(h.features),
        video={"duration_seconds": round(h.duration_seconds, 3), "frame_rate": round(h.frame_rate, 3),
               "frames_hashed": len(h.features), "codec": h.codec, "container": h.container,
               "matched_seconds": {str(m.signal_id): result.times.get(m.signal_id, [])
                                   for m in (*result.outcome.matches, *result.outcome.allowed) if m.video is None},
               "video_matches": {str(m.signal_id): _video_match(m)
                                 for m in (*result.outcome.matches, *result.outcome.allowed) if m.video is not None}},
    )


def _video_match(match: BankMatch) -> dict[str, Any]:
    """How much of each video matched (python-threatexchange's percentages) and where, in seconds."""
    video = match.video
    assert video is not None
    return {"query_match_percent": round(video.query_match_percent, 2),
            "compared_match_percent": round(video.compared_match_percent, 2),
            "query_ranges": [[r.start, r.end] for r in video.query_ranges],
            "compared_ranges": [[r.start, r.end] for r in video.compared_ranges]}


def _meta(content_id: str, account_id: str, uploaded_at: datetime | None, ip: str, metadata: str) -> UploadMeta:
    try:
        extra = json.loads(metadata) if metadata else {}
    except json.JSONDecodeError:
        raise InvalidInput("metadata must be a JSON object, e.g. {\"channel\": \"dm\"}.") from None
    if not isinstance(extra, dict):
        raise InvalidInput("metadata must be a JSON object, e.g. {\"channel\": \"dm\"}.")
    if uploaded_at is not None and uploaded_at.tzinfo is None:
        raise InvalidInput("uploaded_at needs a time zone, e.g. 2026-11-28T10:00:00Z.")
    return UploadMeta(content_id=content_id, account_id=account_id, uploaded_at=uploaded_at, client_ip=ip, extra=extra)


@router.post("/scan")
def scan(
    request: Request,
    file: UploadFile | None = File(None, description="The uploaded media"),
    url: str | None = Form(None, description="Or a URL to fetch it from"),
    content_id: str = Form("", description="The platform's id of this upload"),
    account_id: str = Form("", description="The uploading account's id"),
    uploaded_at: datetime | None = Form(None, description="When it was uploaded (ISO 8601 with zone)"),
    client_ip: str = Form("", description="The uploader's IP address"),
    metadata: str = Form("", description="Anything else, as a JSON object"),
    db: Session = Depends(get_db),
    principal: Principal = needs(Perm.SCAN_SUBMIT),
) -> ScanOut:
    """Hash the media, match it against every live bank, record the scan (never the media)."""
    state = get_state(request)
    meta = _meta(content_id, account_id, uploaded_at, client_ip, metadata)
    if (file is None) == (not url):
        raise InvalidInput("Send exactly one of: a file (multipart field 'file') or a 'url'.")
    if file is not None:
        limit = state.scanner.limits.max_bytes
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise MediaTooLarge(f"The file is larger than {limit} bytes; nothing was scanned.")
        if sniff_container(data[:4096]) is not None:  # a video: frames and digests, decoded in isolation
            check_sync_size(len(data), state.settings.video_sync_max_bytes)
            video = scan_video(state.scanner, db, data, meta, source="upload", actor=principal.actor)
            db.commit()
            return _render_video(video)
        result = state.scanner.scan_bytes(db, data, meta, source="upload", actor=principal.actor)
    else:
        result = state.scanner.scan_url(db, url or "", meta, actor=principal.actor)
    db.commit()
    return _render(result)


class ScanRow(BaseModel):
    id: int
    created_at: datetime
    source: str
    content_id: str
    account_id: str
    md5: str
    pdq: str
    match_count: int
    allowed: bool
    matches: list[dict[str, Any]] = []


@router.get("/scans", dependencies=[needs(Perm.SCAN_READ)])
def recent_scans(request: Request, response: Response, limit: int = Query(50, ge=1, le=500),
                 matched_only: bool = Query(False), account_id: str = "", content_id: str = "", hash: str = "",
                 since: date | None = None, until: date | None = None, cursor: str = "",
                 db: Session = Depends(get_db)) -> list[ScanRow]:
    """Newest first, filtered by exact values; keyset-paged through `X-Next-Cursor` (and `Link: rel="next"`)."""
    page = scan_search.search(db, scan_search.ScanFilter(account_id=account_id, content_id=content_id, hash=hash,
                                                         matched_only=matched_only, since=since, until=until),
                              cursor=cursor or None, limit=limit)
    link_next(request, response, page.next_cursor)
    scans = page.rows
    matches = views.matches_by_scan(db, [s.id for s in scans])
    return [_row(s, matches[s.id]) for s in scans]


@router.get("/scans/{scan_id}", dependencies=[needs(Perm.SCAN_READ)])
def get_scan(scan_id: int, db: Session = Depends(get_db)) -> ScanRow:
    scan = views.get_scan(db, scan_id)
    return _row(scan, views.matches_by_scan(db, [scan.id])[scan.id])


def _row(scan: Scan, found: list[ScanMatch]) -> ScanRow:
    matches = [
        {"bank": m.bank_name, "entry_id": m.entry_id, "signal_type": m.signal_type, "distance": m.distance,
         "found_by": m.found_by}
        for m in found
    ]
    return ScanRow(id=scan.id, created_at=scan.created_at, source=scan.source, content_id=scan.content_id,
                   account_id=scan.account_id, md5=scan.md5, pdq=scan.pdq, match_count=scan.match_count,
                   allowed=scan.allowed, matches=matches)


@router.get("/index/status", dependencies=[needs(Perm.MATCH_LOOKUP)])
def index_status(request: Request) -> dict[str, Any]:
    status = get_state(request).matcher.status()
    return {"pdq": {"size": status.size, "last_change": status.last_change,
                    "loaded_at": status.loaded_at, "refreshed_at": status.refreshed_at,
                    "snapshot_generation": status.snapshot_generation}}
