"""A sender that writes each message as an .eml file in a folder, and a reader for that folder.

The embedded default (`make run`): mail "sent" by a local instance lands where a
developer can open it in any mail client or read it with `read_sink`, and nothing
leaves the machine. A retried message overwrites its own file (the name comes from its
Date and Message-ID, both fixed per message), so the folder holds each message once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from bastion.mail.addresses import check_mailbox
from bastion.mail.errors import MailUnavailable

DEFAULT_FROM = "Bastion <bastion@localhost>"


class SinkSender:
    """Writes messages to `directory` (created owner-only: mail may name people and cases)."""

    def __init__(self, directory: Path, *, from_address: str = DEFAULT_FROM) -> None:
        self.directory = Path(directory)
        self._sender = check_mailbox(from_address)

    @property
    def sender(self) -> Address:
        return self._sender

    def __repr__(self) -> str:
        return f"SinkSender({str(self.directory)!r})"

    def send(self, message: EmailMessage) -> dict[str, Any]:
        name = sink_file_name(message)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".eml")
            with os.fdopen(fd, "wb") as handle:  # mkstemp makes it 0600
                handle.write(message.as_bytes(policy=policy.SMTP))
            os.replace(temp, self.directory / name)
        except OSError as exc:
            raise MailUnavailable(f"cannot write to the mail sink {self.directory}: {exc.strerror}") from None
        return {"sink": str(self.directory / name)}


def sink_file_name(message: EmailMessage) -> str:
    """`<date>-<hash of Message-ID>.eml`: sorts by date, and is the same on every retry."""
    date = parsedate_to_datetime(str(message["Date"]))
    digest = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:16]
    return f"{date:%Y%m%dT%H%M%S}-{digest}.eml"


@dataclass(frozen=True)
class SinkMessage:
    """One message found in a sink folder."""

    path: Path
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    date: datetime
    text: str
    html: str | None


def read_sink(directory: Path) -> list[SinkMessage]:
    """Every message in the sink, oldest first (an empty list if nothing was sent yet)."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return [_read(path) for path in sorted(folder.glob("*.eml")) if not path.name.startswith(".")]


def _read(path: Path) -> SinkMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)  # the default policy's message class
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    return SinkMessage(
        path=path,
        message_id=str(message["Message-ID"]),
        sender=str(message["From"]),
        to=tuple(address.addr_spec for address in message["To"].addresses),
        subject=str(message["Subject"]),
        date=parsedate_to_datetime(str(message["Date"])),
        text=str(text.get_content()) if isinstance(text, EmailMessage) else "",
        html=str(html.get_content()) if isinstance(html, EmailMessage) and html is not text else None,
    )
