"""What people read for the desk's keys: a request's status, a decision's outcome and state, the notice.

Pages show these titles, never the stored keys (the API keeps the keys: machines key on them).
An unknown key falls back to a readable form of itself, so a new status never shows as blank.
"""

from __future__ import annotations

TITLES: dict[str, dict[str, str]] = {
    "status": {
        "received": "Received", "needs_information": "Waiting for information", "held": "Held (sender not verified)",
        "open": "Open", "pending_approval": "Waiting for a second approver", "approved": "Approved",
        "collected": "Data collected", "produced": "Produced", "delivered": "Delivered", "refused": "Refused",
        "closed": "Closed", "fraudulent": "Fraudulent", "withdrawn": "Withdrawn", "expired": "Expired",
        "preserved": "Preserved", "removed": "Removed",
    },
    "decision": {
        "produce": "Produce", "produce_in_part": "Produce in part", "refuse": "Refuse",
        "ask_more": "Ask for more information", "remove": "Remove the content",
    },
    "decision_state": {
        "pending_approval": "Waiting for a second approver", "approved": "Approved", "final": "Final",
        "superseded": "Superseded", "invalidated": "Void: the request changed after it",
    },
    "event": {
        "received": "Received", "complete": "Complete: everything needed is here", "follow_up": "We asked for more",
        "information_requested": "We asked for more information", "requester_reminder": "Reminder from the officer",
        "reminder_escalated": "Reminder escalated", "already_answered": "Already answered", "document": "Document added",
        "downloaded": "Package downloaded", "production_ready": "Package ready", "refusal_sent": "Refusal sent",
        "message": "Message", "transferred": "Transferred to another officer", "preserve_now": "Preservation requested",
        "approval_voided": "Approval void: the request changed", "deadline_breached": "Deadline passed",
        "possible_duplicate": "Possible duplicate", "callback": "Call-back to the agency",
    },
    "callback": {"confirmed": "confirmed", "denied": "denied sending it", "no_answer": "no answer"},
    "source": {"portal": "the officer portal", "email": "email", "post": "post", "phone": "phone"},
    "complaint": {"received": "Received", "acknowledged": "Acknowledged, being reviewed", "resolved": "Decided"},
    "channel": {"public": "Public form", "platform": "Platform, for a user", "flagger": "Trusted flagger"},
    "outcome": {"removed": "Remove the content", "restricted": "Restrict access", "no_action": "No action",
                "not_found": "Content not found"},
    "appeal": {"received": "Open", "decided": "Decided", "upheld": "Upheld: the decision stands",
               "reversed": "Reversed: restore the user"},
    "report_version": {"draft": "Draft, awaiting a second person's approval", "approved": "Approved, not published",
                       "published": "Published", "superseded": "Superseded by a correction", "withdrawn": "Withdrawn"},
    "account_notice": {"statement_of_reasons": "Statement of reasons", "appeal_decision": "Appeal decision"},
    "authority": {
        "not started": "Not started", "built": "Package built, not delivered", "delivered": "Delivered",
        "acknowledged": "Acknowledged", "filed": "Filed",
    },
    "case": {
        "new": "New", "in_review": "In review", "escalated": "Escalated to a second reviewer",
        "confirmed": "Confirmed", "dismissed": "Dismissed", "actioned": "Actioned", "closed": "Closed",
    },
    "item": {"pending": "Not decided yet", "confirmed": "Confirmed", "not_match": "Not a match"},
    "case_event": {"item_confirmed": "Item confirmed", "item_not_match": "Item: not a match",
                   "escalated": "Escalated to a second reviewer"},
    "portal": {  # what an officer is told of their request (`legal.portal._public_status`)
        "received": "Received", "in review": "In review", "needs information": "We need more information from you",
        "produced": "Answered: data produced", "delivered": "Answered: data delivered", "refused": "Refused",
        "closed": "Closed", "withdrawn": "Withdrawn", "expired": "Expired", "preserved": "Data preserved",
        "removed": "Content removed",
    },
    "verification": {"held": "Held: sender not verified", "verified": "Verified",
                     "unconfirmed": "Not yet confirmed", "": "Not checked yet"},
    "role": {
        "admin": "Administrator", "reviewer": "Reviewer", "lead": "Review lead", "legal": "Legal desk",
        "compliance": "Compliance", "auditor": "Auditor", "platform": "Platform (machine)",
        "officer": "Law-enforcement officer", "flagger": "Trusted flagger",
    },
    "action": {  # `actions.models.ActionKind`: what the platform is asked to do
        "remove_content": "Remove the content", "restrict_account": "Suspend the account",
        "preserve_account": "Preserve the account's data", "restore_content": "Restore the content",
        "lift_restriction": "Lift the suspension", "notify_account": "Notify the user", "webhook": "Call a webhook",
    },
    "delivery": {  # an outbox row's status (`bastion.outbox.status`)
        "pending": "Waiting to be sent", "in_flight": "Being sent", "delivered": "Done by the platform",
        "failed_retrying": "Failed, will retry", "dead": "Failed for good: needs a person",
    },
    "candidate": {"proposed": "Proposed", "confirmed": "Confirmed", "rejected": "Rejected"},
    "notice": {
        "pending": "To be sent before disclosure", "not_required": "Not sent", "deferred": "Deferred",
        "due": "Due now", "sent": "Sent", "": "Not decided yet",
    },
}


def title_of(key: str | None, kind: str = "status") -> str:
    """The title of `key` among `kind`'s titles (see `TITLES`)."""
    value = key or ""
    return TITLES.get(kind, {}).get(value) or value.replace("_", " ").capitalize() or "—"
