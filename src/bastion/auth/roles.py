"""The roles a Bastion user can hold."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person or machine is for; permissions are granted per role (see `permissions`)."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    LEGAL = "legal"
    COMPLIANCE = "compliance"
    AUDITOR = "auditor"
    PLATFORM = "platform"
    OFFICER = "officer"


#: Roles that can see media or account data must prove a second factor on every login.
MFA_REQUIRED: frozenset[Role] = frozenset({Role.ADMIN, Role.REVIEWER, Role.LEGAL, Role.OFFICER})

#: Roles that only ever authenticate with API keys, never with a password in the browser.
MACHINE_ROLES: frozenset[Role] = frozenset({Role.PLATFORM})
