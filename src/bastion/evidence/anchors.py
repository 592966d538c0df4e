"""Signed exports of the audit chain's head, written on a schedule to a place this host should not control.

The chain (`bastion.audit`) catches edits, but not someone who truncates its end and rewrites the
head. An anchor kept elsewhere does: `bastion audit verify --head-file` fails when the chain no
longer holds it. This module makes the signed statement (the CLI's `audit export-head` and the
`audit.export_head` timer write the same file) and checks one.

The signing key is the instance's production signing key (Ed25519), passed in: this package does
not depend on `bastion.production`.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bastion import timers
from bastion.audit.anchor import Anchor, statement
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.executor import TaskContext, registry

EXPORT_TASK = "audit.export_head"
SIGNING_KEY_SERVICE = "production.signing_key"
ANCHOR_DIR_SERVICE = "audit.anchor_dir"
ANCHOR_INTERVAL = timedelta(hours=1)


class Signer(Protocol):
    key_id: str
    public_pem: str

    def sign(self, data: bytes) -> bytes: ...


def _payload(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def signed_head(session: Session, key: Signer, *, at: datetime) -> dict[str, Any]:
    """The head as a signed statement: what `verify --head-file` reads."""
    body = statement(session, at=at)
    return {"statement": body, "key_id": key.key_id, "public_key": key.public_pem,
            "signature": base64.b64encode(key.sign(_payload(body))).decode()}


def anchor_of(document: dict[str, Any], public_key: Any) -> Anchor:
    """The anchor a signed statement vouches for, after checking its signature (`InvalidInput` if it fails)."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(base64.b64decode(document["signature"]), _payload(document["statement"]))
    except (InvalidSignature, KeyError, ValueError):
        raise InvalidInput("The head file is not signed by this instance's key; it proves nothing.") from None
    return Anchor.parse(document["statement"]["anchor"])


def write(directory: Path, document: dict[str, Any]) -> Path:
    """One file per export (never overwritten), named by chain position and time."""
    directory.mkdir(parents=True, exist_ok=True)
    seq = document["statement"]["anchor"].split(":", 1)[0]
    stamp = document["statement"]["at"].replace(":", "").replace("-", "")[:15]
    path = directory / f"head-{seq}-{stamp}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def schedule(session: Session, clock: Clock, *, at: datetime | None = None) -> None:
    """Keep one export timer alive (deduplicated: any number of processes may call this)."""
    timers.schedule(session, kind=EXPORT_TASK, due_at=at or clock.now() + ANCHOR_INTERVAL, clock=clock,
                    subject="audit:head", dedupe_key=EXPORT_TASK)


@registry.task(EXPORT_TASK)
def export_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Whichever process claims the timer writes the export, then books the next one."""
    key, directory = ctx.services.get(SIGNING_KEY_SERVICE), ctx.services.get(ANCHOR_DIR_SERVICE)
    with ctx.sessions() as session:
        if key is not None and directory:
            write(Path(directory), signed_head(session, key, at=ctx.clock.now()))
        schedule(session, ctx.clock, at=ctx.clock.now() + ANCHOR_INTERVAL)
        session.commit()
