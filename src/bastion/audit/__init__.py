"""Append-only, hash-chained audit log.

Every privileged act writes a record in the same transaction as the change it
records (`record`). `verify` walks the chain and names the first broken record.
"""

from bastion.audit.chain import AuditBroken, VerifyResult, record, verify

__all__ = ["AuditBroken", "VerifyResult", "record", "verify"]
