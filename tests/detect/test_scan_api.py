"""The scan API: hashes, matches and a stored scan; bad input refused clearly; the SSRF guard."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from bastion.media import hash_media
from bastion.scanning.models import Scan, ScanMatch
from tests.detect.images import bomb_png, jpeg, png
from tests.livehttp import free_port, serve


def _scan(client: TestClient, headers: dict[str, str], data: bytes, **form: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/scan", files={"file": ("upload.bin", data)}, data=form, headers=headers)


def test_scan_returns_hashes_matches_and_stores_metadata_only(
    client: TestClient, platform_headers: dict[str, str], db: Session
) -> None:
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=platform_headers)
    known = hash_media(jpeg(1))
    client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": known.pdq}, "classification": "A1"},
                headers=platform_headers)
    response = _scan(client, platform_headers, jpeg(1, "resized"), content_id="post-9", account_id="user-3",
                     uploaded_at="2026-11-28T10:00:00Z", client_ip="203.0.113.7", metadata='{"channel": "dm"}')
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hashes"]["pdq"] and body["hashes"]["md5"] and body["media"]["width"] == 384
    assert body["matches"][0]["bank"] == "KNOWN" and body["matches"][0]["classification"] == "A1"
    scan = db.get(Scan, body["scan_id"])
    assert scan is not None and scan.account_id == "user-3" and scan.client_ip == "203.0.113.7"
    assert json.loads(scan.metadata_json) == {"channel": "dm"} and scan.match_count == 1
    assert db.scalar(select(ScanMatch.bank_name).where(ScanMatch.scan_id == scan.id)) == "KNOWN"
    columns = {c["name"] for t in ("scans", "scan_matches") for c in inspect(db.get_bind()).get_columns(t)}
    assert not any("media" == c or "bytes" in c or "content" == c for c in columns)  # never the media itself
    listed = client.get("/api/v1/scans?matched_only=true", headers=platform_headers)
    assert listed.status_code == 403  # platforms submit; reading scans is for staff


@pytest.mark.parametrize("data,code,status", [
    (b"just some text, not an image", "unsupported_media", 415),
    (jpeg(1)[:1500], "corrupt_media", 422),
    (png(2)[:200], "corrupt_media", 422),
    (b"", "unsupported_media", 415),
    (bomb_png(), "decompression_bomb", 413),
])
def test_bad_media_is_refused_with_a_code(client: TestClient, platform_headers: dict[str, str], data: bytes,
                                          code: str, status: int) -> None:
    response = _scan(client, platform_headers, data)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.json()["detail"]
    assert _scan(client, platform_headers, jpeg(3)).status_code == 200  # still serving


def test_too_large_is_refused(settings, clock, engine, platform_headers) -> None:  # type: ignore[no-untyped-def]
    from bastion.web.app import create_app

    small = settings.model_copy(update={"media_max_bytes": 1000})
    with TestClient(create_app(small, clock=clock, engine=engine)) as client:
        response = _scan(client, platform_headers, jpeg(1))
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_scan_needs_exactly_one_source_and_valid_metadata(client: TestClient, platform_headers: dict[str, str]) -> None:
    neither = client.post("/api/v1/scan", data={"content_id": "x"}, headers=platform_headers)
    assert neither.status_code == 422 and "exactly one" in neither.json()["detail"]
    bad_meta = _scan(client, platform_headers, jpeg(1), metadata="[1, 2]")
    assert bad_meta.status_code == 422 and "JSON object" in bad_meta.json()["detail"]


def test_scan_requires_a_key_with_the_scope(client: TestClient, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import api_key

    assert client.post("/api/v1/scan", files={"file": ("x", jpeg(1))}).status_code == 401
    read_only = api_key(client, sessions, clock, scopes=["banks.read"])
    assert _scan(client, read_only, jpeg(1)).status_code == 403


# -- fetching by URL ------------------------------------------------------------------------------

@pytest.fixture
def media_server() -> Iterator[tuple[str, list[str]]]:
    """A benign image server on 127.0.0.2, with a redirect to 127.0.0.1; records every hit."""
    hits: list[str] = []
    app = FastAPI()
    image = jpeg(7)

    @app.get("/img.jpg")
    def img() -> Response:
        hits.append("img")
        return Response(image, media_type="image/jpeg")

    @app.get("/to-loopback")
    def to_loopback() -> RedirectResponse:
        hits.append("redirect")
        return RedirectResponse(f"http://127.0.0.1:{port}/img.jpg")

    port = free_port()
    with serve(app, port=port, host="127.0.0.2") as url:
        yield url, hits


def _url_app(settings, clock, engine, networks: str):  # type: ignore[no-untyped-def]
    from bastion.web.app import create_app

    return create_app(settings.model_copy(update={"scan_url_allowed_networks": networks}), clock=clock, engine=engine)


def test_loopback_and_private_urls_are_refused_and_nothing_is_fetched(
    client: TestClient, platform_headers: dict[str, str], media_server: tuple[str, list[str]]
) -> None:
    url, hits = media_server
    for target in (f"{url}/img.jpg", "http://localhost/x.jpg", "http://10.1.2.3/x.jpg", "http://169.254.169.254/",
                   "http://[::1]/x.jpg", "file:///etc/passwd", "ftp://example.org/x"):
        response = client.post("/api/v1/scan", data={"url": target}, headers=platform_headers)
        assert response.status_code == 400 and response.json()["code"] == "forbidden_url", (target, response.text)
    assert hits == []


def test_an_allowed_host_is_fetched_but_a_redirect_to_loopback_is_not(
    settings, clock, engine, platform_headers, media_server  # type: ignore[no-untyped-def]
) -> None:
    url, hits = media_server
    with TestClient(_url_app(settings, clock, engine, "127.0.0.2/32")) as client:
        ok = client.post("/api/v1/scan", data={"url": f"{url}/img.jpg"}, headers=platform_headers)
        assert ok.status_code == 200, ok.text
        assert ok.json()["hashes"]["md5"] == hash_media(jpeg(7)).md5
        redirected = client.post("/api/v1/scan", data={"url": f"{url}/to-loopback"}, headers=platform_headers)
        assert redirected.status_code == 400 and redirected.json()["code"] == "forbidden_url"
    assert hits == ["img", "redirect"]  # the loopback target was never requested


def test_rescan_finds_matches_for_old_uploads_when_a_bank_grows(
    client: TestClient, platform_headers: dict[str, str], db: Session, clock, app  # type: ignore[no-untyped-def]
) -> None:
    from datetime import timedelta

    first = _scan(client, platform_headers, jpeg(8, "mirrored")).json()
    assert first["matches"] == []
    client.post("/api/v1/banks", json={"name": "LATER"}, headers=platform_headers)
    client.post("/api/v1/banks/LATER/entries", json={"signals": {"pdq": hash_media(jpeg(8)).pdq}},
                headers=platform_headers)
    scanner = app.state.bastion.scanner
    report = scanner.rescan(db, clock.now() - timedelta(days=1))
    assert report.new_matches == 1 and report.scans_with_new_matches == 1
    again = scanner.rescan(db, clock.now() - timedelta(days=1))
    assert again.new_matches == 0  # nothing recorded twice
    db.expire_all()
    assert db.get(Scan, first["scan_id"]).match_count == 1  # type: ignore[union-attr]


def test_fast_decode_is_the_default_and_exact_is_an_option(settings, clock, engine, platform_headers) -> None:  # type: ignore[no-untyped-def]

    from bastion.dev.pictures import encode, picture
    from bastion.web.app import create_app

    big = encode(picture(21, size=(3000, 3000)))
    exact = hash_media(big).pdq
    exact_settings = settings.model_copy(update={"media_fast_decode": False})
    with TestClient(create_app(exact_settings, clock=clock, engine=engine)) as precise:
        assert _scan(precise, platform_headers, big).json()["hashes"]["pdq"] == exact
        assert precise.app.state.bastion.scanner.fast_decode is False  # type: ignore[attr-defined]
    with TestClient(create_app(settings, clock=clock, engine=engine)) as default:
        fast_pdq = _scan(default, platform_headers, big).json()["hashes"]["pdq"]
        assert default.app.state.bastion.scanner.fast_decode is True  # type: ignore[attr-defined]
    distance = bin(int(fast_pdq, 16) ^ int(exact, 16)).count("1")
    assert distance <= 8  # a 1/4-scale decode with PDQ's full-size filter: still the same picture to PDQ
