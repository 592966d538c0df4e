"""Finding cases: filters over indexed columns only, newest first, paged by keyset.

Why so strict: a reviewer's search box must not become a way to scan every row. Every
predicate here is an equality or a range on an indexed column (cases.account_id, .status,
.opened_at, .claimed_by; case_items.content_id, .bank_name, .decided_by; scans.md5, .sha256),
patterns are exact values with length limits, and a page is at most `keyset.MAX_PAGE` rows.
Search returns cases and their metadata, never media.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.cases import routing
from bastion.cases.models import Case, CaseItem
from bastion.cases.service import OPEN, TRANSITIONS
from bastion.db import keyset
from bastion.errors import InvalidInput
from bastion.scanning.models import Scan

MAX_TEXT = 255


@dataclass(frozen=True)
class CaseFilter:
    """What a reviewer may search cases by. Empty fields do not filter."""

    account_id: str = ""
    content_id: str = ""
    hash: str = ""
    bank: str = ""
    status: str = ""
    reviewer: str = ""
    opened_from: date | None = None
    opened_to: date | None = None

    def is_queue(self) -> bool:
        """No filter at all: the open queue, most urgent first."""
        return self == CaseFilter()


def _text(value: str, what: str) -> str:
    return keyset.exact(value, what, MAX_TEXT)


def _clean(f: CaseFilter) -> CaseFilter:
    digest = keyset.digest(_text(f.hash, "hash"))
    if f.status and f.status not in TRANSITIONS:
        raise InvalidInput(f"Status must be one of: {', '.join(TRANSITIONS)}.")
    keyset.day_range(f.opened_from, f.opened_to)  # refuses a reversed range
    return CaseFilter(account_id=_text(f.account_id, "account id"), content_id=_text(f.content_id, "content id"),
                      hash=digest, bank=_text(f.bank, "bank name"), status=f.status,
                      reviewer=_text(f.reviewer, "reviewer"), opened_from=f.opened_from, opened_to=f.opened_to)


def _where(session: Session, stmt: Select[tuple[Case]], f: CaseFilter) -> Select[tuple[Case]]:
    if f.account_id:
        stmt = stmt.where(Case.account_id == f.account_id)
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    start, end = keyset.day_range(f.opened_from, f.opened_to)
    if start:
        stmt = stmt.where(Case.opened_at >= start)
    if end:
        stmt = stmt.where(Case.opened_at < end)
    if f.content_id:
        stmt = stmt.where(Case.id.in_(select(CaseItem.case_id).where(CaseItem.content_id == f.content_id)))
    if f.bank:
        stmt = stmt.where(Case.id.in_(select(CaseItem.case_id).where(CaseItem.bank_name == f.bank)))
    if f.hash:
        column = Scan.md5 if len(f.hash) == 32 else Scan.sha256
        scans = select(Scan.id).where(column == f.hash)
        stmt = stmt.where(Case.id.in_(select(CaseItem.case_id).where(CaseItem.scan_id.in_(scans))))
    if f.reviewer:
        user_id = session.scalar(select(User.id).where(User.username == f.reviewer))
        if user_id is None:
            raise InvalidInput(f"No reviewer is called {f.reviewer!r}; use their username.")
        stmt = stmt.where(or_(Case.claimed_by == user_id,
                              Case.id.in_(select(CaseItem.case_id).where(CaseItem.decided_by == user_id))))
    return stmt


def _queue_key(case: Case) -> list[object]:
    due = case.removal_due_at.isoformat() if case.removal_due_at else None
    return [case.priority, due, case.id]


def _after_queue(values: list[object]) -> object:
    """Rows after (priority, due, id) in the order priority desc, due asc (nulls last), id asc."""
    prio, due, last = int(values[0]), values[1], int(values[2])  # type: ignore[call-overload]
    if due is None:
        same = and_(Case.removal_due_at.is_(None), Case.id > last)
    else:
        at = datetime.fromisoformat(str(due))
        same = or_(Case.removal_due_at > at, Case.removal_due_at.is_(None),
                   and_(Case.removal_due_at == at, Case.id > last))
    return or_(Case.priority < prio, and_(Case.priority == prio, same))


def _in_queue_key(case: Case) -> list[object]:
    due = case.removal_due_at.isoformat() if case.removal_due_at else None
    return [due, case.priority, case.opened_at.isoformat(), case.id]


def _after_in_queue(values: list[object]) -> object:
    """Rows after (due, priority, opened, id) in a named queue's order: due asc nulls last, priority desc, age."""
    due, prio, opened, last = values[0], int(values[1]), datetime.fromisoformat(str(values[2])), int(values[3])  # type: ignore[call-overload]
    tail = or_(Case.priority < prio, and_(Case.priority == prio, or_(
        Case.opened_at > opened, and_(Case.opened_at == opened, Case.id > last))))
    if due is None:
        return and_(Case.removal_due_at.is_(None), tail)
    at = datetime.fromisoformat(str(due))
    return or_(Case.removal_due_at > at, Case.removal_due_at.is_(None), and_(Case.removal_due_at == at, tail))


def _one_queue(session: Session, queue_id: int, cursor: str | None, size: int, scope: object) -> keyset.Page[Case]:
    stmt = select(Case).where(Case.status.in_(OPEN), Case.queue_id == queue_id)
    if scope is not None:
        stmt = stmt.where(scope)  # type: ignore[arg-type]
    after = keyset.decode(cursor, 4)
    if after is not None:
        try:
            stmt = stmt.where(_after_in_queue(after))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput("The page cursor is not one Bastion issued; start again from the first page.") from None
    rows = list(session.scalars(stmt.order_by(*routing.order_in_queue()).limit(size + 1)))
    return keyset.cut(rows, size, _in_queue_key)


def search(session: Session, f: CaseFilter, *, cursor: str | None = None, limit: int | None = None,
           visible: list[int] | None = None, queue_id: int | None = None) -> keyset.Page[Case]:
    """One page of cases: with no filter, the open queue in priority order; otherwise newest first.

    `visible` limits the rows to the viewer's queues and unrouted cases (None: all). With `queue_id`
    and no filter, one named queue in its own order: legal clock, then severity, then age.
    """
    f = _clean(f)
    size = keyset.page_size(limit)
    scope = routing.scope_clause(visible)
    if queue_id is not None and f.is_queue():
        if not routing.may_see(Case(queue_id=queue_id), visible):
            raise InvalidInput("That queue is not one of yours; pick one of your queues.")
        return _one_queue(session, queue_id, cursor, size, scope)
    if f.is_queue():
        stmt = select(Case).where(Case.status.in_(OPEN)).order_by(
            Case.priority.desc(), Case.removal_due_at.asc().nulls_last(), Case.id.asc())
        if scope is not None:
            stmt = stmt.where(scope)
        after = keyset.decode(cursor, 3)
        if after is not None:
            try:
                stmt = stmt.where(_after_queue(after))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise InvalidInput("The page cursor is not one Bastion issued; start again from the first page."
                                   ) from None
        return keyset.cut(list(session.scalars(stmt.limit(size + 1))), size, _queue_key)
    stmt = _where(session, select(Case), f).order_by(Case.id.desc())
    if scope is not None:
        stmt = stmt.where(scope)
    if queue_id is not None:
        stmt = stmt.where(Case.queue_id == queue_id)
    after_id = keyset.after_id(cursor)
    if after_id is not None:
        stmt = stmt.where(Case.id < after_id)
    return keyset.cut(list(session.scalars(stmt.limit(size + 1))), size, lambda c: [c.id])
