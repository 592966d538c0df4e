"""Finding user accounts: by username prefix, role and state, in username order, one keyset page at a time.

An organisation may hold tens of thousands of accounts, so the admin list never renders them all.
Pages are cut after the last lower-cased username seen, through the `lower(username)` index that
also serves the case-insensitive prefix search (a range on that index, so no search scans the table).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.db.keyset import Page, cut, decode, exact, page_size
from bastion.errors import InvalidInput

#: The account states the list filters by, with what each means.
STATES = {"active": False, "disabled": True}
_BAD_CURSOR = "The page cursor is not one Bastion issued; start again from the first page."


def _after(cursor: str | None) -> str | None:
    values = decode(cursor, 1)
    if values is None:
        return None
    if not isinstance(values[0], str):
        raise InvalidInput(_BAD_CURSOR)
    return values[0]


def _prefix_range(prefix: str) -> tuple[str, str]:
    """[prefix, the next string after every string that starts with it): the index seeks, not scans."""
    return prefix, prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))


def users_page(session: Session, *, q: str = "", role: str = "", state: str = "", cursor: str | None = None,
               limit: int | None = None) -> Page[User]:
    """Accounts matching every filter given, by username (case-insensitive)."""
    size = page_size(limit)
    key = func.lower(User.username)
    query = select(User)
    prefix = exact(q, "username", 150).lower()
    if prefix:
        low, high = _prefix_range(prefix)
        query = query.where(key >= low, key < high, key.startswith(prefix, autoescape=True))
    if role:
        if role not in {r.value for r in Role}:
            raise InvalidInput(f"There is no role {role!r}; pick one from the list.")
        query = query.where(User.role == role)
    if state:
        if state not in STATES:
            raise InvalidInput("Filter by state 'active' or 'disabled'.")
        query = query.where(User.disabled.is_(STATES[state]))
    after = _after(cursor)
    if after is not None:
        query = query.where(key > after)
    rows = list(session.scalars(query.order_by(key).limit(size + 1)))
    return cut(rows, size, key=lambda user: [user.username.lower()])
