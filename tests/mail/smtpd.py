"""A real SMTP server on loopback (aiosmtpd) that collects what it is sent.

It can be stopped and started again on the same port (to play a relay outage), told to
refuse recipients, require a login, or offer STARTTLS with a throwaway certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
USERNAME, PASSWORD = "bastion-relay", "relay-pass-7f3c9b1e5d"

# The test server's own debug log echoes the AUTH exchange; it is not Bastion's log.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Collector:
    """The aiosmtpd handler: keeps each accepted message; refuses recipients it is told to."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USERNAME.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class LocalSmtp:
    """One SMTP server on a fixed loopback port, which tests start and stop."""

    def __init__(self, *, login: bool = False, tls: ssl.SSLContext | None = None) -> None:
        self.port = free_port()
        self.handler = Collector()
        self._login, self._tls = login, tls
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self._login:
            kwargs.update(authenticator=_authenticate, auth_required=True, auth_require_tls=self._tls is not None)
        if self._tls is not None:
            kwargs.update(tls_context=self._tls, require_starttls=True)
        self._controller = Controller(self.handler, hostname=HOST, port=self.port, ready_timeout=10, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context trusting only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bastion test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.crt", directory / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client
