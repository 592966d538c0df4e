"""Typed errors of the evidence vault.

Each message says what happened and what the operator or caller should do next;
the CLI prints it as is and the web layer renders it with the `code`.
"""

from __future__ import annotations

from bastion.errors import BastionError, Conflict, InvalidInput, NotFound


class EvidenceNotFound(NotFound):
    code = "evidence_not_found"


class EvidencePurged(BastionError):
    """The item exists only as a tombstone: its bytes were deleted under a retention policy."""

    code = "evidence_purged"
    status = 410


class HoldNotFound(NotFound):
    code = "evidence_hold_not_found"


class PolicyNotFound(NotFound):
    code = "retention_policy_not_found"


class InvalidEvidence(InvalidInput):
    code = "invalid_evidence"


class HeldEvidence(Conflict):
    """Deletion was asked for while a legal hold covers the item."""

    code = "evidence_held"


class RetentionActive(Conflict):
    """Deletion was asked for before the item's retention deadline."""

    code = "evidence_retention_active"


class VaultKeyError(BastionError):
    """The master key is missing, malformed, or not the one the evidence was sealed with."""

    code = "vault_key_error"
    status = 500


class TamperedEvidence(BastionError):
    """Stored ciphertext or its wrapped key fails authentication, or the plaintext hash differs."""

    code = "evidence_tampered"
    status = 500


class BlobMissing(BastionError):
    """The database knows an object the blob store does not have."""

    code = "evidence_blob_missing"
    status = 500
