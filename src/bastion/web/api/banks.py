"""Hash banks: create, change, delete (soft), list; entries; streamed import and export."""

from __future__ import annotations

import io
import tempfile
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.banks import browse, service, transfer
from bastion.banks.models import Bank, BankEntry
from bastion.matching.banked import SYNC_REPLAY_LIMIT, schedule_snapshots
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.api.paging import link_next

router = APIRouter(prefix="/api/v1", tags=["banks"])


class BankOut(BaseModel):
    id: int
    name: str
    kind: str
    pdq_threshold: int
    vpdq_query_match_percent: float
    vpdq_compared_match_percent: float
    description: str
    source: str
    enabled: bool
    entries: int | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, bank: Bank, entries: int | None = None) -> "BankOut":
        return cls(id=bank.id, name=bank.name, kind=bank.kind, pdq_threshold=bank.pdq_threshold,
                   vpdq_query_match_percent=bank.vpdq_query_match_percent,
                   vpdq_compared_match_percent=bank.vpdq_compared_match_percent,
                   description=bank.description, source=bank.source, enabled=bank.enabled, entries=entries,
                   created_at=bank.created_at, updated_at=bank.updated_at)


class BankCreate(BaseModel):
    name: str = Field(description="UPPER_CASE_WITH_UNDERSCORES (HMA's rule)")
    kind: str = Field("match", pattern="^(match|allow)$")
    pdq_threshold: int = Field(31, ge=0, le=64)
    vpdq_query_match_percent: float = Field(80.0, ge=0, le=100, description="a video matches when this share of "
                                            "the scanned video's frames match it (python-threatexchange: 80)")
    vpdq_compared_match_percent: float = Field(0.0, ge=0, le=100, description="and this share of its own frames")
    description: str = ""
    source: str = ""
    enabled: bool = True


class BankPatch(BaseModel):
    name: str | None = None
    kind: str | None = Field(None, pattern="^(match|allow)$")
    pdq_threshold: int | None = Field(None, ge=0, le=64)
    vpdq_query_match_percent: float | None = Field(None, ge=0, le=100)
    vpdq_compared_match_percent: float | None = Field(None, ge=0, le=100)
    description: str | None = None
    source: str | None = None
    enabled: bool | None = None


class EntryIn(BaseModel):
    signals: dict[str, str] = Field(description='e.g. {"pdq": "…", "md5": "…"}, or a video\'s {"vpdq": "[…]"} '
                                                '(python-threatexchange\'s signal string)')
    external_id: str = ""
    source: str = ""
    classification: str = ""
    note: str = ""


class EntryOut(BaseModel):
    id: int
    bank_id: int
    signals: dict[str, str]
    external_id: str
    source: str
    classification: str
    note: str
    enabled: bool
    added_at: datetime

    @classmethod
    def of(cls, entry: BankEntry, signals: dict[str, str]) -> "EntryOut":
        return cls(id=entry.id, bank_id=entry.bank_id, signals=signals, external_id=entry.external_id,
                   source=entry.source, classification=entry.classification, note=entry.note,
                   enabled=entry.enabled, added_at=entry.added_at)


class EntryPatch(BaseModel):
    enabled: bool
    reason: str = ""


@router.get("/banks", dependencies=[needs(Perm.BANKS_READ)])
def list_banks(request: Request, response: Response, name: str = "", kind: str = "", cursor: str = "",
               limit: int | None = None, db: Session = Depends(get_db)) -> list[BankOut]:
    """Live banks A to Z, by the start of the name and by kind. Keyset-paged: when there is more, the
    `X-Next-Cursor` header (and a `Link: rel="next"`) carries the cursor to pass back as `cursor`."""
    page = browse.banks_page(db, name=name, kind=kind, cursor=cursor or None, limit=limit)
    link_next(request, response, page.next_cursor)
    counts = browse.counts_for(db, page.rows)
    return [BankOut.of(b, counts.get(b.id, 0)) for b in page.rows]


@router.post("/banks", status_code=201)
def create_bank(body: BankCreate, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.BANKS_MANAGE)) -> BankOut:
    bank = service.create_bank(db, actor=principal.actor, clock=get_state(request).clock, **body.model_dump())
    db.commit()
    return BankOut.of(bank, 0)


@router.get("/banks/{name}", dependencies=[needs(Perm.BANKS_READ)])
def get_bank(name: str, db: Session = Depends(get_db)) -> BankOut:
    bank = service.get_bank(db, name)
    return BankOut.of(bank, service.entry_counts(db).get(bank.id, 0))


@router.patch("/banks/{name}")
def update_bank(name: str, body: BankPatch, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.BANKS_MANAGE)) -> BankOut:
    bank = service.update_bank(db, service.get_bank(db, name), actor=principal.actor, clock=get_state(request).clock,
                               **body.model_dump(exclude_none=True))
    db.commit()
    return BankOut.of(bank)


@router.delete("/banks/{name}")
def delete_bank(name: str, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.BANKS_MANAGE)) -> dict[str, str]:
    service.delete_bank(db, service.get_bank(db, name), actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"status": "deleted"}


@router.get("/banks/{name}/entries", dependencies=[needs(Perm.BANKS_READ)])
def list_entries(name: str, request: Request, response: Response, db: Session = Depends(get_db),
                 cursor: str = "", offset: int = Query(0, ge=0),
                 limit: int = Query(100, ge=1, le=1000)) -> list[EntryOut]:
    """Entries oldest first. The next page's cursor comes in the `X-Next-Cursor` header and a `Link: rel="next"`
    (absent on the last page); pass it back as `cursor`. `offset` still works for older clients, never with a cursor."""
    bank = service.get_bank(db, name)
    page = browse.entries_after(db, bank, cursor=cursor or None, offset=offset, limit=limit)
    link_next(request, response, page.next_cursor, drop=("offset",))
    return [EntryOut.of(e, s) for e, s in page.rows]


@router.post("/banks/{name}/entries")
def add_entry(name: str, body: EntryIn, request: Request, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.BANKS_MANAGE)) -> dict[str, Any]:
    bank = service.get_bank(db, name)
    result = service.add_entry(db, bank, body.signals, actor=principal.actor, clock=get_state(request).clock,
                               external_id=body.external_id, source=body.source, classification=body.classification,
                               note=body.note)
    db.commit()
    return {"created": result.created,
            "entry": EntryOut.of(result.entry, service.entry_signals(db, result.entry.id)).model_dump(mode="json")}


@router.patch("/banks/{name}/entries/{entry_id}")
def update_entry(name: str, entry_id: int, body: EntryPatch, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.BANKS_MANAGE)) -> EntryOut:
    entry = service.get_entry(db, entry_id, service.get_bank(db, name))
    service.set_entry_enabled(db, entry, body.enabled, actor=principal.actor, clock=get_state(request).clock,
                              reason=body.reason)
    db.commit()
    return EntryOut.of(entry, service.entry_signals(db, entry.id))


@router.delete("/banks/{name}/entries/{entry_id}")
def delete_entry(name: str, entry_id: int, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.BANKS_MANAGE)) -> dict[str, str]:
    entry = service.get_entry(db, entry_id, service.get_bank(db, name))
    service.delete_entry(db, entry, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"status": "deleted"}


@router.post("/banks/{name}/import")
def import_file(
    name: str,
    request: Request,
    file: UploadFile = File(..., description="CSV or `signal_type value` lines"),
    format: str = Form("te", pattern="^(te|csv)$"),
    atomic: bool = Form(False),
    db: Session = Depends(get_db),
    principal: Principal = needs(Perm.BANKS_MANAGE),
) -> dict[str, Any]:
    """Import a hash list. The upload is spooled to disk and read line by line, never whole."""
    bank = service.get_bank(db, name)
    report = import_upload(db, bank, file, format, atomic, principal.actor, get_state(request).clock)
    return {"lines": report.lines, "imported": report.imported, "duplicates": report.duplicates,
            "error_count": report.error_count,
            "errors": [{"line": e.line, "message": e.message} for e in report.errors[:100]]}


def import_upload(db: Session, bank: Bank, file: UploadFile, fmt: str, atomic: bool, actor: str, clock: Any
                  ) -> transfer.ImportReport:
    spooled = tempfile.TemporaryFile()
    while chunk := file.file.read(1 << 20):
        spooled.write(chunk)

    def open_lines() -> io.TextIOWrapper:
        spooled.seek(0)
        return io.TextIOWrapper(spooled, encoding="utf-8", errors="replace", newline="")

    try:
        report = transfer.import_lines(db, bank, open_lines, fmt, actor=actor, clock=clock, atomic=atomic)
    finally:
        spooled.close()
    if report.imported > SYNC_REPLAY_LIMIT:  # a bulk import: publish the snapshot now, not at the next timer
        schedule_snapshots(db, clock, at=clock.now())
        db.commit()
    return report


@router.get("/banks/{name}/export", dependencies=[needs(Perm.BANKS_READ)])
def export_bank(name: str, request: Request, format: str = Query("te", pattern="^(te|csv)$")) -> StreamingResponse:
    """Stream the bank as a file; the database session lives as long as the stream."""
    state = get_state(request)

    def lines():  # type: ignore[no-untyped-def]
        with state.sessions() as session:
            yield from transfer.export_lines(session, service.get_bank(session, name), format)

    with state.sessions() as session:
        service.get_bank(session, name)  # a missing bank is a 404 before streaming starts
    suffix = "csv" if format == "csv" else "txt"
    return StreamingResponse(lines(), media_type="text/csv" if format == "csv" else "text/plain",
                             headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'})
