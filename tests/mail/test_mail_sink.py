"""The local sink (`make run` mail) and building a sender from the environment."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.executor import TaskContext
from bastion.mail import (
    MAIL_SENDER,
    MailConfig,
    MailMessage,
    MailStatus,
    SinkSender,
    SmtpSender,
    read_sink,
    requeue,
    run_send,
)
from tests.mail.helpers import add_mail, row


def test_the_sink_keeps_each_message_once_as_an_eml_file(lite: sessionmaker[Session], clock: ManualClock,
                                                         tmp_path: Path) -> None:
    sink = tmp_path / "mail-sink"
    assert read_sink(sink) == []
    ctx = TaskContext(sessions=lite, clock=clock, services={MAIL_SENDER: SinkSender(sink)})
    first = add_mail(lite, clock, html="<p>Received.</p>")
    clock.advance(timedelta(seconds=1))
    second = add_mail(lite, clock, to="other@police.example", subject="Anfrage \u2013 Eingang best\u00e4tigt",
                      text="Gr\u00fc\u00dfe aus M\u00fcnchen \u2014 \u0928\u092e\u0938\u094d\u0924\u0947")
    assert run_send(ctx).sent == [first, second]

    messages = read_sink(sink)
    assert [m.subject for m in messages] == ["Request LE-2026-0012 received", "Anfrage \u2013 Eingang best\u00e4tigt"]
    assert messages[1].text.strip() == "Gr\u00fc\u00dfe aus M\u00fcnchen \u2014 \u0928\u092e\u0938\u094d\u0924\u0947"
    assert messages[0].message_id == row(lite, first).message_id
    assert messages[0].to == ("officer@police.example",)
    assert "will answer by 12 January" in messages[0].text and messages[0].html == "<p>Received.</p>\n"
    assert messages[1].html is None and messages[1].sender == "Bastion <bastion@localhost>"
    assert stat.S_IMODE(messages[0].path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sink.stat().st_mode) == 0o700

    with lite() as session:  # a resend (forced here by hand) rewrites the same file
        session.get_one(MailMessage, first).status = MailStatus.DEAD
        session.commit()
    with lite() as session:
        requeue(session, first, actor="user:admin", clock=clock)
        session.commit()
    assert run_send(ctx).sent == [first]
    assert len(read_sink(sink)) == 2


def mail_config(monkeypatch: pytest.MonkeyPatch, data_dir: Path, env: dict[str, str]) -> MailConfig:
    """The typed mail configuration of a process started with exactly these mail variables."""
    for name in ("MAIL_BACKEND", "MAIL_FROM", "MAIL_SINK_DIR", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY",
                 "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TIMEOUT_SECONDS"):
        monkeypatch.delenv(f"BASTION_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return MailConfig.from_settings(Settings(data_dir=data_dir))


def test_the_environment_picks_the_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = mail_config(monkeypatch, tmp_path, {}).sender()
    assert isinstance(default, SinkSender) and default.directory == tmp_path / "mail-sink"
    assert mail_config(monkeypatch, tmp_path, {"BASTION_MAIL_BACKEND": "off"}).sender() is None
    config = mail_config(monkeypatch, tmp_path, {
        "BASTION_MAIL_BACKEND": "smtp", "BASTION_SMTP_HOST": "relay.example.org", "BASTION_SMTP_PORT": "465",
        "BASTION_SMTP_SECURITY": "tls", "BASTION_SMTP_USERNAME": "bastion", "BASTION_SMTP_PASSWORD": "hunter2-long",
        "BASTION_MAIL_FROM": "Legal Desk <legal@example.org>", "BASTION_SMTP_TIMEOUT_SECONDS": "12.5",
    })
    smtp = config.sender()
    assert isinstance(smtp, SmtpSender) and (smtp.host, smtp.port, smtp.security) == ("relay.example.org", 465, "tls")
    assert smtp.sender.addr_spec == "legal@example.org" and config.smtp_timeout == 12.5
    assert "hunter2" not in repr(config) and "hunter2" not in repr(smtp)
    with pytest.raises(ValueError, match="BASTION_SMTP_HOST"):
        mail_config(monkeypatch, tmp_path, {"BASTION_MAIL_BACKEND": "smtp"}).sender()
    with pytest.raises(ValueError, match="BASTION_MAIL_BACKEND"):
        MailConfig(backend="pigeon").sender()
    with pytest.raises(ValueError, match="mail_backend"):  # the settings refuse it before any sender is built
        mail_config(monkeypatch, tmp_path, {"BASTION_MAIL_BACKEND": "pigeon"})
