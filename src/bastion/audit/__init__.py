"""Append-only, hash-chained audit log.

Every privileged act writes a record in the same transaction as the change it
records (`record`). `verify` walks the chain and names the first broken record;
`recent` reads it newest first.
"""

from bastion.audit.chain import AuditBroken, VerifyResult, record, verify
from bastion.audit.reading import details_of, recent

__all__ = ["AuditBroken", "VerifyResult", "details_of", "recent", "record", "verify"]
