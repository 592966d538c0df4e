"""The one door to the host platform: the connector protocol, the signed HTTP connector, request signing.

Bastion code depends on :class:`PlatformConnector` and the typed models and
errors re-exported here; :class:`HttpPlatformConnector` implements it over the
signed REST contract (docs/platform-contract.md). The runnable
reference platform for development and tests lives in ``bastion.dev.platform``.

This package imports nothing else from Bastion, so it can be vendored by a
platform team that wants to reuse the signing code.
"""

from bastion.platform.connector import PlatformConnector
from bastion.platform.errors import (
    NotFoundOnPlatform,
    PlatformError,
    PlatformRejected,
    PlatformResponseInvalid,
    PlatformUnavailable,
)
from bastion.platform.http_connector import HttpPlatformConnector, SigningAuth
from bastion.platform.models import (
    Account,
    AccountMatch,
    AccountNotice,
    AccountStatus,
    ActionOutcome,
    ActionResult,
    Content,
    ContentStatus,
    Device,
    HostingDetails,
    Location,
    LoginEvent,
    LookupKind,
    PreservationSnapshot,
    RestrictionKind,
    SubscriberInfo,
)
from bastion.platform.signing import (
    RequestSigner,
    SignatureError,
    SignatureVerifier,
    derive_idempotency_key,
    new_idempotency_key,
)

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
    "HttpPlatformConnector",
    "Location",
    "LoginEvent",
    "LookupKind",
    "NotFoundOnPlatform",
    "PlatformConnector",
    "PlatformError",
    "PlatformRejected",
    "PlatformResponseInvalid",
    "PlatformUnavailable",
    "PreservationSnapshot",
    "RequestSigner",
    "RestrictionKind",
    "SignatureError",
    "SignatureVerifier",
    "SigningAuth",
    "SubscriberInfo",
    "derive_idempotency_key",
    "new_idempotency_key",
]
