"""Auto-action policies: acting before human review on near-certain matches in high-confidence banks.

Why this is narrow: an MD5 or SHA-256 match against a list such as NCMEC's is the same file someone
has already confirmed, so waiting hours for a reviewer only leaves it up. A PDQ match is not the same
file but a picture that looks alike (re-encoded, resized, lightly cropped), and its distance says how
alike; at small distances in a bank of confirmed material it is nearly always the same picture, but not
always. So a policy acts on PDQ only when an admin names a maximum distance for it, that distance is at
most PDQ_CEILING (the house match threshold: a policy never acts on what the queue would not even call a
match), and the bank is high-confidence; exact hashes still act only at distance 0. Everything less
certain (PDQ beyond the policy's distance, video matches, classifier scores) waits for a person. A PDQ
auto-action is as reversible as an exact one, and the reviewer still decides; a "not a match" on
a PDQ item is the correction this design expects, not a failure. A bank's own (possibly smaller)
PDQ threshold applies first: a policy's distance never widens what counts as a match.

What a policy does, and what it never does:
- it requests removal, preservation and suspension through the outbox, like a reviewer would,
  with `auto-policy:<name>` as the requester, so the case page shows them as automatic;
- it never decides: the case stays in the queue for a person to confirm, and nothing marks an
  item viewed, so a CyberTipline report says truthfully whether anyone looked at the file (and a
  PDQ item above distance 0 must still be opened before anyone may confirm it);
- it is undone through the outbox (`restore_content`, `lift_restriction`) when a reviewer finds
  an item is not a match; preservation is kept, as it is for any dismissed case;
- policies are rows, and every change to one (or to a bank's high-confidence mark) is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.actions import outbox
from bastion.actions.models import ActionStatus
from bastion.auth.models import User
from bastion.banks.models import Bank
from bastion.cases.models import AutoPolicy, Case
from bastion.cases.service import _event, items_of
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound
from bastion.media.signal_types import PDQ
from bastion.scanning.models import Scan, ScanMatch

#: Cryptographic hashes: the same bytes, so they act only at distance 0.
EXACT = ("md5", "sha256")
#: Every signal a policy may name; PDQ (a similar picture) only with the policy's own maximum distance.
SIGNAL_TYPES = (*EXACT, PDQ)
#: The largest PDQ distance a policy may act on: the house match threshold (matching.DEFAULT_THRESHOLD, 31,
#: which is also ThreatExchange's "confident match" rule). Beyond it a pair is not a match at all, so no policy
#: may act there; admins are asked for a smaller distance, and each bank's own threshold still applies first.
PDQ_CEILING = 31
ACTOR_PREFIX = "auto-policy:"
MAX_DRY_RUN_DAYS = 90


def policies(session: Session) -> list[AutoPolicy]:
    return list(session.scalars(select(AutoPolicy).order_by(AutoPolicy.name)))


def save_policy(session: Session, *, name: str, enabled: bool, signal_types: Sequence[str], remove: bool,
                preserve: bool, suspend: bool, actor: str, clock: Clock,
                pdq_max_distance: int | None = None) -> AutoPolicy:
    """Create or change the policy called `name`; the before and after go into the audit log."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("Name the policy (at most 100 characters).")
    types = sorted({t.strip().lower() for t in signal_types if t.strip()})
    if not types or any(t not in SIGNAL_TYPES for t in types):
        raise InvalidInput("A policy acts only on exact hashes (md5, sha256) or on PDQ within a maximum distance: "
                           f"choose from {', '.join(SIGNAL_TYPES)}.")
    _check_pdq_distance(PDQ in types, pdq_max_distance)
    if not (remove or preserve or suspend):
        raise InvalidInput("Choose at least one action: remove, preserve or suspend.")
    policy = session.scalar(select(AutoPolicy).where(AutoPolicy.name == name))
    before = _describe(policy) if policy else None
    if policy is None:
        policy = AutoPolicy(name=name, created_at=clock.now())
        session.add(policy)
    policy.enabled, policy.signal_types = enabled, " ".join(types)
    policy.remove, policy.preserve, policy.suspend = remove, preserve, suspend
    policy.pdq_max_distance = pdq_max_distance
    policy.updated_at, policy.updated_by = clock.now(), actor[:200]
    session.flush()
    audit.record(session, actor=actor, action="autopolicy.save", subject=f"autopolicy:{policy.id}", clock=clock,
                 details={"name": name, "before": before, "after": _describe(policy)})
    return policy


def _check_pdq_distance(pdq: bool, distance: int | None) -> None:
    """PDQ needs a distance the admin chose, within the ceiling; exact-only policies carry none."""
    if not pdq:
        if distance is not None:
            raise InvalidInput("A maximum distance applies only to PDQ: tick PDQ too, or clear the distance.")
        return
    if distance is None:
        raise InvalidInput(f"A policy that acts on PDQ needs a maximum distance: enter one from 0 to {PDQ_CEILING} "
                           "(smaller is safer), or untick PDQ.")
    if not 0 <= distance <= PDQ_CEILING:
        raise InvalidInput(f"A PDQ maximum distance must be from 0 to {PDQ_CEILING} (the house match threshold); "
                           f"{distance} is outside it. Enter a smaller distance.")


def get_policy(session: Session, policy_id: int) -> AutoPolicy:
    policy = session.get(AutoPolicy, policy_id)
    if policy is None:
        raise NotFound(f"No auto-action policy {policy_id}; see the list on the policies page.")
    return policy


def set_high_confidence(session: Session, bank_id: int, value: bool, *, actor: str, clock: Clock) -> Bank:
    """Mark a bank as one whose matches policies may act on (or no longer)."""
    bank = session.get(Bank, bank_id)
    if bank is None or bank.deleted_at is not None:
        raise NotFound(f"No bank {bank_id}.")
    if bank.kind != "match":
        raise InvalidInput("Only a match bank can be high-confidence; an allow list never triggers action.")
    before, bank.high_confidence = bank.high_confidence, value
    audit.record(session, actor=actor, action="bank.high_confidence", subject=f"bank:{bank.id}", clock=clock,
                 details={"bank": bank.name, "before": before, "after": value})
    return bank


def _describe(policy: AutoPolicy) -> dict[str, Any]:
    return {"enabled": policy.enabled, "signal_types": policy.signal_types, "remove": policy.remove,
            "preserve": policy.preserve, "suspend": policy.suspend, "pdq_max_distance": policy.pdq_max_distance}


def _confident_banks(session: Session) -> set[int]:
    return set(session.scalars(select(Bank.id).where(Bank.high_confidence.is_(True), Bank.enabled.is_(True),
                                                     Bank.deleted_at.is_(None))))


def _close_enough(policy: AutoPolicy, signal_type: str, distance: int) -> bool:
    """Exact hashes at distance 0; PDQ within the policy's own maximum (none set: never)."""
    if signal_type in EXACT:
        return distance == 0
    limit = policy.pdq_max_distance
    return signal_type == PDQ and limit is not None and 0 <= distance <= min(limit, PDQ_CEILING)


def _qualifying(policy: AutoPolicy, matches: Sequence[Any], banks: set[int]) -> list[Any]:
    """Matches the policy may act on, the surest first (exact before PDQ, then by distance)."""
    types = set(policy.signal_types.split())
    hits = [m for m in matches if m.signal_type in types and m.bank_id in banks
            and _close_enough(policy, m.signal_type, m.distance)]
    return sorted(hits, key=lambda m: (m.signal_type not in EXACT, m.distance))


def describe_match(signal_type: str, distance: int) -> str:
    """How sure the match is, in words the outbox reason and the case history share."""
    if signal_type in EXACT:
        return f"exact {signal_type} match"
    return f"PDQ match at distance {distance}"


def _planned(policy: AutoPolicy, content_id: str, account_id: str) -> list[tuple[str, str]]:
    """(kind, target) pairs the policy asks for; an upload without an account is only removed."""
    planned: list[tuple[str, str]] = []
    if policy.remove and content_id:
        planned.append(("remove_content", content_id))
    if account_id and policy.suspend:
        planned.append(("restrict_account", account_id))
    if account_id and policy.preserve:
        planned.append(("preserve_account", account_id))
    return planned


def apply(session: Session, case: Case, scan: Scan, matches: Sequence[Any], *, clock: Clock) -> list[str]:
    """Run every enabled policy over a new scan's matches; returns what was requested (may be nothing)."""
    active = [p for p in policies(session) if p.enabled]
    if not active:
        return []
    banks = _confident_banks(session)
    account = "" if case.account_id.startswith("content:") else case.account_id
    requested: list[str] = []
    for policy in active:
        hits = _qualifying(policy, matches, banks)
        if not hits:
            continue
        hit = hits[0]
        for kind, target in _planned(policy, scan.content_id, account):
            payload: dict[str, Any] = {} if kind == "preserve_account" else {
                "reason": f"{describe_match(hit.signal_type, hit.distance)} in {hit.bank_name} "
                          f"(auto-action policy {policy.name}, "
                          f"case {case.id}, before human review)"}
            if kind == "restrict_account":
                payload["restriction"] = "suspend"
            outbox.enqueue(session, kind=kind, target=target, subject=f"case:{case.id}", payload=payload,
                           actor=ACTOR_PREFIX + policy.name, clock=clock)
            requested.append(f"{kind} {target}")
        if not case.auto_policy:
            case.auto_policy, case.auto_actioned_at = policy.name, clock.now()
        _event(session, case, ACTOR_PREFIX + policy.name, "auto_actioned", clock,
               details={"policy": policy.name, "scan_id": scan.id, "bank": hit.bank_name,
                        "signal": hit.signal_type, "distance": hit.distance, "actions": requested})
    return requested


def is_automatic(created_by: str) -> bool:
    return created_by.startswith(ACTOR_PREFIX)


def reverse_rejected(session: Session, case: Case, user: User, *, clock: Clock) -> list[str]:
    """Undo what policies did for items a person found not to be a match.

    Each removed upload whose every item was rejected is restored; the account's suspension is
    lifted only when the whole case is dismissed. Called when a case is concluded.
    """
    if case.auto_actioned_at is None:
        return []
    items = items_of(session, case.id)
    innocent = {i.content_id for i in items if i.decision == "not_match"} - {
        i.content_id for i in items if i.decision == "confirmed"}
    dismissed = not any(i.decision == "confirmed" for i in items)
    undone: list[str] = []
    for action in outbox.actions_for(session, f"case:{case.id}"):
        if not is_automatic(action.created_by) or action.status == ActionStatus.DEAD:
            continue
        reason = f"reviewer {user.username} found case {case.id} not a match; undoing the automatic action"
        if action.kind == "remove_content" and action.target in innocent:
            outbox.enqueue(session, kind="restore_content", target=action.target, subject=f"case:{case.id}",
                           payload={"reason": reason}, actor=user.username, clock=clock)
            undone.append(f"restore_content {action.target}")
        elif action.kind == "restrict_account" and dismissed:
            outbox.enqueue(session, kind="lift_restriction", target=action.target, subject=f"case:{case.id}",
                           payload={"reason": reason}, actor=user.username, clock=clock)
            undone.append(f"lift_restriction {action.target}")
    if undone:
        _event(session, case, user.username, "auto_reversed", clock, details={"actions": undone})
    return undone


@dataclass
class DryRun:
    """What a policy would have requested over past scans, without requesting anything."""

    days: int
    scans: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


def _close_enough_sql(policy: AutoPolicy) -> Any:
    """`_close_enough` as a WHERE clause, so the dry run reads only rows a policy could act on."""
    types = policy.signal_types.split()
    exact = [t for t in types if t in EXACT]
    clauses = [and_(ScanMatch.signal_type.in_(exact), ScanMatch.distance == 0)] if exact else []
    if PDQ in types and policy.pdq_max_distance is not None:
        limit = min(policy.pdq_max_distance, PDQ_CEILING)
        clauses.append(and_(ScanMatch.signal_type == PDQ, ScanMatch.distance <= limit))
    return or_(*clauses) if clauses else false()


def dry_run(session: Session, policy: AutoPolicy, *, days: int, clock: Clock, examples: int = 50) -> DryRun:
    """Replay the policy over the last `days` of scans (the scans' created_at index bounds the read)."""
    if not 1 <= days <= MAX_DRY_RUN_DAYS:
        raise InvalidInput(f"Look back between 1 and {MAX_DRY_RUN_DAYS} days.")
    banks = _confident_banks(session)
    result = DryRun(days=days)
    if not banks:
        return result
    since = clock.now() - timedelta(days=days)
    stmt = (select(ScanMatch, Scan).join(Scan, Scan.id == ScanMatch.scan_id)
            .where(Scan.created_at >= since, ScanMatch.bank_id.in_(banks), _close_enough_sql(policy))
            .order_by(Scan.id.desc(), ScanMatch.distance))
    seen: set[int] = set()
    for match, scan in session.execute(stmt):
        if scan.id in seen:
            continue
        seen.add(scan.id)
        planned = _planned(policy, scan.content_id, scan.account_id)
        for kind, _ in planned:
            result.actions[kind] = result.actions.get(kind, 0) + 1
        if len(result.examples) < examples:
            result.examples.append({"scan_id": scan.id, "at": scan.created_at, "content_id": scan.content_id,
                                    "account_id": scan.account_id, "bank": match.bank_name,
                                    "signal": match.signal_type, "distance": match.distance, "md5": scan.md5,
                                    "actions": [f"{k} {t}" for k, t in planned]})
    result.scans = len(seen)
    return result
