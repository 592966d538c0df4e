"""Keyset ("seek") pagination: a page ends with an opaque cursor naming its last row's sort key.

Why keyset and not OFFSET: the database finds the next page through the same index that
orders the list, so page 500 costs what page 1 costs, and rows added meanwhile neither
repeat nor vanish. The cursor is the last row's key values, JSON in URL-safe base64; it is
not a secret and is checked on the way back in (a forged one only moves where a page starts).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import Session

from bastion.errors import InvalidInput

T = TypeVar("T")

#: The largest page anyone may ask for; the default is smaller. This bounds one query, not the list.
MAX_PAGE = 500
DEFAULT_PAGE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last)."""

    rows: list[T]
    next_cursor: str | None


def encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str | None, arity: int) -> list[Any] | None:
    """The key values in `cursor`, or None for the first page; a malformed cursor is refused."""
    if not cursor:
        return None
    if len(cursor) > 400:
        raise InvalidInput("The page cursor is too long; start again from the first page.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("The page cursor is not one Bastion issued; start again from the first page.") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("The page cursor is not one Bastion issued; start again from the first page.")
    return values


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"Ask for between 1 and {MAX_PAGE} rows a page.")
    return limit


def cut(rows: list[T], size: int, key: Any) -> Page[T]:
    """`rows` were fetched with limit size+1: the extra row only says there is a next page."""
    if len(rows) <= size:
        return Page(rows, None)
    kept = rows[:size]
    return Page(kept, encode(key(kept[-1])))


def after_id(cursor: str | None) -> int | None:
    """The last id of the previous page, for lists ordered by a single integer key."""
    values = decode(cursor, 1)
    if values is None:
        return None
    if not isinstance(values[0], int) or isinstance(values[0], bool):
        raise InvalidInput("The page cursor is not one Bastion issued; start again from the first page.")
    return values[0]


def newest_first(session: Session, query: Select[Any], id_column: Any, *, cursor: str | None, size: int,
                 scalars: bool = True) -> Page[Any]:
    """One page of `query`, newest first by its integer `id_column`, after the cursor's id.

    The shape of most of Bastion's lists (reports, statements, keys, jobs, requests): the id's own
    index serves the order, and the cursor is the last id shown. With `scalars=False` the rows are
    tuples whose first element carries the id (a row joined to its owner, say)."""
    after = after_id(cursor)
    if after is not None:
        query = query.where(id_column < after)
    query = query.order_by(id_column.desc()).limit(size + 1)
    name = id_column.key
    if scalars:
        return cut(list(session.scalars(query)), size, key=lambda row: [getattr(row, name)])
    return cut([tuple(row) for row in session.execute(query)], size, key=lambda row: [getattr(row[0], name)])


def exact(value: str, what: str, longest: int) -> str:
    """A search value, stripped; refused when longer than the column, since it could match nothing."""
    value = value.strip()
    if len(value) > longest:
        raise InvalidInput(f"The {what} is longer than {longest} characters; search by the exact value.")
    return value


_HEX = re.compile(r"^[0-9a-f]+$")


def digest(value: str) -> str:
    """A whole MD5 or SHA-256 to search by, lower-cased; empty when none was given."""
    value = value.strip().lower()
    if value and (len(value) not in (32, 64) or not _HEX.match(value)):
        raise InvalidInput("Search by a whole MD5 (32 hex characters) or SHA-256 (64 hex characters).")
    return value


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[start of `first`, start of the day after `last`) in UTC, either end open; refused when reversed."""
    if first and last and first > last:
        raise InvalidInput("The 'from' date is after the 'to' date; swap them.")
    start = datetime.combine(first, time.min, tzinfo=timezone.utc) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=timezone.utc) if last else None
    return start, end


#: Stands in for "no date" in a sort key, so rows without one sort after every dated row
#: (coalesce the column to it in SQL; `or NEVER` in Python).
NEVER = datetime(9999, 12, 31, tzinfo=timezone.utc)
_FORGED = "The page cursor is not one Bastion issued; start again from the first page."


def key_cursor(values: list[Any]) -> list[Any]:
    """A row's sort-key values as cursor JSON: dates as ISO text, integers as they are."""
    return [value.isoformat() if isinstance(value, datetime) else value for value in values]


def after_key(cursor: str | None, kinds: str) -> list[Any] | None:
    """The previous page's last sort key, typed by `kinds` (one letter a value: "i" integer, "t"
    aware date-time), or None for the first page; anything else is refused as forged."""
    values = decode(cursor, len(kinds))
    if values is None:
        return None
    return [_typed(value, kind) for value, kind in zip(values, kinds)]


def _typed(value: Any, kind: str) -> Any:
    if kind == "i" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "t" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(_FORGED) from None
        if moment.tzinfo is not None:
            return moment
    raise InvalidInput(_FORGED)


def seek(columns: list[Any], after: list[Any], *, descending: bool = False) -> ColumnElement[bool]:
    """Rows past `after` in the order of `columns` (all ascending, or all descending): one
    row-value comparison, which the database answers from an index on those columns."""
    left = tuple_(*columns)
    right = tuple_(*[literal(value, column.type) for value, column in zip(after, columns)])
    return left < right if descending else left > right


def after_text(cursor: str | None) -> str | None:
    """The last name of the previous page, for lists ordered by one unique text column."""
    values = decode(cursor, 1)
    if values is None:
        return None
    if not isinstance(values[0], str):
        raise InvalidInput(_FORGED)
    return values[0]


def after_text_id(cursor: str | None) -> tuple[str, int] | None:
    """The last (name, id) of the previous page, for lists ordered by a name that may repeat."""
    values = decode(cursor, 2)
    if values is None:
        return None
    name, row_id = values
    if not isinstance(name, str) or not isinstance(row_id, int) or isinstance(row_id, bool):
        raise InvalidInput(_FORGED)
    return name, row_id


def prefix(value: str, what: str, longest: int) -> str:
    """A name's beginning to search by, stripped; bounded so the pattern stays short and index-friendly."""
    value = value.strip()
    if len(value) > longest:
        raise InvalidInput(f"The {what} is longer than {longest} characters; type the start of the name.")
    return value


def like_prefix(value: str) -> str:
    """`value` as a LIKE pattern matching only names that begin with it (escape character: backslash)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
