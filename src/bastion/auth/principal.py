"""Who is making a request, however they authenticated."""

from __future__ import annotations

from dataclasses import dataclass, field

from bastion.auth.permissions import SENSITIVE, SESSION_ONLY, Perm, allowed
from bastion.auth.roles import Role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user through a browser session or an API key."""

    user_id: int
    username: str
    role: Role
    via: str  # "session" or "apikey"
    mfa_passed: bool = True
    totp_enabled: bool = False
    session_id: int | None = None
    api_key_id: int | None = None
    scopes: frozenset[Perm] = field(default_factory=frozenset)
    #: For API keys: minted by their owner after a fresh second factor (may carry sensitive scopes).
    step_up: bool = False

    @property
    def actor(self) -> str:
        """How this caller appears in the audit log."""
        suffix = f" (key {self.api_key_id})" if self.api_key_id else ""
        return f"{self.username}{suffix}"

    def can(self, perm: Perm) -> bool:
        """Role grants `perm` and, for API keys, the key's scopes include it.

        Checked again here on every use, not only when a key is minted, so a key minted before a
        rule tightened (or written into the table by hand) still cannot reach media or account data.
        """
        if not allowed(self.role, perm):
            return False
        if self.via != "apikey" or perm == Perm.PUBLIC:
            return True
        if perm in SESSION_ONLY or (perm in SENSITIVE and not self.step_up):
            return False
        return perm in self.scopes
