"""Retention: the policy catalogue (legal data, edited through here) and deadlines on items.

A policy's terms are copied onto each application, so editing the catalogue later
never silently moves a deadline already set: re-apply the policy to do that. An item
keeps the latest deadline of all policies applied to it; without any policy it is
kept until someone applies one.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.evidence import custody
from bastion.evidence.errors import (
    EvidenceNotFound,
    EvidencePurged,
    InvalidEvidence,
    PolicyNotFound,
)
from bastion.evidence.models import (
    PURGED,
    EvidenceItem,
    RetentionApplied,
    RetentionPolicy,
)
from bastion.evidence.schedule import schedule_purge

CATALOGUE_FILE = "catalogue/v2.json"
_DURATION = re.compile(r"P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


def add_duration(start: datetime, duration: str) -> datetime:
    """`start` plus an ISO 8601 date duration (PnYnMnWnD), with calendar years and months.

    "P1Y" from 29 February lands on 28 February: a year is a calendar year, not 365 days.
    """
    match = _DURATION.fullmatch(duration)
    if not match or not any(match.groupdict().values()):
        raise InvalidEvidence(f"Retention duration {duration!r} is not an ISO 8601 period like P1Y, P6M or P180D.")
    years, months, weeks, days = (int(match[g] or 0) for g in "ymwd")
    month_index = start.month - 1 + months
    year, month = start.year + years + month_index // 12, month_index % 12 + 1
    moved = start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
    return moved + timedelta(weeks=weeks, days=days)


def list_policies(session: Session, *, include_retired: bool = False) -> list[RetentionPolicy]:
    stmt = select(RetentionPolicy).order_by(RetentionPolicy.key)
    if not include_retired:
        stmt = stmt.where(RetentionPolicy.active.is_(True))
    return list(session.scalars(stmt))


def get_policy(session: Session, key: str) -> RetentionPolicy:
    policy = session.get(RetentionPolicy, key)
    if policy is None:
        raise PolicyNotFound(f"No retention policy {key!r}; `bastion evidence policies` lists the catalogue.")
    return policy


def set_policy(
    session: Session,
    key: str,
    *,
    title: str,
    duration: str,
    citation: str,
    as_of: date,
    description: str = "",
    active: bool = True,
    actor: str,
    reason: str,
    clock: Clock,
) -> RetentionPolicy:
    """Create or change a catalogue entry (legal staff's edit), audited with before and after."""
    if not _KEY.fullmatch(key):
        raise InvalidEvidence(f"Policy key {key!r} must be lower_snake_case, at most 64 characters.")
    add_duration(clock.now(), duration)  # validates
    if not citation.strip():
        raise InvalidEvidence("A retention policy needs a citation of the law or contract it implements.")
    policy = session.get(RetentionPolicy, key)
    before = _policy_dict(policy) if policy is not None else None
    if policy is None:
        policy = RetentionPolicy(key=key)
        session.add(policy)
    policy.title, policy.duration, policy.citation, policy.as_of = title, duration, citation, as_of
    policy.description, policy.active = description, active
    policy.updated_at, policy.updated_by = clock.now(), actor
    session.flush()
    audit.record(session, actor=actor, action="evidence.policy.set", subject=f"retention_policy:{key}",
                 details={"before": before, "after": _policy_dict(policy), "reason": reason}, clock=clock)
    return policy


def install_catalogue(session: Session, *, actor: str, clock: Clock, catalogue: dict[str, Any] | None = None) -> list[str]:
    """Add catalogue entries that are missing from the table; entries already there are never overwritten.

    Migration 0003 seeds the shipped catalogue; this restores entries someone deleted
    or loads a newer shipped file. Returns the keys added.
    """
    catalogue = catalogue or shipped_catalogue()
    added = []
    for entry in catalogue["policies"]:
        if session.get(RetentionPolicy, entry["key"]) is None:
            set_policy(session, entry["key"], title=entry["title"], duration=entry["duration"],
                       citation=entry["citation"], as_of=date.fromisoformat(entry["as_of"]),
                       description=entry.get("description", ""), actor=actor,
                       reason=f"install shipped catalogue v{catalogue.get('version', '?')}", clock=clock)
            added.append(entry["key"])
    return added


def shipped_catalogue() -> dict[str, Any]:
    """The catalogue file shipped with this code (the data migration 0003 seeded)."""
    return json.loads(resources.files("bastion.evidence").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8"))


def apply_retention(
    session: Session,
    item_id: int,
    policy_key: str,
    *,
    from_time: datetime,
    actor: str,
    reason: str,
    clock: Clock,
) -> RetentionApplied:
    """Give an item a deadline under a policy, counted from `from_time` (e.g. the report's submission).

    The item's deadline becomes the latest of all its policies' deadlines, and the
    purge timer moves there.
    """
    if from_time.tzinfo is None:
        raise InvalidEvidence("Retention must count from an aware (UTC) time.")
    item = session.get(EvidenceItem, item_id, with_for_update=True)
    if item is None:
        raise EvidenceNotFound(f"No evidence item {item_id}.")
    if item.status == PURGED:
        raise EvidencePurged(f"Evidence item {item_id} was already purged; only its tombstone remains.")
    policy = get_policy(session, policy_key)
    if not policy.active:
        raise PolicyNotFound(f"Retention policy {policy_key!r} is retired; apply a current policy instead.")
    deadline = add_duration(from_time, policy.duration)
    applied = RetentionApplied(item_id=item.id, policy_key=policy.key, duration=policy.duration,
                               citation=policy.citation, from_time=from_time, deadline=deadline,
                               applied_at=clock.now(), applied_by=actor)
    session.add(applied)
    if item.retention_until is None or deadline > item.retention_until:
        item.retention_until = deadline
        schedule_purge(session, item, due_at=deadline, clock=clock)
    custody.record(session, [item], action=custody.RETENTION, actor=actor, reason=reason, clock=clock,
                   details={"policy": policy.key, "citation": policy.citation, "from": from_time.isoformat(),
                            "deadline": deadline.isoformat(), "retention_until": item.retention_until.isoformat()})
    return applied


def retention_of(session: Session, item_id: int) -> list[RetentionApplied]:
    return list(session.scalars(
        select(RetentionApplied).where(RetentionApplied.item_id == item_id).order_by(RetentionApplied.id)
    ))


def _policy_dict(policy: RetentionPolicy) -> dict[str, Any]:
    return {"title": policy.title, "duration": policy.duration, "citation": policy.citation,
            "as_of": policy.as_of.isoformat(), "description": policy.description, "active": policy.active}
