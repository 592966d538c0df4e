"""`bastion production ...`: verify (exit 0/1, naming the altered file), public-key, new-key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bastion.cli.production import production_app
from bastion.config import get_settings
from bastion.production import ENV_SIGNING_KEY_FILE, SigningKey
from tests.production.zips import rewrite

runner = CliRunner()


@pytest.fixture
def key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The instance's signing key file, pointed at by the environment."""
    path = tmp_path / "keys" / "production-signing.pem"
    monkeypatch.setenv(ENV_SIGNING_KEY_FILE, str(path))
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return runner.invoke(production_app, list(args))


def test_verify_says_ok_or_names_the_altered_file(package: bytes, signer: SigningKey, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text(signer.public_pem)
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(package)
    bad.write_bytes(rewrite(package, lambda f: f.update({"data/posts.csv": f["data/posts.csv"] + b"9003,x\r\n"})))

    result = run("verify", str(good), "--public-key", str(tmp_path / "key.pem"))
    assert result.exit_code == 0, result.output
    assert f"signed by key {signer.key_id}" in result.output and "intact" in result.output

    result = run("verify", str(bad), "--public-key", str(tmp_path / "key.pem"))
    assert result.exit_code == 1
    assert "FileTampered" in result.output and "data/posts.csv" in result.output and "NOT VALID" in result.output


def test_verify_defaults_to_this_instances_key(package: bytes, signer: SigningKey, key_file: Path,
                                               tmp_path: Path) -> None:
    (tmp_path / "good.zip").write_bytes(package)
    result = run("verify", str(tmp_path / "good.zip"))
    assert result.exit_code == 1 and "No production signing key" in result.output  # none yet: a sentence, no traceback

    assert run("new-key").exit_code == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    result = run("verify", str(tmp_path / "good.zip"))
    assert result.exit_code == 1 and "SignatureInvalid" in result.output  # signed by another key

    result = run("public-key")
    assert result.exit_code == 0 and result.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert result.stdout == SigningKey.load(key_file).public_pem

    again = run("new-key")
    assert again.exit_code == 1 and "never overwritten" in again.output
