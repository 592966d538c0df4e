"""The command line: init, users, API keys; typed errors become one line and an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from bastion.audit.models import AuditRecord
from bastion.cli.main import app as cli
from bastion.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, database_url: str, tmp_path: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BASTION_ADMIN_PASSWORD", "the-first-admin-password")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return runner.invoke(cli, list(args))


def test_init_creates_one_admin(cli_env, db: Session) -> None:  # type: ignore[no-untyped-def]
    first = run("init")
    assert first.exit_code == 0 and "Created the first admin" in first.output
    assert "the-first-admin-password" not in first.output
    again = run("init")
    assert again.exit_code == 0 and "Created" not in again.output


def test_init_prints_a_generated_password_once(cli_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BASTION_ADMIN_PASSWORD")
    get_settings.cache_clear()
    result = run("init")
    assert result.exit_code == 0 and "Generated password" in result.output


def test_user_and_key_commands(cli_env, db: Session) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "rita", "--role", "reviewer", "--password", "reviewer-password-1").exit_code == 0
    assert run("users", "create", "uploader", "--role", "platform").exit_code == 0
    listing = run("users", "list")
    assert "rita" in listing.output and "reviewer" in listing.output
    assert run("users", "set-role", "rita", "legal").exit_code == 0
    assert run("users", "disable", "rita").exit_code == 0
    assert "disabled" in run("users", "list").output

    created = run("apikeys", "create", "--owner", "uploader", "--name", "ingest")
    assert created.exit_code == 0
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("bst_")
    assert secret not in run("apikeys", "list").output
    assert run("apikeys", "revoke", "1").exit_code == 0
    assert "revoked" in run("apikeys", "list").output
    actions = set(db.scalars(select(AuditRecord.action)))
    assert {"user.create", "user.set_role", "user.disable", "apikey.create", "apikey.revoke"} <= actions


def test_typed_errors_are_one_line(cli_env) -> None:  # type: ignore[no-untyped-def]
    bad_role = run("users", "create", "x", "--role", "wizard", "--password", "long-enough-password")
    assert bad_role.exit_code == 1 and "Unknown role 'wizard'" in bad_role.output
    missing = run("users", "disable", "ghost")
    assert missing.exit_code == 1 and "No user named 'ghost'" in missing.output
    weak = run("users", "create", "y", "--role", "auditor", "--password", "short")
    assert weak.exit_code == 1 and "at least 12" in weak.output


def test_key_lifetimes_and_refused_scopes_on_the_command_line(cli_env) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "rita", "--role", "reviewer", "--password", "reviewer-password-1").exit_code == 0
    sensitive = run("apikeys", "create", "--owner", "rita", "--name", "x", "--scope", "media.view")
    assert sensitive.exit_code == 1 and "only its owner can mint" in sensitive.output
    too_long = run("apikeys", "create", "--owner", "rita", "--name", "x", "--days", "4000")
    assert too_long.exit_code == 1 and "at most 365 days" in too_long.output
    made = run("apikeys", "create", "--owner", "rita", "--name", "x", "--days", "7")
    assert made.exit_code == 0 and "media.view" not in made.output and "expires" in made.output
    listing = run("apikeys", "list")
    assert "active" in listing.output and "expires" in listing.output


def test_reset_password_and_unlock_commands(cli_env, db: Session) -> None:  # type: ignore[no-untyped-def]
    from bastion.mail.models import MailMessage

    assert run("users", "create", "aud", "--role", "auditor", "--password", "auditor-password-1",
               "--email", "aud@example.org").exit_code == 0
    assert run("users", "create", "nomail", "--role", "auditor", "--password", "auditor-password-1").exit_code == 0
    sent = run("users", "reset-password", "aud")
    assert sent.exit_code == 0 and "aud@example.org" in sent.output and "token=" not in sent.output
    assert db.scalar(select(MailMessage.kind)) == "auth.password_reset"
    no_address = run("users", "reset-password", "nomail")
    assert no_address.exit_code == 1 and "no email address" in no_address.output
    unlocked = run("users", "unlock", "aud", "--address", "203.0.113.5")
    assert unlocked.exit_code == 0
    actions = set(db.scalars(select(AuditRecord.action)))
    assert {"auth.password_reset_requested", "auth.unlock"} <= actions
