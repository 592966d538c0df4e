"""The mail transport's typed configuration, taken from :class:`~bastion.config.Settings`.

    BASTION_MAIL_BACKEND          "sink" (default: .eml files, nothing leaves the machine), "smtp", or "off"
    BASTION_MAIL_FROM             the From address, e.g. "Legal Desk <legal@example.org>"
    BASTION_MAIL_SINK_DIR         where the sink writes (default <data_dir>/mail-sink)
    BASTION_SMTP_HOST, BASTION_SMTP_PORT (587)
    BASTION_SMTP_SECURITY         "starttls" (default), "tls" (implicit, port 465) or "none"
    BASTION_SMTP_USERNAME, BASTION_SMTP_PASSWORD
    BASTION_SMTP_TIMEOUT_SECONDS  (30)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from bastion.config import Settings
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
    def from_settings(cls, settings: Settings) -> MailConfig:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        return cls(
            backend=settings.mail_backend.strip().lower() or "sink",
            from_address=settings.mail_from or DEFAULT_FROM,
            sink_dir=Path(settings.mail_sink_dir or settings.data_dir / "mail-sink"),
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_security=settings.smtp_security.strip().lower() or "starttls",
            smtp_username=settings.smtp_username or None,
            smtp_password=password or None,
            smtp_timeout=settings.smtp_timeout_seconds,
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
