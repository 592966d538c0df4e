"""Organisation settings of the legal desk (registered at import; changed by admins, audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastion.orgsettings import fractions
from bastion.orgsettings.store import register

REMINDER_FRACTIONS = "legal.reminder_fractions"
PRESERVE_ON_ARRIVAL = "legal.preserve_on_arrival"
NODAL_OFFICER_EMAIL = "legal.nodal_officer_email"
COMPLIANCE_OFFICER_EMAIL = "legal.compliance_officer_email"
TEAM_EMAIL = "legal.team_email"
MAX_DOCUMENT_BYTES = "legal.max_document_bytes"
DOWNLOAD_TOKEN_HOURS = "legal.download_token_hours"
PRESERVATION_REMINDER_DAYS = "legal.preservation_reminder_days"
NOTICE_BEFORE_DISCLOSURE = "legal.notice_before_disclosure"
CONTENT_HELD_BY = "legal.content_held_by"
CUSTODIAN_TITLE = "legal.custodian_title"

register(REMINDER_FRACTIONS, str, "0.5 0.8",
         "Fractions of a legal request's time at which its assignee is reminded (space-separated, each between 0 and 1).")
register(PRESERVE_ON_ARRIVAL, bool, False,
         "Freeze the named accounts on arrival of every legal request, not only of preservation requests.")
register(NODAL_OFFICER_EMAIL, str, "", "Nodal contact person, told when a legal request breaches its deadline.")
register(COMPLIANCE_OFFICER_EMAIL, str, "", "Chief compliance officer, told when a legal request breaches its deadline.")
register(TEAM_EMAIL, str, "", "Legal team address: reminders for requests nobody is assigned to go here.")
register(MAX_DOCUMENT_BYTES, int, 20 * 1024 * 1024, "Largest document (PDF or image) accepted with a legal request, in bytes.")
register(DOWNLOAD_TOKEN_HOURS, int, 72, "How long an officer's download link for a production stays valid, in hours.")
register(PRESERVATION_REMINDER_DAYS, int, 14, "Days before a preservation expires that legal staff are reminded.")
register(CUSTODIAN_TITLE, str, "Custodian of Records",
         "Title printed under the producing staff member's name on a production package's certificate.")
register(NOTICE_BEFORE_DISCLOSURE, bool, True,
         "Refuse to deliver a production while a required user notice has not been sent.")


def reminder_fractions(session: Session) -> list[float]:
    """The configured fractions, validated: a bad value is an error, never silently ignored."""
    return fractions(session, REMINDER_FRACTIONS)


register(CONTENT_HELD_BY, str, "",
         "Country code of the provider that holds users' content, when its law limits disclosure abroad. 'US': "
         "a US provider may not disclose content to a foreign government on that government's domestic order "
         "(18 U.S.C. 2702(a)); without a CLOUD Act agreement the route is an MLAT, and Bastion flags such "
         "requests and offers the non-content subset. Empty: no such limit is applied.")
