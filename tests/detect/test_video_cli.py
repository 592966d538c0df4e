"""`bastion banks import/export`, `bastion scan` and `bastion hash` with videos, and the decoder's progress reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app as cli
from bastion.config import get_settings
from bastion.media.video_isolation import hash_video_untrusted
from tests.media._videos import Clip, trimmed, write_clip

runner = CliRunner()
ORIGINAL = Clip(seed=61, seconds=6, width=192, height=144)


@pytest.fixture
def cli_env(monkeypatch, sqlite_url: str, tmp_path: Path) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BASTION_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_a_banked_video_list_is_imported_exported_and_matched_by_a_folder_scan(cli_env: Path) -> None:
    original = write_clip(cli_env / "original.mp4", ORIGINAL)
    hashed = runner.invoke(cli, ["hash", "--json", str(original)])
    assert hashed.exit_code == 0, hashed.output
    signal = json.loads(hashed.stdout)["vpdq"]
    listing = cli_env / "videos.txt"
    listing.write_text(f"vpdq {signal}\nvideo_md5 {json.loads(hashed.stdout)['md5']}\n")
    assert runner.invoke(cli, ["banks", "create", "VIDEOS"]).exit_code == 0
    imported = runner.invoke(cli, ["banks", "import", "VIDEOS", str(listing)])
    assert imported.exit_code == 0 and "2 imported" in imported.output, imported.output
    exported = runner.invoke(cli, ["banks", "export", "VIDEOS"]).stdout.splitlines()
    assert f"vpdq {signal}" in exported and len(exported) == 2

    folder = cli_env / "uploads"
    folder.mkdir()
    write_clip(folder / "copy.avi", replace(trimmed(ORIGINAL, 0.5, 1.0), codec="mpeg4", container="avi"))
    write_clip(folder / "other.mp4", replace(ORIGINAL, seed=62))
    (folder / "notes.txt").write_text("not media, not walked")
    scanned = runner.invoke(cli, ["scan", "--json", str(folder)])
    assert scanned.exit_code == 0, scanned.output
    results = {Path(r["file"]).name: r for r in map(json.loads, scanned.stdout.splitlines())}
    assert set(results) == {"copy.avi", "other.mp4"}
    (match,) = results["copy.avi"]["matches"]
    assert match["signal_type"] == "vpdq" and match["query_match_percent"] >= 80 and match["query_ranges"]
    assert results["other.mp4"]["result"] == "no match"


def test_the_isolated_decoder_reports_its_progress(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "long.mp4", replace(ORIGINAL, seconds=10, fps=25))
    seen: list[tuple[int, float, float | None]] = []
    hashes = hash_video_untrusted(path, progress=lambda *values: seen.append(values))
    assert seen[0][0] == 0 and seen[0][2] == pytest.approx(10.0, abs=0.2)  # first: the declared duration
    assert len(seen) >= 3 and [s[0] for s in seen] == sorted(s[0] for s in seen)
    assert 0 < seen[-1][1] <= 10.0 and seen[-1][0] <= hashes.frames_decoded == 250


def test_the_video_bar_is_sized_by_the_declared_duration() -> None:
    import io

    from rich.console import Console
    from rich.progress import BarColumn, Progress

    from bastion.cli.detect import _VideoBar

    out = io.StringIO()
    with Progress(BarColumn(), console=Console(file=out, force_terminal=True, width=60)) as progress:
        bar = _VideoBar(progress, Path("clip.mp4"))
        bar(0, 0.0, 10.0)
        bar(128, 5.12, 10.0)
        (task,) = progress.tasks
        assert (task.total, task.completed) == (10.0, 5.1)
        bar.done()
        assert progress.tasks == []


def test_a_banks_video_percentages_are_set_from_the_command_line(cli_env: Path) -> None:
    from bastion.banks import service
    from bastion.cli.common import db_session

    assert runner.invoke(cli, ["banks", "create", "VIDEOS"]).exit_code == 0
    done = runner.invoke(cli, ["banks", "set-video-match", "VIDEOS", "--query-percent", "60", "--compared-percent", "25"])
    assert done.exit_code == 0 and "60% of its frames" in done.output
    refused = runner.invoke(cli, ["banks", "set-video-match", "VIDEOS", "--query-percent", "150"])
    assert refused.exit_code != 0 and "between 0 and 100" in refused.output
    with db_session() as session:
        bank = service.get_bank(session, "VIDEOS")
        assert (bank.vpdq_query_match_percent, bank.vpdq_compared_match_percent) == (60.0, 25.0)
