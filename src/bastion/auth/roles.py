"""The roles a Bastion user can hold."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person or machine is for; permissions are granted per role (see `permissions`)."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    LEAD = "lead"
    LEGAL = "legal"
    COMPLIANCE = "compliance"
    AUDITOR = "auditor"
    PLATFORM = "platform"
    OFFICER = "officer"
    FLAGGER = "flagger"  # a trusted flagger or hotline (DSA Art. 22): files complaints, ranked first


#: Roles that can see media or account data must prove a second factor on every login (a test holds
#: this against `permissions.SENSITIVE`); the admin too, who manages everyone else.
MFA_REQUIRED: frozenset[Role] = frozenset({Role.ADMIN, Role.REVIEWER, Role.LEAD, Role.LEGAL, Role.COMPLIANCE,
                                           Role.OFFICER})

#: Roles that only ever authenticate with API keys, never with a password in the browser.
MACHINE_ROLES: frozenset[Role] = frozenset({Role.PLATFORM, Role.FLAGGER})
