"""Handing messages to an SMTP server, and the `MailSender` protocol every transport meets.

One connection per message: Bastion's mail is a trickle (acknowledgements, reminders),
and a fresh connection per send means no pooled connection to go stale between ticks
and no state shared between worker threads.

Credentials never reach a log line, an error message or a `repr`: errors carry the
server's reply code and text, which does not echo them. smtplib's debug output (which
would print the AUTH exchange) is never switched on.
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any, Literal, Protocol

from bastion.mail.addresses import check_mailbox
from bastion.mail.errors import MailDeliveryError, MailRejected, MailUnavailable

SmtpSecurity = Literal["starttls", "tls", "none"]


class MailSender(Protocol):
    """A transport: the From address it sends as, and a way to hand over one composed message."""

    @property
    def sender(self) -> Address: ...

    def send(self, message: EmailMessage) -> dict[str, Any]:
        """Hand `message` over; return a small JSON receipt, or raise `MailUnavailable`/`MailRejected`."""
        ...


class SmtpSender:
    """Delivers over SMTP to one server (usually the organisation's relay).

    `security`: "starttls" (default; the server must offer STARTTLS, or nothing is sent),
    "tls" (implicit TLS, usually port 465), or "none" (plain text; only for a relay on
    the same host). Certificates are checked against the system's trust store unless an
    `ssl_context` says otherwise.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        from_address: str,
        security: SmtpSecurity = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError("security must be 'starttls', 'tls' or 'none'")
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self._sender = check_mailbox(from_address)
        self._username, self._password = username, password
        self._ssl_context = ssl_context

    @property
    def sender(self) -> Address:
        return self._sender

    def __repr__(self) -> str:
        login = f", username={self._username!r}, password='**********'" if self._username else ""
        return f"SmtpSender({self.host!r}, {self.port}, security={self.security!r}{login})"

    def send(self, message: EmailMessage) -> dict[str, Any]:
        """Send `message`; refused recipients (when others were accepted) come back in the receipt."""
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._describe(exc, "connecting") from None
        try:
            self._secure_and_log_in(smtp)
            refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._describe(exc, "sending") from None
        finally:
            _close_quietly(smtp)
        receipt: dict[str, Any] = {"server": f"{self.host}:{self.port}"}
        if refused:
            receipt["refused"] = {rcpt: _reply(code, text) for rcpt, (code, text) in refused.items()}
        return receipt

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _secure_and_log_in(self, smtp: smtplib.SMTP) -> None:
        if self.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise MailUnavailable(
                    f"SMTP server {self.host}:{self.port} does not offer STARTTLS; refusing to send in the clear "
                    "(use security='tls' for port 465, or 'none' only for a relay on this host)"
                )
            smtp.starttls(context=self._context())
            smtp.ehlo()
        if self._username is not None and self._password is not None:
            smtp.login(self._username, self._password)

    def _describe(self, exc: BaseException, doing: str) -> MailDeliveryError:
        """The typed error for `exc`, worded with the server's reply and never with our credentials."""
        where = f"SMTP server {self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            replies = {rcpt: _reply(code, text) for rcpt, (code, text) in exc.recipients.items()}
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            error = MailRejected if permanent else MailUnavailable
            return error(f"{where} refused every recipient: {replies}")
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            # Wrong credentials are a configuration fault: retried (and so dead-lettered in
            # time) rather than dropped at once, so fixing the setting lets queued mail out.
            return MailUnavailable(f"{where} did not accept our login: {_reply(exc.smtp_code, exc.smtp_error)}")
        if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
            error = MailRejected if exc.smtp_code >= 500 else MailUnavailable
            return error(f"{where} refused the message: {_reply(exc.smtp_code, exc.smtp_error)}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return MailUnavailable(f"{where} answered {_reply(exc.smtp_code, exc.smtp_error)} while {doing}")
        return MailUnavailable(f"{where} could not be reached or dropped the connection while {doing}: "
                               f"{type(exc).__name__}: {exc}")


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {message}"[:300]


def _close_quietly(smtp: smtplib.SMTP) -> None:
    """QUIT, ignoring failures: once DATA was accepted the message is delivered, whatever QUIT does."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
