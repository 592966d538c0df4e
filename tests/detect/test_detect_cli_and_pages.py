"""The detection command line and the bank pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bastion.auth.roles import Role
from bastion.cli.main import app as cli
from bastion.config import get_settings
from bastion.media import hash_media
from tests.conftest import api_login
from tests.detect.images import jpeg

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, sqlite_url: str, tmp_path: Path) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BASTION_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_hash_prints_every_hash_and_refuses_bad_files(cli_env: Path) -> None:
    good, bad = cli_env / "a.jpg", cli_env / "b.jpg"
    good.write_bytes(jpeg(1))
    bad.write_bytes(b"not an image at all")
    result = runner.invoke(cli, ["hash", "--json", str(good), str(bad)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = hash_media(jpeg(1))
    assert rows[0]["pdq"] == expected.pdq and rows[0]["sha256"] == expected.sha256
    assert rows[1]["error"] == "unsupported_media"


def test_banks_import_export_and_folder_scan(cli_env: Path) -> None:
    listing = cli_env / "list.txt"
    listing.write_text(f"pdq {hash_media(jpeg(2)).pdq}\nmd5 {'0' * 31}\nmd5 {hash_media(jpeg(3)).md5}\n")
    assert runner.invoke(cli, ["banks", "create", "KNOWN", "--source", "industry"]).exit_code == 0
    imported = runner.invoke(cli, ["banks", "import", "KNOWN", str(listing)])
    assert imported.exit_code == 0 and "2 imported" in imported.output and "line 2" in imported.output
    atomic = runner.invoke(cli, ["banks", "import", "KNOWN", str(listing), "--atomic"])
    assert atomic.exit_code == 1 and "Nothing was imported" in atomic.output
    exported = runner.invoke(cli, ["banks", "export", "KNOWN"])
    assert exported.stdout.count("\n") == 2

    folder = cli_env / "uploads"
    (folder / "nested").mkdir(parents=True)
    (folder / "rotated.jpg").write_bytes(jpeg(2, "rotated"))
    (folder / "nested" / "copy.jpg").write_bytes(jpeg(3))
    (folder / "other.jpg").write_bytes(jpeg(50))
    scanned = runner.invoke(cli, ["scan", "--json", str(folder)])
    assert scanned.exit_code == 0, scanned.output
    results = {Path(r["file"]).name: r for r in map(json.loads, scanned.stdout.splitlines())}
    assert results["rotated.jpg"]["result"] == "match" and results["copy.jpg"]["result"] == "match"
    assert results["other.jpg"]["result"] == "no match"
    assert runner.invoke(cli, ["rescan", "--since", "2000-01-01"]).exit_code == 0


def test_bank_pages_list_and_import(client: TestClient, user_factory, clock) -> None:  # type: ignore[no-untyped-def]
    admin = user_factory(Role.ADMIN)
    csrf = api_login(client, admin, clock)
    created = client.post("/banks", data={"name": "PAGE_BANK", "kind": "match", "pdq_threshold": "20",
                                          "csrf_token": csrf}, follow_redirects=False)
    assert created.status_code == 303
    page = client.post("/banks/PAGE_BANK/import", data={"format": "te", "csrf_token": csrf},
                       files={"file": ("l.txt", f"pdq {'a' * 64}\npdq oops\n".encode())})
    assert page.status_code == 200 and "1 imported" in page.text and "line 2" in page.text
    listing = client.get("/banks")
    assert re.search(r"PAGE_BANK</a></td><td>match</td><td>20</td>\s*<td>1</td>", listing.text)
    assert "a" * 64 in client.get("/banks/PAGE_BANK").text
