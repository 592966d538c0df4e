"""The one permission table.

Every route names exactly one `Perm` (through `bastion.web.guard.needs`) and this table
says which roles hold it. A route without a rule cannot be registered unnoticed: the
route-by-role test walks every route under every role against this table.
"""

from __future__ import annotations

from enum import StrEnum

from bastion.auth.roles import Role

ALL_HUMAN_ROLES = frozenset(Role) - {Role.PLATFORM}


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
    Perm.MEDIA_HASH: frozenset({Role.ADMIN, Role.PLATFORM, Role.REVIEWER}),
    Perm.SCAN_SUBMIT: frozenset({Role.ADMIN, Role.PLATFORM}),
    Perm.SCAN_READ: frozenset({Role.ADMIN, Role.REVIEWER, Role.COMPLIANCE}),
    Perm.MATCH_LOOKUP: frozenset({Role.ADMIN, Role.PLATFORM, Role.REVIEWER}),
    Perm.BANKS_READ: frozenset({Role.ADMIN, Role.PLATFORM, Role.REVIEWER, Role.COMPLIANCE, Role.AUDITOR}),
    Perm.BANKS_MANAGE: frozenset({Role.ADMIN, Role.PLATFORM}),
    Perm.CASES_READ: frozenset({Role.ADMIN, Role.REVIEWER, Role.LEGAL, Role.COMPLIANCE}),
    Perm.CASES_REVIEW: frozenset({Role.REVIEWER}),
    # Least privilege: media only to the roles whose work needs it, and they must have a second factor.
    Perm.MEDIA_VIEW: frozenset({Role.REVIEWER, Role.LEGAL}),
    Perm.LEGAL_READ: frozenset({Role.LEGAL, Role.COMPLIANCE, Role.ADMIN, Role.AUDITOR}),
    Perm.LEGAL_MANAGE: frozenset({Role.LEGAL}),
    Perm.LEGAL_APPROVE: frozenset({Role.LEGAL}),
    Perm.OFFICER_PORTAL: frozenset({Role.OFFICER}),
}


def allowed(role: Role, perm: Perm) -> bool:
    """Whether `role` holds `perm`. Unknown permissions are denied (fail closed)."""
    return role in PERMISSIONS.get(perm, frozenset())


def grantable_scopes(role: Role) -> frozenset[Perm]:
    """Scopes an API key of a user with `role` may carry: what the role holds, minus browser-only ones."""
    return frozenset(p for p, roles in PERMISSIONS.items() if role in roles and p not in (Perm.PUBLIC, Perm.PRE_MFA))
