"""What the outbox mechanism needs to know about a queue's table, and the SQL it shares.

An outbox table has `id`, `idempotency_key`, `status`, `attempts`, `next_attempt_at`,
`lease_until`, `leased_by`, `lease_token`, `last_error` and `updated_at` columns; only the
status values and a few column names differ between queues, so they are described here
rather than each queue repeating the statements that use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Result, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bastion.db.keyset import Page, after_id, cut, page_size


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched: how a conditional update tells a won race from a lost one."""
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True)
class OutboxTable:
    """One queue's model, its status enum (see `bastion.outbox.status`), and the columns named differently."""

    model: Any
    statuses: type[StrEnum]
    #: The column naming what a row is about, which audit records use as their subject.
    subject: str = "subject"
    #: A column stamped when a row reaches a final status, if the table has one.
    finished: str | None = None
    #: What the outbox is called in errors ("the outbox", "the mail outbox").
    name: str = "the outbox"

    #: The stored words of the roles the mechanism acts on; `in_flight` is a leased row's.
    pending: str = field(init=False)
    in_flight: str = field(init=False)
    retrying: str = field(init=False)
    dead: str = field(init=False)

    def __post_init__(self) -> None:
        for role in ("pending", "in_flight", "retrying", "dead"):
            object.__setattr__(self, role, str(self.statuses[role.upper()].value))

    @property
    def waiting(self) -> tuple[str, str]:
        """Statuses of rows waiting for their `next_attempt_at` (new, and failed but retrying)."""
        return self.pending, self.retrying

    def column(self, name: str) -> Any:
        return getattr(self.model, name)

    def dead_page(self, session: Session, *, search: str = "", columns: tuple[str, ...] = (),
                  cursor: str | None = None, limit: int | None = None) -> Page[Any]:
        """Dead letters newest first, one keyset page; `search` is a row id, or words of `columns` or the error."""
        m, size = self.model, page_size(limit)
        query = select(m).where(m.status == self.dead)
        term = search.strip()
        if term:
            found = [self.column(name).contains(term, autoescape=True) for name in (*columns, "last_error")]
            if term.isdigit():
                found.append(m.id == int(term))
            query = query.where(or_(*found))
        after = after_id(cursor)
        if after is not None:
            query = query.where(m.id < after)
        return cut(list(session.scalars(query.order_by(m.id.desc()).limit(size + 1))), size, key=lambda row: [row.id])

    def next_due(self, session: Session) -> datetime | None:
        """When the outbox next has work: the earliest retry, or the earliest lease to expire."""
        m = self.model
        waiting = session.scalar(select(func.min(m.next_attempt_at)).where(m.status.in_(self.waiting)))
        leased = session.scalar(select(func.min(m.lease_until)).where(m.status == self.in_flight))
        return min((t for t in (waiting, leased) if t is not None), default=None)

    def insert_unless_key_exists(self, session: Session, values: dict[str, Any]) -> Any:
        """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id.

        Portable between SQLite and PostgreSQL, and race-free: a concurrent insert of the
        same key makes this one wait and then do nothing, without aborting the caller's
        transaction (which a caught IntegrityError would, on PostgreSQL, without a savepoint).
        """
        dialect = session.get_bind().dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
        if insert is None:
            raise NotImplementedError(f"{self.name} supports SQLite and PostgreSQL, not {dialect}")
        statement: Any = insert(self.model)  # the dialects' Insert, which knows ON CONFLICT
        return (
            statement.values(**values)
            .on_conflict_do_nothing(index_elements=[self.model.idempotency_key])
            .returning(self.model.id)
        )

    def requeue_dead(self, session: Session, row_id: int, now: datetime) -> bool:
        """Put a dead row back as pending with a fresh set of attempts; False if it was not dead.

        A conditional UPDATE, so two operators requeueing at once requeue it once.
        """
        m = self.model
        values: dict[str, Any] = {"status": self.pending, "attempts": 0, "next_attempt_at": now,
                                  "updated_at": now, "lease_until": None, "lease_token": None, "leased_by": ""}
        if self.finished is not None:
            values[self.finished] = None
        return rowcount(session.execute(
            update(m).where(m.id == row_id, m.status == self.dead).values(**values)
            .execution_options(synchronize_session=False)
        )) == 1
