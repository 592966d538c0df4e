"""Anchoring the chain outside the database, so truncating its end and rewriting the head is caught.

Someone who can write the database can drop the last records and set the head to match: the
chain still verifies. What they cannot change is a head exported earlier to a place they do not
control. `statement()` is what such an export says (position, hash, time); `check()` confirms
that the chain still holds that record, unchanged, at that position. `bastion audit export-head`
signs statements and `bastion audit verify --expect-head` / `--head-file` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.audit.chain import GENESIS
from bastion.audit.models import AuditRecord


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`SEQ:HASH` as `bastion audit export-head` prints it."""
        seq, _, digest = text.strip().partition(":")
        if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("An anchor is written SEQ:HASH, e.g. 1042:3f9a… (the 64 hex digits of the head hash).")
        return cls(int(seq), digest)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def statement(session: Session, *, at: datetime) -> dict[str, Any]:
    """What an export of the head says: its position and hash, how many records, and when."""
    last = session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    count = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
    return {"anchor": str(Anchor(last.seq, last.hash) if last else Anchor(0, GENESIS)), "records": count,
            "at": at.isoformat()}


def check(session: Session, anchor: Anchor) -> str | None:
    """Why the chain no longer holds `anchor`; None when it does."""
    if anchor.seq == 0:
        return None
    entry = session.get(AuditRecord, anchor.seq)
    if entry is None:
        newest = session.scalar(select(func.max(AuditRecord.seq))) or 0
        return (f"record {anchor.seq} is gone (the chain now ends at {newest}): its end was truncated or "
                "rewritten after this anchor was exported")
    if entry.hash != anchor.hash:
        return f"record {anchor.seq} no longer has the exported hash: the chain was rewritten up to it"
    return None
