"""The one permission table.

Every route names exactly one `Perm` (through `bastion.web.guard.needs`) and this table
says which roles hold it. A route without a rule cannot be registered unnoticed: the
route-by-role test walks every route under every role against this table.
"""

from __future__ import annotations

from enum import StrEnum

from bastion.auth.roles import MACHINE_ROLES, Role

ALL_HUMAN_ROLES = frozenset(Role) - MACHINE_ROLES


class Perm(StrEnum):
    """A permission. `PUBLIC` needs no login; `PRE_MFA` is allowed before the second factor."""

    PUBLIC = "public"
    PRE_MFA = "session.pre_mfa"
    SELF = "self"
    DASHBOARD = "dashboard.view"
    USERS_MANAGE = "users.manage"
    APIKEYS_MANAGE = "apikeys.manage"
    AUDIT_READ = "audit.read"
    SETTINGS_READ = "settings.read"
    SETTINGS_MANAGE = "settings.manage"
    MEDIA_HASH = "media.hash"
    SCAN_SUBMIT = "scan.submit"
    SCAN_READ = "scan.read"
    MATCH_LOOKUP = "match.lookup"
    BANKS_READ = "banks.read"
    BANKS_MANAGE = "banks.manage"
    CASES_READ = "cases.read"
    CASES_REVIEW = "cases.review"
    MEDIA_VIEW = "media.view"
    LEGAL_READ = "legal.read"
    LEGAL_MANAGE = "legal.manage"
    LEGAL_APPROVE = "legal.approve"
    OFFICER_PORTAL = "officer.portal"
    MEDIA_REVEAL_ANY = "media.reveal_any"
    ACCOUNT_MANAGE = "account.manage"
    APIKEYS_OWN = "apikeys.own"
    API_DOCS = "api.docs"
    GRIEVANCE_READ = "grievances.read"
    GRIEVANCE_HANDLE = "grievances.handle"
    COMPLAINT_SUBMIT = "complaints.submit"
    COMPLIANCE_REPORTS = "compliance.reports"
    APPEAL_SUBMIT = "appeals.submit"
    APPEAL_READ = "appeals.read"
    APPEAL_DECIDE = "appeals.decide"
    COMPLIANCE_PUBLISH = "compliance.publish"
    EXCHANGES_READ = "exchanges.read"
    EXCHANGES_MANAGE = "exchanges.manage"
    OPERATIONS = "operations.manage"
    METRICS_READ = "metrics.read"
    EXCHANGES_APPROVE = "exchanges.approve"
    QUEUES_MANAGE = "queues.manage"
    REVIEW_LEAD = "review.lead"


PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.PUBLIC: frozenset(Role),
    Perm.PRE_MFA: ALL_HUMAN_ROLES,
    Perm.SELF: frozenset(Role),
    Perm.DASHBOARD: ALL_HUMAN_ROLES - {Role.OFFICER},
    Perm.USERS_MANAGE: frozenset({Role.ADMIN}),
    Perm.APIKEYS_MANAGE: frozenset({Role.ADMIN}),
    Perm.AUDIT_READ: frozenset({Role.ADMIN, Role.AUDITOR, Role.COMPLIANCE}),
    Perm.SETTINGS_READ: frozenset({Role.ADMIN, Role.AUDITOR, Role.COMPLIANCE}),
    Perm.SETTINGS_MANAGE: frozenset({Role.ADMIN}),
    Perm.MEDIA_HASH: frozenset({Role.ADMIN, Role.PLATFORM, Role.REVIEWER, Role.LEAD}),
    Perm.SCAN_SUBMIT: frozenset({Role.ADMIN, Role.PLATFORM}),
    Perm.SCAN_READ: frozenset({Role.ADMIN, Role.REVIEWER, Role.LEAD, Role.COMPLIANCE}),
    Perm.MATCH_LOOKUP: frozenset({Role.ADMIN, Role.PLATFORM, Role.REVIEWER, Role.LEAD}),
    Perm.BANKS_READ: frozenset({Role.ADMIN, Role.PLATFORM, Role.REVIEWER, Role.LEAD, Role.COMPLIANCE, Role.AUDITOR}),
    Perm.BANKS_MANAGE: frozenset({Role.ADMIN, Role.PLATFORM}),
    Perm.CASES_READ: frozenset({Role.ADMIN, Role.REVIEWER, Role.LEAD, Role.LEGAL, Role.COMPLIANCE}),
    Perm.CASES_REVIEW: frozenset({Role.REVIEWER, Role.LEAD}),
    # Least privilege: media only to the roles whose work needs it, and they must have a second factor.
    # Thumbnails are blurred; revealing an item also needs the case's claim (or MEDIA_REVEAL_ANY).
    Perm.MEDIA_VIEW: frozenset({Role.REVIEWER, Role.LEAD, Role.LEGAL}),
    Perm.MEDIA_REVEAL_ANY: frozenset({Role.LEAD}),
    # Account data (who the requests are about, what was collected and produced). Not the auditor:
    # the auditor's oversight is the audit log and the settings (README, "Roles").
    Perm.LEGAL_READ: frozenset({Role.LEGAL, Role.COMPLIANCE, Role.ADMIN}),
    Perm.LEGAL_MANAGE: frozenset({Role.LEGAL}),
    Perm.LEGAL_APPROVE: frozenset({Role.LEGAL}),
    Perm.OFFICER_PORTAL: frozenset({Role.OFFICER}),
    Perm.ACCOUNT_MANAGE: ALL_HUMAN_ROLES,
    Perm.APIKEYS_OWN: ALL_HUMAN_ROLES - {Role.OFFICER},
    Perm.API_DOCS: frozenset(Role) - {Role.OFFICER},
    # The grievance desk: complainants' contact details and what they reported (legal acts as grievance officer).
    Perm.GRIEVANCE_READ: frozenset({Role.LEGAL, Role.LEAD, Role.COMPLIANCE, Role.ADMIN}),
    Perm.GRIEVANCE_HANDLE: frozenset({Role.LEGAL, Role.LEAD}),
    Perm.COMPLAINT_SUBMIT: frozenset({Role.ADMIN, Role.PLATFORM, Role.FLAGGER}),
    Perm.APPEAL_SUBMIT: frozenset({Role.ADMIN, Role.PLATFORM}),
    Perm.APPEAL_READ: frozenset({Role.LEGAL, Role.LEAD, Role.REVIEWER, Role.COMPLIANCE, Role.ADMIN}),
    Perm.APPEAL_DECIDE: frozenset({Role.LEGAL, Role.LEAD, Role.REVIEWER}),
    # Transparency and compliance reports: aggregates only, no account or content data.
    Perm.COMPLIANCE_REPORTS: frozenset({Role.COMPLIANCE, Role.ADMIN, Role.LEGAL, Role.AUDITOR}),
    # Drafting, approving (a second person) and publishing them: the compliance officers.
    Perm.COMPLIANCE_PUBLISH: frozenset({Role.COMPLIANCE}),
    # Hash exchanges: status and settings (never credentials) for those who run or oversee detection; adding,
    # editing (credentials included), pausing and deleting them is the admin's alone.
    Perm.EXCHANGES_READ: frozenset({Role.ADMIN, Role.PLATFORM, Role.LEAD, Role.COMPLIANCE, Role.AUDITOR}),
    Perm.EXCHANGES_MANAGE: frozenset({Role.ADMIN}),
    # Running the machinery: queues, dead letters (retrying one), fan-out jobs (cancelling one). Ids and
    # counts only, no content or account data.
    Perm.OPERATIONS: frozenset({Role.ADMIN}),
    # Prometheus scrapes /metrics with an admin-minted key scoped to this alone (or from an allowed address).
    Perm.METRICS_READ: frozenset({Role.ADMIN}),
    #: the second person who lets a contribution to an exchange go out
    Perm.EXCHANGES_APPROVE: frozenset({Role.ADMIN, Role.LEAD}),
    # Review queues: defining them and their routing rules, assigning reviewers, settling second opinions and
    # reading agreement figures. Holders see every queue's cases; a reviewer sees their own queues' only.
    Perm.QUEUES_MANAGE: frozenset({Role.LEAD, Role.ADMIN}),
    # A review lead's care of the reviewers: lifting a reviewer's daily exposure cap (with a reason) and reading
    # each reviewer's wellbeing figures. The lead alone, like MEDIA_REVEAL_ANY: an admin runs the system, not
    # the reviewers, and has no need of anyone's exposure to media.
    Perm.REVIEW_LEAD: frozenset({Role.LEAD}),
}

#: Media and account data. An API key carries these only if its owner minted it for themself after a fresh
#: second factor, for a short time (`bastion.auth.apikeys`); every role holding one must prove a second
#: factor at login (`roles.MFA_REQUIRED`, checked by a test against this set).
SENSITIVE: frozenset[Perm] = frozenset({
    Perm.MEDIA_VIEW, Perm.MEDIA_REVEAL_ANY, Perm.LEGAL_READ, Perm.LEGAL_MANAGE, Perm.LEGAL_APPROVE,
    Perm.OFFICER_PORTAL, Perm.GRIEVANCE_READ, Perm.GRIEVANCE_HANDLE, Perm.APPEAL_READ, Perm.APPEAL_DECIDE,
    Perm.REVIEW_LEAD,  # people's exposure to harmful media, day by day: personal data about staff
})

#: Never through an API key, whatever its scopes: a key must not mint keys (it could outlive itself),
#: change a password, or read the interactive docs; these need a person in a browser session.
SESSION_ONLY: frozenset[Perm] = frozenset({
    Perm.PUBLIC, Perm.PRE_MFA, Perm.APIKEYS_MANAGE, Perm.ACCOUNT_MANAGE, Perm.APIKEYS_OWN,
})


def allowed(role: Role, perm: Perm) -> bool:
    """Whether `role` holds `perm`. Unknown permissions are denied (fail closed)."""
    return role in PERMISSIONS.get(perm, frozenset())


def held_by(role: Role) -> frozenset[Perm]:
    """Every permission `role` holds."""
    return frozenset(p for p, roles in PERMISSIONS.items() if role in roles)


def grantable_scopes(role: Role) -> frozenset[Perm]:
    """Scopes an API key of a user with `role` may carry: what the role holds, minus session-only ones.

    Sensitive scopes are in this set; whether a particular key may carry them is decided when it is
    minted (`bastion.auth.apikeys`) and again on every use (`Principal.can`).
    """
    return held_by(role) - SESSION_ONLY
