"""Building the mail sender from the environment, until Settings grows mail fields.

    BASTION_MAIL_BACKEND          "sink" (default: .eml files, nothing leaves the machine), "smtp", or "off"
    BASTION_MAIL_FROM             the From address, e.g. "Legal Desk <legal@example.org>"
    BASTION_MAIL_SINK_DIR         where the sink writes (default <data_dir>/mail-sink)
    BASTION_SMTP_HOST, BASTION_SMTP_PORT (587)
    BASTION_SMTP_SECURITY         "starttls" (default), "tls" (implicit, port 465) or "none"
    BASTION_SMTP_USERNAME, BASTION_SMTP_PASSWORD
    BASTION_SMTP_TIMEOUT_SECONDS  (30)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from bastion.mail.sink import DEFAULT_FROM, SinkSender
from bastion.mail.smtp import MailSender, SmtpSecurity, SmtpSender

_BACKENDS = ("sink", "smtp", "off")


@dataclass(frozen=True)
class MailConfig:
    """Which transport carries Bastion's mail; `sender()` builds it (None when mail is off)."""

    backend: str = "sink"
    from_address: str = DEFAULT_FROM
    sink_dir: Path = Path("var/mail-sink")
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: float = 30.0

    @classmethod
    def from_environ(cls, data_dir: Path, environ: Mapping[str, str] = os.environ) -> MailConfig:
        return cls(
            backend=environ.get("BASTION_MAIL_BACKEND", "sink").strip().lower() or "sink",
            from_address=environ.get("BASTION_MAIL_FROM") or DEFAULT_FROM,
            sink_dir=Path(environ.get("BASTION_MAIL_SINK_DIR") or data_dir / "mail-sink"),
            smtp_host=environ.get("BASTION_SMTP_HOST", ""),
            smtp_port=int(environ.get("BASTION_SMTP_PORT") or 587),
            smtp_security=(environ.get("BASTION_SMTP_SECURITY") or "starttls").strip().lower(),
            smtp_username=environ.get("BASTION_SMTP_USERNAME") or None,
            smtp_password=environ.get("BASTION_SMTP_PASSWORD") or None,
            smtp_timeout=float(environ.get("BASTION_SMTP_TIMEOUT_SECONDS") or 30.0),
        )

    def sender(self) -> MailSender | None:
        """The configured transport; raises `ValueError` with what to fix when the config is incomplete."""
        if self.backend not in _BACKENDS:
            raise ValueError(f"BASTION_MAIL_BACKEND must be one of {', '.join(_BACKENDS)}, not {self.backend!r}")
        if self.backend == "off":
            return None
        if self.backend == "sink":
            return SinkSender(self.sink_dir, from_address=self.from_address)
        if not self.smtp_host:
            raise ValueError("BASTION_MAIL_BACKEND=smtp needs BASTION_SMTP_HOST")
        return SmtpSender(
            self.smtp_host, self.smtp_port, from_address=self.from_address,
            security=cast(SmtpSecurity, self.smtp_security), username=self.smtp_username,
            password=self.smtp_password, timeout=self.smtp_timeout,
        )
