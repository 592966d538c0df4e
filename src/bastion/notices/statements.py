"""Statements of reasons: what was done to an account or its content, on what ground, and how to contest it.

The DSA (Art. 17(3)) names the contents: the decision, the facts relied on, whether automated
means detected or decided it, the legal or contractual ground, and the redress open to the user.
India's IT Rules 2021 Rule 4(8) ask the same of a significant social media intermediary that acts
on its own accord. Bastion writes the statement when a confirmed case's enforcement is requested
and the platform delivers it (`PlatformConnector.notify_account`) through the outbox.

A statement is withheld, and the withholding recorded with its reason, where telling the account
holder could tip off an offender: a law-enforcement non-disclosure order or an open request whose
notice the legal desk has withheld (`bastion.legal.notice.account_notice_bar`), or the policy of
not notifying accounts actioned for child sexual abuse material (`notices.withhold_csam`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.actions import outbox
from bastion.cases.models import Case
from bastion.cases.service import items_of
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound
from bastion.executor import TaskContext, registry
from bastion.legal.notice import account_notice_bar
from bastion.notices.models import NoticeRecord
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register
from bastion.platform import AccountNotice

STATEMENT_TASK = "notices.statement"
WITHHOLD_CSAM = "notices.withhold_csam"
register(WITHHOLD_CSAM, bool, True, "Withhold statements of reasons from accounts actioned for child sexual abuse "
                                    "material (telling them can tip off an offender before the police act).")
USER_JURISDICTION = "notices.user_jurisdiction"
register(USER_JURISDICTION, str, "IN", "Whose law a statement of reasons and an appeal follow when the platform does "
                                       "not say (IN, EU or US).")
RESTRICTION_WORDS = {"suspend": "suspended", "limit": "limited"}


@lru_cache(maxsize=1)
def redress() -> dict[str, Any]:
    """The redress catalogue (`redress.json`): citations and routes of appeal per jurisdiction."""
    return dict(json.loads(resources.files("bastion.notices").joinpath("redress.json").read_text("utf-8")))


def route(jurisdiction: str) -> dict[str, Any]:
    routes = redress()["jurisdictions"]
    if jurisdiction not in routes:
        raise InvalidInput(f"No redress rules for {jurisdiction!r}: use one of {', '.join(sorted(routes))}.")
    return dict(routes[jurisdiction])


def reference_for(case: Case) -> str:
    """SOR-2026-000042: the case's statement, one per case, short enough for a user to quote.

    Derived from the case rather than counted: two workers writing statements at once cannot draw
    the same number, and the reference's uniqueness in the database makes a second statement for
    the same case fail instead of going out twice."""
    return f"SOR-{case.opened_at:%Y}-{case.id:06d}"


def statement_for_case(session: Session, case: Case, *, jurisdiction: str, reference: str) -> AccountNotice:
    """The statement for a confirmed case's enforcement, in the words the user will read."""
    rules = route(jurisdiction)
    confirmed = [i for i in items_of(session, case.id) if i.decision == "confirmed"]
    actions = outbox.actions_for(session, f"case:{case.id}")
    words = []
    removed = sum(1 for a in actions if a.kind == "remove_content")
    if removed:
        words.append(f"removed {removed} of your posts" if removed > 1 else "removed one of your posts")
    for action in actions:
        if action.kind == "restrict_account":
            words.append(f"{RESTRICTION_WORDS.get(str(_payload(session, action.id).get('restriction')), 'restricted')}"
                         " your account")
    decision = " and ".join(words) or "took action on your content"
    csam = bool(case.classification)
    ground = rules["csam_ground"] if csam else "The platform's terms of service"
    human = any(i.decided_by is not None for i in confirmed)
    facts = {
        "decision": decision,
        "ground": ground,
        "facts": f"{len(confirmed)} item(s) matched a list of known material and were confirmed on review.",
        "detected_by_automated_means": "yes: the upload's hash matched a hash list",
        "decided_by_automated_means": "no: a person reviewed the match" if human else "yes",
        "territorial_scope": "worldwide",
        "citation": rules["statement_citation"],
    }
    body = (f"We {decision}. Ground: {ground}. How we found it: {facts['facts']} Automated detection: yes; "
            f"decided by a person: {'yes' if human else 'no'}.\n\n" + rules["appeal"].format(reference=reference)
            + (f"\n\n{rules['after_appeal']}" if rules["after_appeal"] else ""))
    return AccountNotice(kind="statement_of_reasons", reference=reference, title="Why we acted on your account",
                         body=body, facts=facts)


def _payload(session: Session, action_id: int) -> dict[str, Any]:
    from bastion.actions.models import OutboxAction

    row = session.get(OutboxAction, action_id)
    return dict(row.payload) if row is not None else {}


def withholding(session: Session, case: Case, clock: Clock) -> str | None:
    """Why the account holder may not be told, or None when the statement may go."""
    legal = account_notice_bar(session, case.account_id, clock.now())
    if legal:
        return legal
    if case.classification and bool(get_value(session, WITHHOLD_CSAM)):
        return "Policy: accounts actioned for child sexual abuse material are not notified (notices.withhold_csam)."
    return None


def send(session: Session, *, account_id: str, subject: str, notice: AccountNotice, jurisdiction: str,
         withheld: str | None, actor: str, clock: Clock) -> NoticeRecord:
    """Queue the notice through the outbox, or record why it was withheld; audited either way."""
    record = NoticeRecord(reference=notice.reference, account_id=account_id, subject=subject, kind=notice.kind,
                          jurisdiction=jurisdiction, status="withheld" if withheld else "queued",
                          withheld_reason=withheld or "", title=notice.title, body=notice.body,
                          facts=dict(notice.facts), created_at=clock.now())
    if not withheld:
        row = outbox.enqueue(session, kind="notify_account", target=account_id, subject=f"{subject}:notice",
                             payload=notice.model_dump(mode="json"), actor=actor, clock=clock)
        record.action_id = row.id
    session.add(record)
    session.flush()
    audit.record(session, actor=actor, action="notice.withhold" if withheld else "notice.queue", subject=subject,
                 clock=clock, details={"reference": notice.reference, "kind": notice.kind,
                                       **({"reason": withheld} if withheld else {})})
    return record


def notices_for(session: Session, subject: str) -> list[NoticeRecord]:
    return list(session.scalars(select(NoticeRecord).where(NoticeRecord.subject == subject)
                                .order_by(NoticeRecord.id)))


def by_reference(session: Session, reference: str) -> NoticeRecord:
    record = session.scalar(select(NoticeRecord).where(NoticeRecord.reference == reference.strip()))
    if record is None:
        raise NotFound(f"No notice {reference!r}. Quote the reference exactly as the notice gives it.")
    return record


def state_reasons(session: Session, case: Case, *, actor: str, clock: Clock) -> NoticeRecord | None:
    """Write (or withhold) the statement of reasons for a confirmed case, once."""
    subject = f"case:{case.id}"
    if any(r.kind == "statement_of_reasons" for r in notices_for(session, subject)):
        return None
    if case.account_id.startswith("content:"):  # no account known: nobody to tell
        return None
    jurisdiction = str(get_value(session, USER_JURISDICTION))
    notice = statement_for_case(session, case, jurisdiction=jurisdiction,
                                reference=reference_for(case))
    return send(session, account_id=case.account_id, subject=subject, notice=notice, jurisdiction=jurisdiction,
                withheld=withholding(session, case, clock), actor=actor, clock=clock)


@registry.task(STATEMENT_TASK)
def statement_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Scheduled by the case's enforcement, so the statement lists the actions in that same decision."""
    with ctx.sessions() as session, session.begin():
        case = session.get(Case, int(payload["case_id"]))
        if case is None or case.status not in ("confirmed", "actioned", "closed"):
            return
        state_reasons(session, case, actor="system:notices", clock=ctx.clock)
