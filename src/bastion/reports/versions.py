"""Drafting, approving, publishing and correcting reports, with four eyes and an audit record for each.

The rules, and why:
- A draft keeps the figures it was built with; the approver approves exactly those.
- The approver is never the person who drafted it. When a timer drafted it, the person
  who publishes is not the approver, so two people always stand behind a published report.
- A provisional draft (its period still open) cannot be approved: its figures will change. Draft
  it again once the period has closed.
- Publishing renders every format once and stores the bytes with their SHA-256; that version is
  frozen. Rendering is a pure function of the stored figures, so a rebuild gives the same bytes.
- Once a version is published, drafting the same kind and period again is a correction: a new
  version that names the version it corrects, says why, and lists every figure that changed.
  Publishing it supersedes the earlier version, which stays readable.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.db.keyset import Page, newest_first, page_size
from bastion.errors import BastionError, Conflict, InvalidInput, NotFound
from bastion.reports.build import FORMATS, check_format, figures, flatten, render
from bastion.reports.models import ReportVersion
from bastion.reports.period import KINDS, BadReportRequest, check_kind, check_period_for, parse_period

OPEN = ("draft", "approved")
MAX_NOTE = 2000


class FourEyes(BastionError):
    code = "four_eyes"
    status = 403


def subject(row: ReportVersion) -> str:
    return f"report:{row.kind}:{row.period}:v{row.version}"


def versions_of(session: Session, kind: str, period: str) -> list[ReportVersion]:
    return list(session.scalars(select(ReportVersion).where(ReportVersion.kind == kind, ReportVersion.period == period)
                                .order_by(ReportVersion.version)))


def versions_page(session: Session, *, kind: str = "", cursor: str | None = None,
                  limit: int | None = None) -> Page[ReportVersion]:
    """Versions newest first, optionally of one kind (indexed), one keyset page: years of drafts, no cap."""
    size = page_size(limit)
    query = select(ReportVersion)
    if kind:
        if kind not in KINDS:
            raise InvalidInput(f"A report's kind is one of {', '.join(KINDS)}.")
        query = query.where(ReportVersion.kind == kind)
    return newest_first(session, query, ReportVersion.id, cursor=cursor, size=size)


def get_version(session: Session, version_id: int) -> ReportVersion:
    row = session.get(ReportVersion, version_id)
    if row is None:
        raise NotFound(f"No report version {version_id}; the Transparency page lists them.")
    return row


def published(session: Session, kind: str, period: str) -> ReportVersion | None:
    """The version in force: the last one published."""
    return session.scalar(select(ReportVersion).where(ReportVersion.kind == kind, ReportVersion.period == period,
                                                      ReportVersion.status == "published"))


def report_of(row: ReportVersion) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row.figures_json)
    return data


def draft(session: Session, kind: str, period_text: str, *, actor: str, actor_id: int | None, clock: Clock,
          note: str = "") -> ReportVersion:
    """Draft a report (or redraft the open draft); after publication, draft a correction, which needs `note`."""
    check_kind(kind)
    period = check_period_for(kind, parse_period(period_text)).label
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise BadReportRequest(f"The note is {len(note)} characters; keep it under {MAX_NOTE}.")
    now = clock.now()
    existing = versions_of(session, kind, period)
    in_force = next((v for v in reversed(existing) if v.status == "published"), None)
    open_draft = next((v for v in existing if v.status in OPEN), None)
    version = open_draft.version if open_draft else (existing[-1].version + 1 if existing else 1)
    report = figures(session, kind, period, now)
    report["version"] = version
    report["as_of"] = now.isoformat()
    if in_force is not None:
        if not note:
            raise BadReportRequest(f"Version {in_force.version} of {kind} {period} is published; a new version is a "
                                   "correction. Say what changed and why in the note.")
        changed = _changes(report_of(in_force), report)
        if not changed:
            raise Conflict(f"No figure differs from published version {in_force.version}; there is nothing to "
                           "correct.")
        report["correction"] = {"corrects": in_force.version, "note": note, "changed": changed}
    body = json.dumps(report, sort_keys=True)
    if open_draft is not None:
        row = open_draft
        row.figures_json, row.provisional, row.note = body, report["provisional"], note
        row.drafted_by, row.drafted_by_id, row.drafted_at = actor, actor_id, now
        row.status, row.approved_by, row.approved_by_id, row.approved_at = "draft", "", None, None
        action = "reports.redraft"
    else:
        row = ReportVersion(kind=kind, period=period, version=version, status="draft",
                            provisional=report["provisional"], figures_json=body,
                            corrects=in_force.version if in_force else None, note=note, drafted_by=actor,
                            drafted_by_id=actor_id, drafted_at=now, sha256_json="{}")
        session.add(row)
        action = "reports.correct" if in_force else "reports.draft"
    session.flush()
    audit.record(session, actor=actor, action=action, subject=subject(row), clock=clock,
                 details={"version_id": row.id, "provisional": row.provisional, "note": note,
                          "changed": [c["figure"] for c in report.get("correction", {}).get("changed", [])]})
    return row


def approve(session: Session, version_id: int, *, actor: str, actor_id: int, clock: Clock) -> ReportVersion:
    row = get_version(session, version_id)
    if row.status != "draft":
        raise Conflict(f"Version {row.version} is {row.status}; only a draft is approved.")
    if row.provisional:
        raise Conflict(f"This draft of {row.period} was built before the period closed; draft it again after it "
                       "closes, then approve that.")
    if row.drafted_by_id is not None and row.drafted_by_id == actor_id:
        audit.record(session, actor=actor, action="reports.approve_refused", subject=subject(row), clock=clock,
                     details={"version_id": row.id, "reason": "drafter"})
        session.commit()
        raise FourEyes("You drafted this report; a second person approves it.")
    row.status, row.approved_by, row.approved_by_id, row.approved_at = "approved", actor, actor_id, clock.now()
    audit.record(session, actor=actor, action="reports.approve", subject=subject(row), clock=clock,
                 details={"version_id": row.id, "drafted_by": row.drafted_by})
    return row


def publish(session: Session, version_id: int, *, actor: str, actor_id: int, clock: Clock) -> ReportVersion:
    row = get_version(session, version_id)
    if row.status != "approved":
        raise Conflict(f"Version {row.version} is {row.status}; a report is published once approved.")
    if row.drafted_by_id is None and row.approved_by_id == actor_id:
        audit.record(session, actor=actor, action="reports.publish_refused", subject=subject(row), clock=clock,
                     details={"version_id": row.id, "reason": "approver of a timer draft"})
        session.commit()
        raise FourEyes("The timer drafted this report and you approved it; a second person publishes it.")
    report = report_of(row)
    hashes = {}
    for fmt in FORMATS:
        body = render(report, fmt)
        setattr(row, f"{fmt}_bytes", body)
        hashes[fmt] = hashlib.sha256(body).hexdigest()
    for earlier in versions_of(session, row.kind, row.period):
        if earlier.status == "published":
            earlier.status = "superseded"
    row.status, row.published_by, row.published_at = "published", actor, clock.now()
    row.sha256_json = json.dumps(hashes, sort_keys=True)
    audit.record(session, actor=actor, action="reports.publish", subject=subject(row), clock=clock,
                 details={"version_id": row.id, "sha256": hashes, "corrects": row.corrects})
    return row


def frozen(row: ReportVersion, fmt: str) -> bytes:
    """The stored bytes of a published (or superseded) version."""
    check_format(fmt)
    body: bytes | None = getattr(row, f"{fmt}_bytes")
    if body is None:
        raise Conflict(f"Version {row.version} is {row.status}, not published; it has no frozen {fmt}.")
    return body


def rebuild(row: ReportVersion, fmt: str) -> bytes:
    """Render the version again from its stored figures (identical to `frozen` for a published version)."""
    return render(report_of(row), check_format(fmt))


def current(session: Session, kind: str, period_text: str, fmt: str, now: datetime) -> tuple[bytes, int | None]:
    """What `reports build` and the API serve: the published bytes if a version is in force, else a fresh build."""
    check_kind(kind)
    period = check_period_for(kind, parse_period(period_text)).label
    check_format(fmt)
    row = published(session, kind, period)
    if row is not None:
        return frozen(row, fmt), row.version
    return render(figures(session, kind, period, now), fmt), None


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    old, new = flatten(before), flatten(after)
    return [{"figure": key, "was": old.get(key), "now": new.get(key)}
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
