"""Turning what a request names into platform accounts, through the connector.

Two kinds of identifier, two rules:

* A post URL names a content item, and the platform says who wrote it: that is a fact, not a
  judgement, so the author becomes one of the request's accounts without a person in between.
  It happens at intake (`schedule`, then the `legal.resolve` task), so the author can be
  preserved at once rather than when data is collected weeks later.
* A username, email or phone number is a claim by the requester about whom they mean. The
  platform's matches (`connector.lookup_accounts`) are only candidates: a member of legal staff
  confirms one (it then resolves the identifier) or rejects it. Nothing is preserved, collected
  or disclosed on an unconfirmed match.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.executor import TaskContext, registry
from bastion.legal import requests, scope
from bastion.legal.authors import resolve_posts, unresolved_posts  # noqa: F401  (re-exported)
from bastion.legal.catalogue import get_instrument
from bastion.legal.errors import PlatformFailed, RequestNotFound, WrongState
from bastion.legal.models import AccountCandidate, LegalRequest, RequestAccount
from bastion.legal.timeline import event, subject

RESOLVE_TASK = "legal.resolve"
CONNECTOR_FACTORY = "platform.connector_factory"  # same key as bastion.actions.tasks
LOOKUP_KINDS = ("username", "email", "phone")


def candidates_of(session: Session, request_id: int) -> list[AccountCandidate]:
    return list(session.scalars(select(AccountCandidate).where(AccountCandidate.request_id == request_id)
                                .order_by(AccountCandidate.entry_id, AccountCandidate.id)))


def schedule(session: Session, request: LegalRequest, *, clock: Clock) -> bool:
    """Queue the resolution of post authors (in the caller's transaction); False when there is none to do."""
    if not unresolved_posts(session, request.id):
        return False
    timers.schedule(session, kind=RESOLVE_TASK, due_at=clock.now(), clock=clock, subject=subject(request),
                    payload={"request_id": request.id}, dedupe_key=f"legal:{request.id}:resolve")
    return True


def find_candidates(session: Session, request: LegalRequest, connector: Any, *, actor: str, clock: Clock
                    ) -> list[AccountCandidate]:
    """Ask the platform which accounts the request's usernames, emails and phones match (staff then confirm)."""
    from bastion.platform import PlatformError

    if requests.is_closed(request):
        raise WrongState(f"{request.reference} is {request.status}; nothing more is looked up for it.")
    entries = [a for a in requests.accounts_of(session, request.id) if a.kind in LOOKUP_KINDS and not a.account_id]
    if not entries:
        raise InvalidInput("Every username, email and phone number of this request is already resolved.")
    known = {(c.entry_id, c.account_id) for c in candidates_of(session, request.id)}
    found: list[AccountCandidate] = []
    for entry in entries:
        try:
            matches = connector.lookup_accounts(entry.kind, entry.value)
        except PlatformError as exc:
            raise PlatformFailed(f"The platform did not answer the lookup of {entry.kind} {entry.value}: {exc}. "
                                 "Nothing was changed; try again.") from None
        new = [m for m in matches if (entry.id, m.account_id) not in known]
        for match in new:
            row = AccountCandidate(request_id=request.id, entry_id=entry.id, account_id=match.account_id,
                                   username=match.username, display_name=match.display_name,
                                   platform_status=match.status, matched_on=match.matched_on, state="proposed",
                                   found_at=clock.now(), found_by=actor)
            session.add(row)
            found.append(row)
            known.add((entry.id, match.account_id))
        described = "; ".join(f"{m.account_id} (@{m.username}, {m.display_name})" for m in matches)
        event(session, request, actor=actor, kind="candidates_found", clock=clock,
              text=f"{entry.kind} {entry.value}: " + (f"{len(matches)} match(es) on the platform: {described}; "
                                                      "confirm the right one" if matches else
                                                      "no account on the platform matches"),
              details={"entry": entry.id, "matches": [m.account_id for m in matches]})
    session.flush()
    return found


def _candidate(session: Session, request: LegalRequest, candidate_id: int) -> AccountCandidate:
    row = session.get(AccountCandidate, candidate_id)
    if row is None or row.request_id != request.id:
        raise RequestNotFound(f"{request.reference} has no account candidate {candidate_id}.")
    if row.state != "proposed":
        raise WrongState(f"That candidate was already {row.state} by {row.decided_by}.")
    return row


def confirm(session: Session, request: LegalRequest, candidate_id: int, *, actor: str, clock: Clock
            ) -> RequestAccount:
    """Staff confirm a match: the identifier now resolves to that account (and joins any live preservation)."""
    from bastion.legal import preservation

    row = _candidate(session, request, candidate_id)
    entry = session.get(RequestAccount, row.entry_id)
    assert entry is not None
    if entry.account_id and entry.account_id != row.account_id:
        # a second account for the same identifier (e.g. two accounts share an email): its own entry
        entry = RequestAccount(request_id=request.id, kind=entry.kind, value=entry.value)
        session.add(entry)
    entry.account_id = row.account_id
    entry.resolved_by = f"{actor} confirmed the platform's match on {row.matched_on}"
    row.state, row.decided_at, row.decided_by = "confirmed", clock.now(), actor
    session.flush()
    event(session, request, actor=actor, kind="account_confirmed", clock=clock,
          text=f"{entry.kind} {entry.value} confirmed as platform account {row.account_id} (@{row.username}, "
               f"{row.display_name})",
          details={"kind": entry.kind, "value": entry.value, "account_id": row.account_id, "candidate": row.id})
    preservation.on_arrival(session, request, get_instrument(session, request.instrument_key), actor=actor,
                            clock=clock)
    scope.void_approval(session, request, actor=actor, clock=clock,
                        why=f"{entry.kind} {entry.value} confirmed as platform account {row.account_id}")
    return entry


def reject(session: Session, request: LegalRequest, candidate_id: int, *, actor: str, clock: Clock) -> None:
    row = _candidate(session, request, candidate_id)
    row.state, row.decided_at, row.decided_by = "rejected", clock.now(), actor
    entry = session.get(RequestAccount, row.entry_id)
    assert entry is not None
    event(session, request, actor=actor, kind="account_rejected", clock=clock,
          text=f"{entry.kind} {entry.value} is not platform account {row.account_id} (@{row.username})",
          details={"kind": entry.kind, "value": entry.value, "account_id": row.account_id, "candidate": row.id})


@registry.task(RESOLVE_TASK)
def resolve_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Resolve the named posts' authors, then preserve them if the request is (to be) preserved."""
    from bastion.legal import preservation

    factory = ctx.services.get(CONNECTOR_FACTORY)
    if factory is None:
        raise RuntimeError(f"legal.resolve needs {CONNECTOR_FACTORY!r} in the task services")
    connector = factory()
    try:
        with ctx.sessions() as session, session.begin():
            request = session.get(LegalRequest, int(payload["request_id"]))
            if request is None or requests.is_closed(request):
                return
            retry = resolve_posts(session, request, connector, actor="bastion", clock=ctx.clock)
            preservation.on_arrival(session, request, get_instrument(session, request.instrument_key),
                                    actor="bastion", clock=ctx.clock)
    finally:
        close = getattr(connector, "close", None)
        if close is not None:
            close()
    if retry:
        raise RuntimeError("; ".join(retry))  # the ticker retries with backoff; what was resolved is kept
