"""The one interface through which Bastion talks to a host platform.

Everything else in Bastion depends on :class:`PlatformConnector`, never on a
transport, so a platform can be reached over the REST contract
(:class:`~bastion.platform.http_connector.HttpPlatformConnector`), through an
in-process fake in tests, or through a bespoke adapter for a platform that
cannot implement the contract.

Rules every implementation follows:

* Failures are raised as :mod:`bastion.platform.errors` types, never as
  transport exceptions, so callers can decide retry vs. give-up uniformly.
* Mutating calls take an ``idempotency_key`` chosen by the *caller*, derived
  from its own durable record of the decision (e.g. ``takedown:<case>:<id>``).
  Retrying with the same key after :class:`PlatformUnavailable` is always safe.
* Time ranges are half-open ``[since, until)`` with timezone-aware datetimes;
  ``None`` means unbounded on that side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bastion.platform.models import (
    Account,
    AccountMatch,
    AccountNotice,
    ActionResult,
    Content,
    Device,
    HostingDetails,
    Location,
    LoginEvent,
    LookupKind,
    PreservationSnapshot,
    RestrictionKind,
    SubscriberInfo,
)

__all__ = ["PlatformConnector"]


@runtime_checkable
class PlatformConnector(Protocol):
    """Calls Bastion makes against the host platform."""

    # -- moderation ---------------------------------------------------------

    def get_account(self, account_id: str) -> Account:
        """Public-profile view of an account (no PII)."""
        ...

    def get_content(self, content_id: str) -> Content:
        """Metadata of a content item, including where its media lives."""
        ...

    def fetch_media(self, content_id: str) -> bytes:
        """The original media bytes of a content item (also after removal)."""
        ...

    def remove_content(self, content_id: str, reason: str, idempotency_key: str) -> ActionResult:
        """Take a content item down. Removing removed content is ``no_change``."""
        ...

    def restrict_account(
        self,
        account_id: str,
        kind: RestrictionKind,
        reason: str,
        idempotency_key: str,
    ) -> ActionResult:
        """Suspend or limit an account. Never downgrades a suspension to a limit."""
        ...

    def restore_content(self, content_id: str, reason: str, idempotency_key: str) -> ActionResult:
        """Undo a removal (an appeal upheld). Restoring visible content is ``no_change``."""
        ...

    def lift_restriction(self, account_id: str, reason: str, idempotency_key: str) -> ActionResult:
        """Return a suspended or limited account to ``active`` (an appeal upheld)."""
        ...

    def notify_account(self, account_id: str, notice: AccountNotice, idempotency_key: str) -> ActionResult:
        """Deliver a notice to the account holder (a statement of reasons, an appeal decision)."""
        ...

    # -- data collection for law-enforcement requests -----------------------

    def lookup_accounts(self, kind: LookupKind, value: str) -> tuple[AccountMatch, ...]:
        """Accounts whose username, email or phone number matches ``value`` (a read, no side effects).

        Legal requests name accounts the way the requester knows them; the
        matches are candidates that legal staff confirm, never used unconfirmed.
        An identifier that matches nothing gives an empty tuple, not an error.
        """
        ...

    def subscriber_info(self, account_id: str) -> SubscriberInfo:
        """Who holds the account: contact details and registration data."""
        ...

    def posts(
        self,
        account_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[Content, ...]:
        """The account's posts created in ``[since, until)``, oldest first."""
        ...

    def ip_logins(
        self,
        account_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[LoginEvent, ...]:
        """Authentication events (IP, source port, time, event) in ``[since, until)``."""
        ...

    def devices(self, account_id: str) -> tuple[Device, ...]:
        """Devices the account has used."""
        ...

    def locations(
        self,
        account_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[Location, ...]:
        """Location records in ``[since, until)``, oldest first."""
        ...

    def hosting_details(self, content_id: str) -> HostingDetails:
        """Server, region, storage path and CDN node holding the content's media."""
        ...

    def preserve_account(self, account_id: str, idempotency_key: str) -> PreservationSnapshot:
        """Ask the platform to freeze everything it holds on the account.

        Returns the frozen snapshot; repeating the call with the same key
        returns the same snapshot rather than taking a new one.
        """
        ...
