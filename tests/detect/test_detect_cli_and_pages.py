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
    assert re.search(r"PAGE_BANK</a></td><td>Match</td><td>20</td>\s*<td>1</td>", listing.text)
    assert "a" * 64 in client.get("/banks/PAGE_BANK").text


def test_a_bank_page_finds_an_entry_by_hash_and_pages_past_ten_thousand(  # type: ignore[no-untyped-def]
        client: TestClient, user_factory, clock, sessions) -> None:
    """Keyset pages, newest first, all the way through; a hash search reads the (type, value) index."""
    from sqlalchemy import insert, select

    from bastion.banks import browse
    from bastion.banks import service as banks
    from bastion.banks.models import BankEntry, EntrySignal

    total = 10_050
    with sessions() as session:
        bank = banks.create_bank(session, name="BIG", actor="test", clock=clock)
        session.flush()
        session.execute(insert(BankEntry), [{"id": n, "bank_id": bank.id, "added_at": clock.now()}
                                            for n in range(1, total + 1)])
        session.execute(insert(EntrySignal), [{"entry_id": n, "bank_id": bank.id, "signal_type": "md5",
                                               "value": f"{n:032x}"} for n in range(1, total + 1)])
        session.commit()
        seen, cursor = [], None
        while True:
            page = browse.entries_page(session, bank, cursor=cursor, limit=500)
            seen += [entry.id for entry, _ in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == list(range(total, 0, -1))
    csrf = api_login(client, user_factory(Role.REVIEWER), clock)
    assert csrf
    first = client.get("/banks/BIG")
    assert first.status_code == 200 and f"{total:032x}" in first.text and 'id="next-page"' in first.text
    second = client.get(re.search(r'href="([^"]+)" id="next-page"', first.text).group(1).replace("&amp;", "&"))
    assert f"{total - 100:032x}" in second.text and f"{total:032x}" not in second.text
    found = client.get("/banks/BIG", params={"q": f"{7777:032X}"})
    assert found.status_code == 200 and f"{7777:032x}" in found.text and f"{7778:032x}" not in found.text
    assert "No entry of this bank holds" in client.get("/banks/BIG", params={"q": "f" * 32}).text
    refused = client.get("/banks/BIG", params={"q": "not-a-hash"})
    assert refused.status_code == 422 and "Search by one whole hash" in refused.text
    with sessions() as session:
        assert session.scalar(select(EntrySignal.entry_id).where(EntrySignal.value == f"{7777:032x}")) == 7777
