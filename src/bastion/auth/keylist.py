"""Finding API keys: by exact name or prefix and by status, newest first, one keyset page at a time.

The admin list holds every owner's keys and grows with every machine client, so it is never rendered
whole. A search is an equality on an indexed column (the unique prefix, or the name), and the owner's
own list is bounded by the owner's index, so no search scans the table.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bastion.auth.models import ApiKey, User
from bastion.clock import Clock
from bastion.db.keyset import Page, exact, newest_first, page_size
from bastion.errors import InvalidInput

#: The statuses a key list filters by, as `apikeys.status_of` names them.
STATUSES = ("active", "expired", "revoked")


def _status_clause(status: str, clock: Clock):  # type: ignore[no-untyped-def]
    now = clock.now()
    if status == "revoked":
        return ApiKey.revoked_at.is_not(None)
    if status == "expired":
        return and_(ApiKey.revoked_at.is_(None), ApiKey.expires_at <= now)
    if status == "active":
        return and_(ApiKey.revoked_at.is_(None), ApiKey.expires_at > now)
    raise InvalidInput(f"There is no key status {status!r}; pick active, expired or revoked.")


def keys_page(session: Session, clock: Clock, *, q: str = "", status: str = "", owner_id: int | None = None,
              cursor: str | None = None, limit: int | None = None) -> Page[tuple[ApiKey, str]]:
    """Keys (each with its owner's username) matching every filter given, newest first."""
    size = page_size(limit)
    query = select(ApiKey, User.username).join(User, User.id == ApiKey.user_id)
    if owner_id is not None:
        query = query.where(ApiKey.user_id == owner_id)
    q = exact(q, "key name or prefix", 200)
    if q:
        query = query.where(or_(ApiKey.name == q, ApiKey.prefix == q))
    if status:
        query = query.where(_status_clause(status, clock))
    return newest_first(session, query, ApiKey.id, cursor=cursor, size=size, scalars=False)
