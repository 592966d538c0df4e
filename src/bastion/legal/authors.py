"""The authors of the posts a request names by URL, asked of the platform.

A post URL names a content item, and the platform says who wrote it: a fact, not a
judgement, so the author becomes one of the request's accounts with no person in between.
Kept apart from `resolution` (which also confirms candidates and then preserves) so that
`preservation` can resolve authors before it preserves without importing back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.legal import requests
from bastion.legal.models import LegalRequest, RequestAccount
from bastion.legal.timeline import event


def unresolved_posts(session: Session, request_id: int) -> list[RequestAccount]:
    return [a for a in requests.accounts_of(session, request_id) if a.content_id and not a.account_id]


def resolve_posts(session: Session, request: LegalRequest, connector: Any, *, actor: str, clock: Clock) -> list[str]:
    """Resolve every named post to its author; returns the transient failures (to retry), records the rest."""
    from bastion.platform import NotFoundOnPlatform, PlatformError, PlatformUnavailable

    retry: list[str] = []
    for row in unresolved_posts(session, request.id):
        try:
            post = connector.get_content(row.content_id)
        except PlatformUnavailable as exc:
            retry.append(f"{row.value}: {exc}")
            continue
        except (NotFoundOnPlatform, PlatformError) as exc:
            event(session, request, actor=actor, kind="account_unresolved", clock=clock,
                  text=f"{row.value} could not be resolved: {exc}", details={"value": row.value})
            row.resolved_by = "not found on the platform"
            continue
        row.account_id, row.resolved_by = post.account_id, "author of the post in the URL"
        event(session, request, actor=actor, kind="account_resolved", clock=clock,
              text=f"{row.value} is a post by platform account {row.account_id}",
              details={"kind": row.kind, "value": row.value, "account_id": row.account_id,
                       "content_id": row.content_id})
    session.flush()
    return retry
