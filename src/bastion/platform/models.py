"""Return types of :class:`~bastion.platform.connector.PlatformConnector`.

The models are the JSON bodies of the REST contract (docs/platform-contract.md)
one-to-one, so the same classes parse responses in Bastion and render them in
the demo platform.

They are frozen (evidence must not be mutated after collection) and ignore
unknown fields, so a platform can add fields without breaking Bastion.
Timestamps must carry a timezone: a naive timestamp in a law-enforcement
disclosure is ambiguous, so it is rejected rather than guessed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, IPvAnyAddress

__all__ = [
    "Account",
    "AccountMatch",
    "AccountNotice",
    "AccountStatus",
    "ActionOutcome",
    "ActionResult",
    "Content",
    "ContentStatus",
    "Device",
    "HostingDetails",
    "Location",
    "LoginEvent",
    "LookupKind",
    "PreservationSnapshot",
    "RestrictionKind",
    "SubscriberInfo",
]

AccountStatus = Literal["active", "limited", "suspended"]
ContentStatus = Literal["visible", "removed"]
RestrictionKind = Literal["suspend", "limit"]
ActionOutcome = Literal["applied", "no_change"]
LookupKind = Literal["username", "email", "phone"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Account(_Model):
    """What moderation needs to know about an account -- deliberately no PII.

    Contact details live in :class:`SubscriberInfo`, fetched only for a
    law-enforcement request, so routine moderation never handles them.
    """

    account_id: str
    username: str
    display_name: str
    status: AccountStatus
    created_at: AwareDatetime


class AccountMatch(_Model):
    """An account that an identifier from a legal request (username, email, phone) matches.

    Like :class:`Account` it carries no contact details: the platform says *which*
    account matched and on what, and legal staff confirm the match before it becomes
    one of the request's accounts. ``matched_on`` is the kind of identifier that matched.
    """

    account_id: str
    username: str
    display_name: str
    status: AccountStatus
    created_at: AwareDatetime
    matched_on: LookupKind


class Content(_Model):
    """One content item (a post with at most one media attachment).

    ``media_url`` is informational (absolute, or relative to the connector's
    base URL as sent by the platform); fetch the bytes with
    :meth:`PlatformConnector.fetch_media`, which is authenticated.
    """

    content_id: str
    account_id: str
    created_at: AwareDatetime
    status: ContentStatus
    text: str = ""
    links: tuple[str, ...] = ()
    media_url: str | None = None
    media_type: str | None = None
    media_size: int | None = Field(default=None, ge=0)
    media_sha256: str | None = None


class ActionResult(_Model):
    """The platform's receipt for a remove/restrict/preserve action.

    ``replayed`` is set by the connector (from the ``Idempotent-Replayed``
    response header), not by the platform's JSON: it tells the caller this
    receipt is the stored answer to an earlier request with the same key.
    """

    action_id: str
    action: Literal["remove_content", "restrict_account", "restore_content", "lift_restriction", "notify_account"]
    target_id: str
    outcome: ActionOutcome
    status: str
    performed_at: AwareDatetime
    replayed: bool = False


class AccountNotice(_Model):
    """A message the platform shows its user: a statement of reasons, or an appeal's decision.

    Bastion writes the words; the platform only delivers them (in-app, by mail, however it
    reaches its users). ``reference`` lets the user quote it back in an appeal.
    """

    kind: Literal["statement_of_reasons", "appeal_decision"]
    reference: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    facts: dict[str, str] = Field(default_factory=dict)


class SubscriberInfo(_Model):
    """Basic subscriber information for a legal request (who holds the account)."""

    account_id: str
    username: str
    display_name: str
    email: str | None = None
    phone: str | None = None
    created_at: AwareDatetime
    status: AccountStatus
    registration_ip: IPvAnyAddress | None = None


class LoginEvent(_Model):
    """One authentication event.

    ``port`` is the client's *source* port: behind carrier-grade NAT an IP
    alone does not identify a subscriber, the (ip, port, timestamp) triple does.
    """

    ip: IPvAnyAddress
    port: int | None = Field(default=None, ge=0, le=65535)
    timestamp: AwareDatetime
    event: str
    user_agent: str | None = None


class Device(_Model):
    device_id: str
    platform: str
    model: str | None = None
    first_seen_at: AwareDatetime
    last_seen_at: AwareDatetime


class Location(_Model):
    timestamp: AwareDatetime
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)
    source: str


class HostingDetails(_Model):
    """Where the platform physically stores a content item's media."""

    content_id: str
    server_id: str
    datacenter: str
    region: str
    storage_path: str
    cdn_node: str | None = None


class PreservationSnapshot(_Model):
    """Everything the platform holds on an account, frozen at ``preserved_at``.

    The platform keeps this snapshot even if the account or its content is
    later deleted; ``preservation_id`` is the reference to quote in the
    follow-up legal process.
    """

    preservation_id: str
    account_id: str
    preserved_at: AwareDatetime
    subscriber: SubscriberInfo
    posts: tuple[Content, ...]
    logins: tuple[LoginEvent, ...]
    devices: tuple[Device, ...]
    locations: tuple[Location, ...]
    hosting: tuple[HostingDetails, ...]
    replayed: bool = False
