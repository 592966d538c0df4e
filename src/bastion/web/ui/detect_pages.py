"""Pages for hash banks and recent scans (hashes and metadata only: no media is ever shown here)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.banks import service
from bastion.errors import BastionError
from bastion.scanning import search as scan_search
from bastion.scanning import views
from bastion.web.api.banks import import_upload
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.paging import next_url, parse_day
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
PAGE = 100


@router.get("/banks", dependencies=[needs(Perm.BANKS_READ)])
def banks_page(request: Request, db: Session = Depends(get_db)) -> Response:
    return render(request, "banks.html", {"banks": service.list_banks(db), "counts": service.entry_counts(db)})


@router.post("/banks")
def banks_create(request: Request, name: str = Form(...), kind: str = Form("match"), pdq_threshold: int = Form(31),
                 description: str = Form(""), source: str = Form(""), db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.BANKS_MANAGE)) -> Response:
    try:
        service.create_bank(db, name=name.strip(), kind=kind, pdq_threshold=pdq_threshold, description=description,
                            source=source, actor=principal.actor, clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return render(request, "banks.html", {"banks": service.list_banks(db), "counts": service.entry_counts(db),
                                              "error": exc.message}, status_code=exc.status)
    db.commit()
    return RedirectResponse(f"/banks/{name.strip()}", status_code=303)


@router.get("/banks/{name}", dependencies=[needs(Perm.BANKS_READ)])
def bank_page(request: Request, name: str, page: int = Query(0, ge=0), db: Session = Depends(get_db)) -> Response:
    bank = service.get_bank(db, name)
    entries = service.list_entries(db, bank, offset=page * PAGE, limit=PAGE)
    return render(request, "bank.html", {"bank": bank, "entries": entries, "page": page, "page_size": PAGE,
                                         "count": service.entry_counts(db).get(bank.id, 0)})


@router.post("/banks/{name}/import")
def bank_import(request: Request, name: str, file: UploadFile = File(...), format: str = Form("te"),
                atomic: bool = Form(False), db: Session = Depends(get_db),
                principal: Principal = needs(Perm.BANKS_MANAGE)) -> Response:
    bank = service.get_bank(db, name)
    try:
        report = import_upload(db, bank, file, format, atomic, principal.actor, get_state(request).clock)
        result, error = report, None
    except BastionError as exc:
        db.rollback()
        result, error = None, exc.message
    entries = service.list_entries(db, bank, offset=0, limit=PAGE)
    return render(request, "bank.html", {"bank": bank, "entries": entries, "page": 0, "page_size": PAGE,
                                         "count": service.entry_counts(db).get(bank.id, 0), "report": result,
                                         "error": error}, status_code=200 if error is None else 422)


@router.post("/banks/{name}/enabled")
def bank_enable(request: Request, name: str, enabled: bool = Form(...), db: Session = Depends(get_db),
                principal: Principal = needs(Perm.BANKS_MANAGE)) -> Response:
    service.update_bank(db, service.get_bank(db, name), enabled=enabled, actor=principal.actor,
                        clock=get_state(request).clock)
    db.commit()
    return RedirectResponse(f"/banks/{name}", status_code=303)


@router.get("/scans", dependencies=[needs(Perm.SCAN_READ)])
def scans_page(request: Request, db: Session = Depends(get_db), matched: bool = Query(False), account: str = "",
               content: str = "", hash: str = "", since: str = Query("", alias="from"),
               until: str = Query("", alias="to"), cursor: str = "") -> Response:
    """Scans newest first, filtered by exact values, paged by keyset: hashes and metadata, never media."""
    page = scan_search.search(db, scan_search.ScanFilter(account_id=account, content_id=content, hash=hash,
                                                         matched_only=matched, since=parse_day(since, "from"),
                                                         until=parse_day(until, "to")), cursor=cursor or None)
    scans = page.rows
    matches = views.matches_by_scan(db, [s.id for s in scans])
    filters = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return render(request, "scans.html", {"scans": scans, "matches": matches, "matched": matched, "filters": filters,
                                          "next_url": next_url(request, page.next_cursor),
                                          "index": get_state(request).matcher.status()})
