"""Collection: gather exactly the approved categories through the platform connector, into the vault.

Nothing outside the approved decision is fetched: each category maps to the connector calls
that serve it, and only those calls are made. Each (account, category) dataset is kept as a
JSON evidence item about the request, with custody; content media are kept as media items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.legal import intake, scope
from bastion.legal.errors import WrongState
from bastion.legal.models import Collected, LegalRequest
from bastion.legal.timeline import event, subject

KIND_OF = {"subscriber": "account_snapshot", "content": "content_snapshot"}


def _dump(items: Any) -> Any:
    if isinstance(items, tuple | list):
        return [i.model_dump(mode="json") for i in items]
    return items.model_dump(mode="json")


def _posts(connector: Any, account: str, request: LegalRequest) -> tuple[Any, ...]:
    return tuple(connector.posts(account, request.date_from, request.date_to))


def _subscriber(connector: Any, account: str, request: LegalRequest, _ids: list[str]) -> tuple[Any, list[Any]]:
    return _dump(connector.subscriber_info(account)), []


def _identifying_ip(connector: Any, account: str, request: LegalRequest, _ids: list[str]) -> tuple[Any, list[Any]]:
    logins = connector.ip_logins(account, request.date_from, request.date_to)
    return [{"ip": str(e.ip), "port": e.port, "timestamp": e.timestamp.isoformat(), "event": e.event}
            for e in logins], []


def _traffic(connector: Any, account: str, request: LegalRequest, _ids: list[str]) -> tuple[Any, list[Any]]:
    posts = _posts(connector, account, request)
    return {
        "logins": _dump(tuple(connector.ip_logins(account, request.date_from, request.date_to))),
        "devices": _dump(tuple(connector.devices(account))),
        "posts": [{"content_id": p.content_id, "created_at": p.created_at.isoformat(), "status": p.status,
                   "media_type": p.media_type, "media_size": p.media_size, "media_sha256": p.media_sha256}
                  for p in posts],
    }, []


def _location(connector: Any, account: str, request: LegalRequest, _ids: list[str]) -> tuple[Any, list[Any]]:
    return _dump(tuple(connector.locations(account, request.date_from, request.date_to))), []


def _hosting(connector: Any, account: str, request: LegalRequest, ids: list[str]) -> tuple[Any, list[Any]]:
    """Server details of the posts the request named, else of the account's posts in the date range."""
    content_ids = ids or [p.content_id for p in _posts(connector, account, request)]
    return [connector.hosting_details(cid).model_dump(mode="json") for cid in content_ids], []


def _content(connector: Any, account: str, request: LegalRequest, _ids: list[str]) -> tuple[Any, list[Any]]:
    posts = _posts(connector, account, request)
    with_media = [p for p in posts if p.media_url]
    return _dump(posts), [(p, connector.fetch_media(p.content_id)) for p in with_media]


#: Category -> the connector calls that serve it (and only those are made for it).
COLLECTORS: dict[str, Callable[[Any, str, LegalRequest, list[str]], tuple[Any, list[Any]]]] = {
    "subscriber": _subscriber,
    "identifying_ip": _identifying_ip,
    "traffic": _traffic,
    "location": _location,
    "hosting": _hosting,
    "content": _content,
}


def collected_of(session: Session, request_id: int) -> list[Collected]:
    """The latest dataset per (account, category)."""
    rows = session.scalars(select(Collected).where(Collected.request_id == request_id).order_by(Collected.id)).all()
    latest: dict[tuple[str, str], Collected] = {}
    for row in rows:
        latest[(row.account_id, row.category)] = row
    return list(latest.values())


def collect(session: Session, request: LegalRequest, *, connector: Any, vault: Any, actor: str, clock: Clock
            ) -> list[Collected]:
    """Collect exactly the approved scope: its categories, date range and account entries, nothing added since."""
    if request.status not in ("approved", "collected"):
        raise WrongState(f"{request.reference} is {request.status}; only an approved disclosure is collected.")
    _, approved = scope.approved(session, request, actor=actor, clock=clock)
    categories = list(approved.categories)
    if not categories:
        raise WrongState(f"{request.reference} has no approved categories to collect.")
    intake.resolve_with_platform(session, request, connector, actor=actor, clock=clock)
    rows = scope.approved_entries(session, request, approved)
    unresolved = [f"{a.kind} {a.value}" for a in rows if not a.account_id]
    if unresolved:
        event(session, request, actor=actor, kind="collection_skipped", clock=clock,
              text="Not collected until resolved to a platform account: " + ", ".join(unresolved))
    named_posts: dict[str, list[str]] = {}
    for row in rows:
        if row.account_id and row.content_id:
            named_posts.setdefault(row.account_id, []).append(row.content_id)
    collected = []
    accounts = list(dict.fromkeys(row.account_id for row in rows if row.account_id))
    for account in accounts:
        for category in categories:
            data, media = COLLECTORS[category](connector, account, request, named_posts.get(account, []))
            collected.append(_keep(session, request, account, category, data, media, vault=vault, actor=actor,
                                   clock=clock))
    request.status = "collected"
    event(session, request, actor=actor, kind="collected", clock=clock,
          text=f"Collected {', '.join(categories)} for {len(accounts)} account(s)",
          details={"categories": categories, "datasets": [c.id for c in collected], "scope_digest": approved.digest})
    return collected


def _keep(session: Session, request: LegalRequest, account: str, category: str, data: Any, media: list[Any], *,
          vault: Any, actor: str, clock: Clock) -> Collected:
    body = json.dumps({"request": request.reference, "account_id": account, "category": category,
                       "collected_at": clock.now().isoformat(), "data": data}, sort_keys=True, indent=1).encode()
    reason = f"collected for legal request {request.reference} ({category})"
    item = vault.preserve(session, body, kind=KIND_OF.get(category, "log"), subject=subject(request), actor=actor,
                          reason=reason, metadata={"account_id": account, "category": category},
                          context={"request": request.reference, "instrument": request.instrument_key})
    media_ids = []
    for post, blob in media:
        kept = vault.preserve(session, blob, kind="media", subject=subject(request), actor=actor, reason=reason,
                              metadata={"account_id": account, "content_id": post.content_id,
                                        "media_type": post.media_type, "created_at": post.created_at},
                              context={"request": request.reference})
        media_ids.append({"evidence": kept.id, "content_id": post.content_id, "media_type": post.media_type})
    records = len(data) if isinstance(data, list) else sum(len(v) for v in data.values() if isinstance(v, list)) or 1
    row = Collected(request_id=request.id, account_id=account, category=category, evidence_id=item.id,
                    records=records, media_json=json.dumps(media_ids), collected_at=clock.now(), collected_by=actor)
    session.add(row)
    session.flush()
    return row


def preview(session: Session, request: LegalRequest, *, vault: Any, actor: str) -> list[dict[str, Any]]:
    """The collected datasets as the reviewer checks them before production (each opening is custody-logged)."""
    shown = []
    for row in collected_of(session, request.id):
        data = json.loads(vault.open(session, row.evidence_id, actor=actor,
                                     reason=f"collection preview of {request.reference}"))
        shown.append({"account_id": row.account_id, "category": row.category, "records": row.records,
                      "evidence": row.evidence_id, "media": json.loads(row.media_json), "data": data["data"]})
    return shown
