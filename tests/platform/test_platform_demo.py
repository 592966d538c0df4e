"""The demo platform itself: seed data, public pages, admin hooks, entry point."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

import bastion.dev.platform as dev_platform
from bastion.cli.main import app as cli
from bastion.dev.platform import FaultInjector, seed_demo_platform
from bastion.dev.platform.media import render_image
from bastion.dev.platform.seed import ACCOUNTS, POSTS
from bastion.platform import HttpPlatformConnector


def test_seed_is_idempotent(demo_db: Path) -> None:
    assert seed_demo_platform(demo_db) is False  # already seeded by the fixture


def test_images_are_deterministic_generated_images() -> None:
    assert render_image(1) == render_image(1)
    assert render_image(1) != render_image(2)
    with Image.open(io.BytesIO(render_image(3, size=64, fmt="JPEG"))) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (64, 64), "RGB")


def test_seed_uses_reserved_example_data() -> None:
    assert all(
        a.email.rsplit("@", 1)[1] in {"example.com", "example.net", "example.org"} for a in ACCOUNTS
    )
    assert all("555-01" in a.phone for a in ACCOUNTS)
    assert len({p.content_id for p in POSTS}) == len(POSTS)


def test_public_pages(base_url: str, connector: HttpPlatformConnector) -> None:
    assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
    index = httpx.get(f"{base_url}/")
    assert index.status_code == 200
    assert "@alice" in index.text and "account-status-acct-1001" in index.text

    account = httpx.get(f"{base_url}/accounts/acct-1001")
    assert "data-testid='account-status'>active<" in account.text
    assert "alice@example.com" not in account.text  # no subscriber PII on public pages
    assert "Content-Security-Policy" in account.headers

    post = httpx.get(f"{base_url}/posts/post-2001")
    assert "data-testid='post-image'" in post.text
    image = httpx.get(f"{base_url}/posts/post-2001/image")
    assert image.headers["content-type"] == "image/png"
    assert hashlib.sha256(image.content).hexdigest() == (
        connector.get_content("post-2001").media_sha256
    )

    assert httpx.get(f"{base_url}/posts/nope").status_code == 404
    assert httpx.get(f"{base_url}/accounts/nope").status_code == 404


def test_oversized_body_is_refused_before_verification(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/v1/content/post-2001/removal", content=b"x" * (1024 * 1024 + 1)
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_fault_injector_counts_down() -> None:
    faults = FaultInjector()
    faults.fail_next(2, status=500)
    assert faults.pending == 2
    assert faults.take() is not None and faults.take() is not None
    assert faults.take() is None
    faults.fail_next(5)
    faults.clear()
    assert faults.take() is None
    with pytest.raises(ValueError):
        faults.fail_next(1, status=200)


def test_entry_point_seeds_and_serves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(dev_platform, "serve_demo_platform", lambda *args: calls.append(args))
    db = tmp_path / "p.sqlite3"
    result = CliRunner().invoke(cli, ["dev", "platform", "--db", str(db), "--port", "9999", "--secret", "s3cret"])
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 9999, db, "s3cret")]
    assert seed_demo_platform(db) is False  # the command seeded it
