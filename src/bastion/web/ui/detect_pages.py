"""Pages for hash banks and recent scans (hashes and metadata only: no media is ever shown here)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.banks import browse, service
from bastion.errors import BastionError, InvalidInput
from bastion.scanning import search as scan_search
from bastion.scanning import views
from bastion.web.api.banks import import_upload
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.paging import next_url, parse_day
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
PAGE = 100


def _banks_listing(request: Request, db: Session, error: str | None = None) -> dict[str, object]:
    """The banks list's context: one keyset page matching the name prefix and kind in the query string."""
    args = request.query_params
    shown = {"q": args.get("q", ""), "kind": args.get("kind", "")}
    try:
        page = browse.banks_page(db, name=shown["q"], kind=shown["kind"], cursor=args.get("cursor") or None,
                                 limit=PAGE)
    except InvalidInput as exc:
        page, error = browse.banks_page(db, limit=PAGE), exc.message
    return {"banks": page.rows, "counts": browse.counts_for(db, page.rows), "filters": shown,
            "kinds": browse.KIND_TITLES, "next_url": next_url(request, page.next_cursor), "error": error}


@router.get("/banks", dependencies=[needs(Perm.BANKS_READ)])
def banks_page(request: Request, db: Session = Depends(get_db)) -> Response:
    context = _banks_listing(request, db)
    return render(request, "banks.html", context, status_code=200 if context["error"] is None else 422)


@router.post("/banks")
def banks_create(request: Request, name: str = Form(...), kind: str = Form("match"), pdq_threshold: int = Form(31),
                 description: str = Form(""), source: str = Form(""), db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.BANKS_MANAGE)) -> Response:
    try:
        service.create_bank(db, name=name.strip(), kind=kind, pdq_threshold=pdq_threshold, description=description,
                            source=source, actor=principal.actor, clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return render(request, "banks.html", _banks_listing(request, db, exc.message), status_code=exc.status)
    db.commit()
    return RedirectResponse(f"/banks/{name.strip()}", status_code=303)


@router.get("/banks/{name}", dependencies=[needs(Perm.BANKS_READ)])
def bank_page(request: Request, name: str, q: str = "", cursor: str = "", db: Session = Depends(get_db)) -> Response:
    bank = service.get_bank(db, name)
    try:
        page, error = browse.entries_page(db, bank, hash_value=q, cursor=cursor or None, limit=PAGE), None
    except InvalidInput as exc:
        page, error = browse.entries_page(db, bank, limit=PAGE), exc.message
    return render(request, "bank.html", {"bank": bank, "entries": page.rows, "q": q, "search_error": error,
                                         "next_url": next_url(request, page.next_cursor),
                                         "count": service.entry_counts(db).get(bank.id, 0)},
                  status_code=200 if error is None else 422)


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
    page = browse.entries_page(db, bank, limit=PAGE)
    return render(request, "bank.html", {"bank": bank, "entries": page.rows, "q": "",
                                         "next_url": next_url(request, page.next_cursor),
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
