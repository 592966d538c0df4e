"""From a statement of reasons Bastion owed an EU user to the Transparency Database's fields.

The notice (`bastion.notices`) already holds what the user was told: the decision, the ground,
whether automated means detected and decided it, the territorial scope. This module restates it in
the API's enumerations, with no personal data (Art. 24(5)): no account id, no content id, no
reviewer; the puid is the notice's own reference, so the same notice can never be filed twice.

Mapping (documented in docs/dsa.md):
- removal of a post -> decision_visibility CONTENT_REMOVED; an account suspension -> decision_account
  SUSPENDED; a limited account -> decision_provision PARTIAL_SUSPENSION;
- a case classified as CSAM -> ground ILLEGAL_CONTENT (the legal ground the user was told),
  category PROTECTION_OF_MINORS, keyword CHILD_SEXUAL_ABUSE_MATERIAL; otherwise -> ground
  INCOMPATIBLE_CONTENT, category OTHER_VIOLATION_TC;
- hash-list detection -> automated_detection Yes, source SOURCE_VOLUNTARY (own initiative); a
  person confirmed -> automated_decision PARTIALLY, nobody -> FULLY;
- "worldwide" -> every EEA country; content_date is the day Bastion first saw the item (the
  platform's upload date is not sent to Bastion); application_date is the notice's day.

A notice withheld under a legal bar (a non-disclosure order, a request whose notice the legal desk
withheld) is recorded as `held`: the database is public, and the order, not Bastion, decides when
the decision may be told. A notice withheld under the CSAM policy is still filed: the policy keeps
the offender from being tipped off, and the database entry names nobody.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.actions import outbox
from bastion.actions.models import OutboxAction
from bastion.cases.models import Case, CaseItem
from bastion.clock import Clock
from bastion.db.keyset import Page, exact, newest_first, page_size
from bastion.dsa import schema
from bastion.dsa.models import DsaStatement
from bastion.dsa.reversals import end_dates
from bastion.errors import InvalidInput
from bastion.notices.models import NoticeRecord
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register

PUID_PREFIX = "dsa.puid_prefix"
register(PUID_PREFIX, str, "bastion", "Prefix of every puid Bastion sends to the DSA Transparency Database (letters, "
                                      "digits, '-' and '_'): keeps two systems of one platform from colliding.")
TERMS_URL = "dsa.terms_url"
register(TERMS_URL, str, "", "Link to the platform's terms of service, sent as decision_ground_reference_url "
                             "(empty: not sent).")
EU = "EU"
VIDEO_SIGNALS = ("vpdq", "tmk", "video")


def _restriction(session: Session, action_id: int) -> str:
    row = session.get(OutboxAction, action_id)
    return str((row.payload or {}).get("restriction", "")) if row is not None else ""


def statement_for(session: Session, notice: NoticeRecord) -> dict[str, Any]:
    """The API payload for one EU statement of reasons about a case."""
    case = session.get(Case, int(notice.subject.split(":", 1)[1]))
    if case is None:
        raise InvalidInput(f"Notice {notice.reference} names {notice.subject}, which does not exist.")
    facts = dict(notice.facts or {})
    items = [i for i in session.scalars(select(CaseItem).where(CaseItem.case_id == case.id).order_by(CaseItem.id))
             if i.decision == "confirmed"]
    payload: dict[str, Any] = {}
    actions = outbox.actions_for(session, notice.subject)
    if any(a.kind == "remove_content" for a in actions):
        payload["decision_visibility"] = ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    for action in actions:
        if action.kind == "restrict_account":
            restriction = _restriction(session, action.id)
            if restriction == "limit":
                payload["decision_provision"] = "DECISION_PROVISION_PARTIAL_SUSPENSION"
            else:
                payload["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
    if case.classification:
        payload.update(decision_ground="DECISION_GROUND_ILLEGAL_CONTENT",
                       illegal_content_legal_ground=str(facts.get("ground", ""))[:500],
                       illegal_content_explanation=("The content matched a list of known child sexual abuse material "
                                                    "and was confirmed by review."),
                       category="STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                       category_specification=["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"])
    else:
        payload.update(decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
                       incompatible_content_ground=str(facts.get("ground", "Terms of service"))[:500],
                       incompatible_content_explanation="The content matched a list of material the terms forbid.",
                       category="STATEMENT_CATEGORY_OTHER_VIOLATION_TC")
    terms = str(get_value(session, TERMS_URL)).strip()
    if terms:
        payload["decision_ground_reference_url"] = terms
    video = any(any(s in i.signal_type.lower() for s in VIDEO_SIGNALS) for i in items)
    first_seen = min((i.added_at for i in items), default=case.opened_at)
    human = not str(facts.get("decided_by_automated_means", "")).startswith("yes")
    payload.update(
        content_type=["CONTENT_TYPE_VIDEO" if video else "CONTENT_TYPE_IMAGE"],
        territorial_scope=list(schema.EEA_COUNTRIES),
        content_date=first_seen.date().isoformat(),
        application_date=notice.created_at.date().isoformat(),
        decision_facts=str(facts.get("facts", "")),
        source_type="SOURCE_VOLUNTARY",
        automated_detection="Yes" if str(facts.get("detected_by_automated_means", "")).startswith("yes") else "No",
        automated_decision="AUTOMATED_DECISION_PARTIALLY" if human else "AUTOMATED_DECISION_FULLY",
        puid=f"{str(get_value(session, PUID_PREFIX)).strip()}-{notice.reference}",
    )
    return payload


def check(payload: dict[str, Any], *, what: str = "This statement") -> None:
    """Refuse a statement the database would refuse, naming each field and what to change."""
    errors = schema.validate(payload)
    if errors:
        raise InvalidInput(f"{what} would be refused by the DSA Transparency Database; fix: "
                           + "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in sorted(errors.items())))


def legal_bar(notice: NoticeRecord) -> str:
    """A withholding that binds the database too (an order or the legal desk), or '' when it may be filed."""
    if notice.status != "withheld" or notice.withheld_reason.startswith("Policy:"):
        return ""
    return notice.withheld_reason


def record(session: Session, notice: NoticeRecord, clock: Clock, *, actor: str = "system:dsa") -> DsaStatement:
    """Store the statement for one EU notice: pending, held under a legal bar, or refused with what to fix."""
    payload = statement_for(session, notice)
    status, error, held = "pending", "", legal_bar(notice)
    if held:
        status = "held"
    else:
        try:
            check(payload, what=f"Statement {payload['puid']}")
        except InvalidInput as exc:
            status, error = "refused", str(exc)
    row = DsaStatement(notice_id=notice.id, case_id=int(notice.subject.split(":", 1)[1]), puid=payload["puid"],
                       category=payload.get("category", ""), status=status, held_reason=held, payload=payload,
                       attempts=0, last_error=error, next_attempt_at=clock.now() if status == "pending" else None,
                       uuid="", created_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action=f"dsa.statement.{status}", subject=notice.subject, clock=clock,
                 details={"puid": row.puid, **({"reason": held or error} if held or error else {})})
    return row


def record_new(session: Session, clock: Clock, *, limit: int = 500) -> list[DsaStatement]:
    """A statement for every EU statement of reasons about a case that has none yet."""
    known = select(DsaStatement.notice_id)
    notices = session.scalars(select(NoticeRecord).where(
        NoticeRecord.kind == "statement_of_reasons", NoticeRecord.jurisdiction == EU,
        NoticeRecord.subject.like("case:%"), NoticeRecord.id.not_in(known)).order_by(NoticeRecord.id).limit(limit))
    return [record(session, notice, clock) for notice in list(notices)]


def listing(session: Session, *, status: str = "", puid: str = "", cursor: str | None = None,
            limit: int | None = None) -> Page[DsaStatement]:
    """Statements newest first, one keyset page at a time; filtered by state and by exact puid, both
    indexed columns, so neither the filter nor page 500 scans the table."""
    size = page_size(limit)
    stmt = select(DsaStatement)
    if status:
        stmt = stmt.where(DsaStatement.status == status)
    puid = exact(puid, "puid", 500)
    if puid:
        stmt = stmt.where(DsaStatement.puid == puid)
    return newest_first(session, stmt, DsaStatement.id, cursor=cursor, size=size)


def counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    rows = session.execute(select(DsaStatement.status, func.count()).group_by(DsaStatement.status)).all()
    found = {str(status): int(n) for status, n in rows}
    return {state: found.get(state, 0) for state in ("pending", "submitted", "held", "refused")}




def refile(session: Session, row: DsaStatement, clock: Clock, *, actor: str, note: str = "") -> DsaStatement:
    """Build a refused statement again from its notice (after its cause was fixed), or release a held one.

    Releasing a held statement is a legal call (the order that held it has ended), so it needs a note
    saying why; both are audited. A statement that is still invalid stays refused with the new message.
    """
    if row.status not in ("refused", "held"):
        raise InvalidInput(f"Statement {row.puid} is {row.status}; only a refused or held statement is filed again.")
    note = note.strip()
    if row.status == "held" and not note:
        raise InvalidInput("Say why the statement may now be filed (e.g. the non-disclosure order ended).")
    notice = session.get(NoticeRecord, row.notice_id)
    if notice is None:
        raise InvalidInput(f"The notice behind statement {row.puid} no longer exists.")
    payload = statement_for(session, notice)
    if row.reversed_at is not None:  # built afresh, it must still say the restriction ended on reversal
        payload = end_dates(payload, row.reversed_at.date().isoformat())
    was = row.status
    try:
        check(payload, what=f"Statement {payload['puid']}")
    except InvalidInput as exc:
        row.status, row.last_error = "refused", str(exc)
    else:
        row.status, row.last_error, row.held_reason, row.next_attempt_at = "pending", "", "", clock.now()
    row.payload, row.puid, row.category = payload, payload["puid"], payload.get("category", "")
    session.flush()
    audit.record(session, actor=actor, action="dsa.statement.refile", subject=notice.subject, clock=clock,
                 details={"puid": row.puid, "was": was, "now": row.status, **({"note": note} if note else {})})
    return row
