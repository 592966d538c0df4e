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
