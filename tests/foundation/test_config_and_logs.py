"""Settings from environment and TOML, masked when shown; secrets never reach a log line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app as cli
from bastion.config import Settings, get_settings, masked_settings
from bastion.logs import JsonFormatter


def test_environment_then_toml_then_defaults(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "bastion.toml"
    toml.write_text('port = 9001\nsession_hours = 3\nsecret_key = "from-the-file"\n')
    monkeypatch.setenv("BASTION_CONFIG_FILE", str(toml))
    monkeypatch.setenv("BASTION_PORT", "9002")
    settings = Settings()
    assert settings.port == 9002  # environment wins over the file
    assert settings.session_hours == 3  # the file wins over the default
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "from-the-file"
    assert settings.login_max_failures == 5


def test_masked_settings_hide_secrets_and_url_passwords() -> None:
    settings = Settings(secret_key="s3cr3t-value", admin_password="pw-value-123",
                        database_url="postgresql://u:dbpassword@h/db")
    shown = json.dumps(masked_settings(settings))
    assert "s3cr3t-value" not in shown and "pw-value-123" not in shown and "dbpassword" not in shown
    assert masked_settings(settings)["secret_key"] == "**********"


def test_config_show_command_masks(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BASTION_SECRET_KEY", "top-secret-key-value")
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["config", "show", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0
    assert "top-secret-key-value" not in result.output
    assert json.loads(result.output)["secret_key"] == "**********"


def test_secret_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.secret_key_bytes()
    assert first == Settings(data_dir=tmp_path).secret_key_bytes()
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_json_logs_redact_secrets() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "connecting to postgresql://u:pw1234@h/db with %s",
                               ("bst_0123abcd_SECRETSECRETSECRET",), None)
    record.password = "hunter2"
    record.headers = {"Authorization": "Bearer x", "accept": "json"}
    line = JsonFormatter().format(record)
    assert "pw1234" not in line and "SECRETSECRETSECRET" not in line and "hunter2" not in line
    parsed = json.loads(line)
    assert parsed["headers"]["accept"] == "json" and parsed["headers"]["Authorization"] == "**********"


def test_config_show_masks_credentials_in_every_url_setting() -> None:
    settings = Settings(platform_url="https://svc:platform-pw@platform.example/api",
                        evidence_store_url="s3://AKIAKEY:s3cret-key@bucket/vault")
    shown = json.dumps(masked_settings(settings))
    assert "platform-pw" not in shown and "s3cret-key" not in shown and "svc" not in shown
    assert "platform.example/api" in shown and "bucket/vault" in shown
