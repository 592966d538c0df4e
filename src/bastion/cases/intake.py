"""From a scan's matches to a case, keeping the matched media for review.

The media of a matched upload is kept in the evidence vault at once (encrypted), so
review never depends on the upload still being on the platform; when a match is
found later (a rescan), the platform connector is asked for the media instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bastion.cases import autoaction
from bastion.cases.models import CaseItem
from bastion.cases.service import open_or_extend
from bastion.clock import Clock
from bastion.scanning.models import Scan


class MediaStore(Protocol):
    """Where reviewers' media comes from."""

    def keep(self, session: Session, data: bytes, *, scan: Scan) -> str: ...

    def load(self, session: Session, item: CaseItem, *, actor: str, reason: str) -> bytes | None: ...


class CaseOpener:
    """A scanner listener: every match opens or extends the uploading account's case."""

    def __init__(self, media: MediaStore | None, clock: Clock) -> None:
        self.media, self.clock = media, clock

    def __call__(self, session: Session, scan: Scan, matches: Sequence[Any], data: bytes | None) -> None:
        ref = self.media.keep(session, data, scan=scan) if (self.media is not None and data) else ""
        case = open_or_extend(session, account_id=scan.account_id, scan_id=scan.id, content_id=scan.content_id,
                              matches=matches, media_ref=ref, clock=self.clock)
        autoaction.apply(session, case, scan, matches, clock=self.clock)
