"""What a disclosure decision covers, frozen when it is made, so an approval binds exactly that.

Four-eyes means nothing if the first person can change the request after the second has
approved it. So a decision records its scope (the data categories, the request's date range
and every account entry with the platform account it resolved to) and a SHA-256 of it. The
approver approves that digest; collection and production take the frozen scope, not the live
request, and refuse when the two no longer agree.

What changes a scope, and so voids the approval (the request goes back for a new decision and
a new approval, and the timeline and audit log say why):

- the categories or the date range edited;
- an account entry added, or its platform account chosen by a person (a candidate confirmed).

What does not: the platform telling us the author of a post the request named (the post was
approved; who wrote it is the platform's fact, not a choice), which collection itself asks for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.legal.errors import ScopeChanged
from bastion.legal.models import Decision, LegalRequest, RequestAccount
from bastion.legal.requests import accounts_of, current_decision
from bastion.legal.timeline import event

#: `resolved_by` of a post's author as the platform reports it (see `intake.resolve_with_platform`).
AUTHOR_OF_POST = "author of the post in the URL"
#: Decision states that carry an approval (or wait for one) which a scope change voids.
LIVE_STATES = ("pending_approval", "approved")


@dataclass(frozen=True)
class Scope:
    categories: tuple[str, ...]
    date_from: str | None
    date_to: str | None
    accounts: tuple[tuple[int, str, str, str], ...]  # (entry id, kind, value, platform account id)

    def as_json(self) -> str:
        return json.dumps({"categories": list(self.categories), "date_from": self.date_from,
                           "date_to": self.date_to, "accounts": [list(a) for a in self.accounts]},
                          sort_keys=True, separators=(",", ":"))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.as_json().encode()).hexdigest()

    @property
    def entry_ids(self) -> set[int]:
        return {entry_id for entry_id, _, _, _ in self.accounts}

    @classmethod
    def from_json(cls, text: str) -> Scope:
        doc: dict[str, Any] = json.loads(text)
        return cls(tuple(doc["categories"]), doc["date_from"], doc["date_to"],
                   tuple((int(a[0]), a[1], a[2], a[3]) for a in doc["accounts"]))


def live(session: Session, request: LegalRequest, categories: list[str]) -> Scope:
    """The scope the request has now, for `categories`."""
    rows = sorted(accounts_of(session, request.id), key=lambda a: a.id)
    return Scope(tuple(categories), _iso(request.date_from), _iso(request.date_to),
                 tuple((a.id, a.kind, a.value, a.account_id) for a in rows))


def freeze(session: Session, decision: Decision, request: LegalRequest, categories: list[str]) -> None:
    """Record on `decision` the scope it covers (called when the decision is made)."""
    scope = live(session, request, categories)
    decision.scope_json, decision.scope_digest = scope.as_json(), scope.digest


def frozen(decision: Decision) -> Scope:
    return Scope.from_json(decision.scope_json)


def differences(session: Session, request: LegalRequest, decision: Decision) -> list[str]:
    """How the live request departs from what `decision` covers; empty when it does not."""
    if not decision.scope_json:
        return ["the decision was made before scopes were recorded"]
    was = frozen(decision)
    now = live(session, request, list(was.categories))
    found = []
    if (now.date_from, now.date_to) != (was.date_from, was.date_to):
        found.append("the date range")
    rows = {a.id: a for a in accounts_of(session, request.id)}
    added = sorted(set(rows) - was.entry_ids)
    if added:
        found.append("accounts added: " + ", ".join(f"{rows[i].kind} {rows[i].value}" for i in added))
    for entry_id, kind, value, account_id in was.accounts:
        row = rows.get(entry_id)
        if row is None or (row.kind, row.value) != (kind, value):
            found.append(f"account entry {kind} {value} changed or removed")
        elif row.account_id != account_id and not (account_id == "" and row.resolved_by == AUTHOR_OF_POST):
            found.append(f"{kind} {value} now resolves to a different platform account")
    return found


def void_approval(session: Session, request: LegalRequest, *, actor: str, clock: Clock, why: str) -> bool:
    """A change to what the live decision covers: void it and send the request back for a new one.

    Returns whether there was a decision to void. Called where the scope can change (request
    edits, confirmed account candidates) and again before collection and production.
    """
    decision = current_decision(session, request.id)
    if decision is None or decision.status not in LIVE_STATES:
        return False
    decision.status = "invalidated"
    if request.status in ("pending_approval", "approved", "collected"):
        request.status = "open"
    event(session, request, actor=actor, kind="approval_voided", clock=clock,
          text=f"The {'approval' if decision.approved_by else 'decision'} no longer covers the request ({why}); "
               "decide again and have a second person approve.",
          details={"decision": decision.id, "why": why, "approved_digest": decision.scope_digest})
    return True


def approved(session: Session, request: LegalRequest, *, actor: str, clock: Clock) -> tuple[Decision, Scope]:
    """The approved decision and exactly the scope it approved; refuses (and voids it) if the request moved."""
    decision = current_decision(session, request.id)
    if decision is None or decision.status != "approved":
        raise ScopeChanged(f"{request.reference} has no approved decision in force; decide and approve it again.")
    changes = differences(session, request, decision)
    if changes:
        void_approval(session, request, actor=actor, clock=clock, why="; ".join(changes))
        raise ScopeChanged(f"{request.reference} changed after its approval ({'; '.join(changes)}); the approval "
                           "is void. Decide again and have a second person approve.")
    return decision, frozen(decision)


def approved_entries(session: Session, request: LegalRequest, scope: Scope) -> list[RequestAccount]:
    """The account entries the approval covers, as they stand (a post's author may have been filled in since)."""
    return [a for a in accounts_of(session, request.id) if a.id in scope.entry_ids]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
