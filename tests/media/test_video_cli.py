"""`bastion hash` on videos: vPDQ in python-threatexchange's format, MD5 and SHA-256; refusals as codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app as cli
from bastion.media.video import hash_video_file

from ._videos import Clip, write_clip

runner = CliRunner()


def test_hash_a_video_and_a_truncated_one(tmp_path: Path) -> None:
    good = write_clip(tmp_path / "clip.mkv", Clip(seed=14, seconds=3, width=160, height=120, container="matroska"))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(write_clip(tmp_path / "whole.mp4", Clip(seed=14, seconds=2, width=160, height=120))
                    .read_bytes()[:3000])
    result = runner.invoke(cli, ["hash", "--json", str(good), str(cut)])
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["content_type"] == "video" and first["frames"] == 75 and first["codec"] == "h264"
    assert first["md5"] == hashlib.md5(good.read_bytes()).hexdigest()
    assert json.loads(first["vpdq"]) == [f.compact() for f in hash_video_file(good).features]
    assert second["error"] == "unsupported_media"
    shown = runner.invoke(cli, ["hash", str(good)])
    assert shown.exit_code == 0 and "vpdq" in shown.stdout and "3 frames" in shown.stdout
