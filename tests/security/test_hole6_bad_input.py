"""Hole 6: bad input answered 500 and dropped the connection. Every case here must be a 4xx with a code.

Played over HTTP against a live server, on SQLite and PostgreSQL: malformed and disguised URLs
given to the fetchers, NUL characters in identifiers and metadata (PostgreSQL cannot store them),
an officer's follow-up that names accounts. And the rule behind them: an exception nobody mapped
is logged with the request's id and answered as a 500 that carries the id, with the usual headers.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.legal import intake
from bastion.legal.models import Requester
from bastion.scanning.urlfetch import FetchPolicy
from tests.detect.images import jpeg
from tests.legal.conftest import PDF, bnss_notice
from tests.security.conftest import Live, api_key, login

BAD_URLS = [
    "http://[::1", "http://a..b/", "http://" + "a" * 64 + ".example/", "http://0x7f.1/", "http://2130706433/",
    "http://[::127.0.0.1]/", "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::1]/",
    "http://example.org:99999/", "gopher://example.org/", "http://[64:ff9b::a00:1]:8080/x",
]


def _platform(live: Live, user_factory) -> httpx.Client:  # type: ignore[no-untyped-def]
    admin = live.client("192.0.2.1")
    csrf = login(admin, user_factory(Role.ADMIN), live.clock)
    machine = live.client("192.0.2.10")
    machine.headers["Authorization"] = f"Bearer {api_key(live, admin, csrf, user_factory(Role.PLATFORM).username)}"
    return machine


@pytest.mark.parametrize("address", ["::127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1",
                                     "64:ff9b:1::c0a8:101", "2002:7f00:1::1", "2002:c0a8:101::",
                                     "2001:0:4136:e378:8000:63bf:80ff:fffe", "::", "::1", "fe80::1%eth0"])
def test_addresses_carrying_a_private_ipv4_inside_are_refused(address: str) -> None:
    assert not FetchPolicy().address_allowed(address)


def test_public_addresses_stay_allowed() -> None:
    policy = FetchPolicy()
    assert all(policy.address_allowed(a) for a in ("8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"))


def test_malformed_and_disguised_urls_are_refused_with_a_code(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    machine = _platform(live, user_factory)
    for url in BAD_URLS:
        scanned = machine.post("/api/v1/scan", data={"url": url, "content_id": "c-1"})
        assert scanned.status_code == 400 and scanned.json()["code"] == "forbidden_url", (url, scanned.text)
        hashed = machine.get("/h/hash", params={"url": url})
        assert 400 <= hashed.status_code < 500 and "message" in hashed.json(), (url, hashed.text)


def test_nul_characters_are_a_422_not_a_crash(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    machine = _platform(live, user_factory)
    for field in ("content_id", "account_id"):
        scanned = machine.post("/api/v1/scan", files={"file": ("p.jpg", jpeg(5))},
                               data={"content_id": "c-2", "account_id": "u-2", field: "a\x00b"})
        assert scanned.status_code == 422 and scanned.json()["code"] == "invalid_input", scanned.text
        assert "NUL" in scanned.json()["detail"]
    assert machine.post("/api/v1/banks", json={"name": "NULS"}).status_code in (200, 201)
    added = machine.post("/api/v1/banks/NULS/entries", json={"signals": {"md5": "b" * 32}, "note": "x\u0000y",
                                                             "metadata": {"k": "v\u0000"}})
    assert added.status_code == 422 and added.json()["code"] == "invalid_input", added.text
    fine = machine.post("/api/v1/scan", files={"file": ("p.jpg", jpeg(5))}, data={"content_id": "c-3"})
    assert fine.status_code == 200  # the server is still serving, and nothing half-written blocks it


def test_an_officers_follow_up_naming_accounts_is_taken(live, user_factory, sessions) -> None:  # type: ignore[no-untyped-def]
    officer = user_factory(Role.OFFICER)
    email = "si.patil@mumbaipolice.gov.in"
    with sessions() as session:
        session.add(Requester(email=email, name="SI A. Patil", user_id=officer.id, confirmed_at=live.clock.now(),
                              created_at=live.clock.now()))
        session.flush()
        requester = session.scalars(select(Requester).where(Requester.email == email)).one()
        request = intake.submit(session, bnss_notice(requester_email=email), actor="clerk", clock=live.clock,
                                requester=requester, document=None)
        session.commit()
        rid = request.id
    http = live.client("198.51.100.70")
    csrf = login(http, officer, live.clock)
    answered = http.post(f"/portal/requests/{rid}/answer", headers=csrf,
                         data={"accounts": "user_id: acct-1002\nusername: someone", "case_number": "FIR 112/2026"},
                         files={"document": ("notice.pdf", PDF, "application/pdf")})
    assert answered.status_code == 303, answered.text
    with sessions() as session:
        values = {(a.kind, a.value) for a in intake.accounts_of(session, rid)}
    assert {("user_id", "acct-1002"), ("username", "someone")} <= values
    bad = http.post(f"/portal/requests/{rid}/answer", headers=csrf, data={"accounts": "nonsense without a kind"})
    assert bad.status_code == 422


def test_an_unmapped_exception_is_a_logged_500_with_the_request_id(live, caplog) -> None:  # type: ignore[no-untyped-def]
    def explode() -> None:
        raise RuntimeError("a bug nobody mapped")

    live.app.add_api_route("/api/v1/_explode", explode)
    with caplog.at_level(logging.ERROR, logger="bastion.web.context"):
        answered = live.client().get("/api/v1/_explode", headers={"X-Request-ID": "proxy-id-12345"})
    assert answered.status_code == 500
    body = answered.json()
    assert body["code"] == "internal_error" and body["request_id"] == "proxy-id-12345"
    assert answered.headers["x-request-id"] == "proxy-id-12345"
    assert answered.headers["x-content-type-options"] == "nosniff"  # still inside the security headers
    assert "a bug nobody mapped" not in answered.text  # the client learns the id, not the internals
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged and getattr(logged[0], "request_id", "") == "proxy-id-12345"


def test_every_response_carries_a_request_id(live) -> None:  # type: ignore[no-untyped-def]
    http = live.client()
    own = http.get("/healthz").headers["x-request-id"]
    assert len(own) == 32 and own != http.get("/healthz").headers["x-request-id"]
    for unsafe in ("short", "has spaces in it", "x" * 200, "<script>alert(1)</script>"):
        replaced = http.get("/healthz", headers={"X-Request-ID": unsafe}).headers["x-request-id"]
        assert replaced != unsafe and len(replaced) == 32
