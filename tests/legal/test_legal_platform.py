"""End to end over HTTP: a BNSS s.94 notice under an FIR, collected from the demo platform, produced and delivered.

The demo platform runs on a real socket; Bastion's app is pointed at it (its connector factory
is wrapped to record which connector calls collection makes).
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from bastion.auth.roles import Role
from bastion.legal import portal
from bastion.legal.models import LegalRequest, Requester
from bastion.mail import mail_for
from bastion.platform import HttpPlatformConnector
from bastion.production import verify_package
from tests.conftest import api_login, with_platform
from tests.legal.conftest import FBI, MUMBAI, PDF



@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """HTTP end-to-end on SQLite only; the service tests cover PostgreSQL."""
    return sqlite_url


@pytest.fixture
def settings(settings, platform_url: str):  # type: ignore[no-untyped-def]
    return with_platform(settings, platform_url)


class Recording:
    """A connector that writes down every call before passing it on."""

    def __init__(self, inner: HttpPlatformConnector, calls: list[str]) -> None:
        self.inner, self.calls = inner, calls

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        attr = getattr(self.inner, name)
        if not callable(attr) or name == "close":
            return attr

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls.append(name)
            return attr(*args, **kwargs)

        return call


def _login(app, user_factory, clock) -> tuple[TestClient, dict[str, str], str]:  # type: ignore[no-untyped-def]
    user = user_factory(Role.LEGAL)
    caller = TestClient(app)
    return caller, {"X-CSRF-Token": api_login(caller, user, clock)}, user.username


def test_bnss_notice_collects_only_approved_categories_and_is_produced(app, client, sessions, clock, user_factory,
                                                                       platform_url: str) -> None:
    calls: list[str] = []
    services = app.state.bastion.services
    factory = services["platform.connector_factory"]
    services["platform.connector_factory"] = lambda: Recording(factory(), calls)
    alice, alice_h, _ = _login(app, user_factory, clock)
    bob, bob_h, _ = _login(app, user_factory, clock)

    for agency in (MUMBAI, FBI):
        assert alice.post("/api/v1/legal/agencies", json=agency, headers=alice_h).status_code == 201
    notice = {
        "instrument": "in_bnss_94", "source": "email", "requester_email": "si.patil@mumbaipolice.gov.in",
        "requester_phone": "+91 22 5550 0123", "issuing_authority": "Mumbai Police Cyber Cell",
        "issuing_officer": "SI A. Patil", "case_number": "FIR 112/2026", "due_date": "2026-01-20",
        "accounts": [{"kind": "url", "value": f"{platform_url}/posts/post-2001"},
                     {"kind": "url", "value": f"{platform_url}/posts/post-2004"}],
        "categories": ["subscriber", "content", "location", "hosting"],
        "date_from": "2024-02-01", "date_to": "2024-03-31",
    }
    created = alice.post("/api/v1/legal/requests", json=notice, headers=alice_h)
    assert created.status_code == 201, created.text
    view = created.json()
    rid = view["id"]
    assert view["status"] == "needs_information"
    assert view["validation"]["missing"] == ["the signed request on letterhead (a PDF or an image of it)"]

    refused = alice.post(f"/api/v1/legal/requests/{rid}/documents", headers=alice_h,
                         files={"file": ("notice.html", b"<html>not a scan</html>", "text/html")})
    assert refused.status_code == 415 and "web page" in refused.json()["detail"]
    attached = alice.post(f"/api/v1/legal/requests/{rid}/documents", headers=alice_h,
                          files={"file": ("notice.pdf", PDF, "application/pdf")})
    assert attached.status_code == 201 and attached.json()["status"] == "open"

    # the officer confirms the address through the portal: the request becomes verified
    with sessions() as session:
        requester = session.query(Requester).filter_by(email="si.patil@mumbaipolice.gov.in").one()
        _, token, warnings = portal.register_officer(session, email=requester.email, name="SI A. Patil",
                                                     phone="+91 22 5550 0123", clock=clock,
                                                     base_url="https://bastion.example")
        assert warnings == []
        portal.confirm_email(session, token, clock=clock)
        session.commit()
    view = alice.get(f"/api/v1/legal/requests/{rid}").json()
    assert view["verification"]["status"] == "verified" and view["blockers"] == []

    # produce in part: the subscriber's details are withheld; a second person approves
    decided = alice.post(f"/api/v1/legal/requests/{rid}/decision", headers=alice_h,
                         json={"outcome": "produce_in_part", "categories": ["content", "location", "hosting"],
                               "reason": "Subscriber details follow on a separate notice."})
    assert decided.status_code == 200, decided.text
    own = alice.post(f"/api/v1/legal/requests/{rid}/approve", headers=alice_h)
    assert own.status_code == 409 and own.json()["code"] == "second_approver_required"
    assert bob.post(f"/api/v1/legal/requests/{rid}/approve", headers=bob_h).status_code == 200

    collected = alice.post(f"/api/v1/legal/requests/{rid}/collect", headers=alice_h)
    assert collected.status_code == 200, collected.text
    assert "subscriber_info" not in calls and "ip_logins" not in calls and "devices" not in calls
    assert {"posts", "locations", "hosting_details", "get_content"} <= set(calls)
    accounts = {a["value"].rsplit("/", 1)[1]: a["account_id"] for a in collected.json()["accounts"]}
    assert accounts == {"post-2001": "acct-1001", "post-2004": "acct-1002"}

    preview = alice.get(f"/api/v1/legal/requests/{rid}/collection")
    assert preview.status_code == 200 and preview.headers["cache-control"] == "no-store, private"
    datasets = {(d["account_id"], d["category"]): d for d in preview.json()}
    assert {c for _, c in datasets} == {"content", "location", "hosting"}
    alice_posts = datasets[("acct-1001", "content")]["data"]
    assert [p["content_id"] for p in alice_posts] == ["post-2001", "post-2002", "post-2003"]
    assert alice_posts[1]["links"] == ["https://example.org/circles?ref=demo", "http://example.net/a"]
    assert all(p["created_at"].endswith(("Z", "+00:00")) for p in alice_posts)  # timestamps carry UTC
    assert [h["content_id"] for h in datasets[("acct-1001", "hosting")]["data"]] == ["post-2001"]  # the named post
    assert datasets[("acct-1001", "hosting")]["data"][0]["server_id"].startswith("media-")
    assert len(datasets[("acct-1001", "location")]["data"]) == 3
    page = alice.get(f"/legal/requests/{rid}/collection")
    assert page.status_code == 200 and "post-2002" in page.text

    # under BNSS s.94 notice may be withheld: telling the suspect is never a precondition of production
    assert alice.get(f"/api/v1/legal/requests/{rid}").json()["notice"]["status"] == "deferred"
    produced = alice.post(f"/api/v1/legal/requests/{rid}/productions", headers=alice_h, json={"delivery": "portal"})
    assert produced.status_code == 201, produced.text

    with sessions() as session:
        ready = [m for m in mail_for(session, f"legal_request:{rid}") if m.kind == "legal.production_ready"]
        assert ready and ready[0].to == ("si.patil@mumbaipolice.gov.in",)
        from bastion.mail.models import MailMessage

        body = session.get(MailMessage, ready[0].id).text_body
        download_token = re.search(r"Download token: (\S+)", body).group(1)  # type: ignore[union-attr]
        requester = session.query(Requester).filter_by(email="si.patil@mumbaipolice.gov.in").one()
        vault = app.state.bastion.services["evidence.vault"]
        name, reader = portal.download_production(session, requester, download_token, clock=clock, vault=vault)
        with reader:  # streamed from the vault
            package = reader.read()
        session.commit()
        assert name.endswith(".zip")
        request = session.get(LegalRequest, rid)
        assert request.status == "delivered" and request.answered_at is not None
        disclosed = [e for item in vault.items_about(session, f"legal_request:{rid}")
                     for e in vault.custody(session, item.id) if e.action == "disclose"]
        assert disclosed and all("si.patil@mumbaipolice.gov.in" in json.loads(e.details_json)["recipient"]
                                 for e in disclosed)

    key = app.state.bastion.services["production.signing_key"]
    result = verify_package(package, key)
    assert result.problems == ()
    exported = alice.post(f"/api/v1/legal/requests/{rid}/productions/{produced.json()['id']}/export",
                          headers=alice_h, json={"recipient": "court e-filing"})
    assert exported.status_code == 200 and exported.content == package  # streamed from the vault, intact
    assert int(exported.headers["content-length"]) == len(package) == produced.json()["size"]
    assert result.manifest["scope"]["categories"] == ["content", "location", "hosting"]
    members = set(zipfile.ZipFile(io.BytesIO(package)).namelist())
    assert "data/content.json" in members and "data/subscriber.json" not in members
    assert any(m.startswith("attachments/media/acct-1001/post-2001.") for m in members)
    content = json.loads(zipfile.ZipFile(io.BytesIO(package)).read("data/content.json"))
    assert {r["account_id"] for r in content} == {"acct-1001", "acct-1002"}

    # the staff pages render the whole story
    for path in ("/legal", "/legal?closed=1", f"/legal/requests/{rid}", "/legal/agencies", "/legal/catalogue",
                 "/legal/requests/new"):
        assert alice.get(path).status_code == 200, path
    timeline = alice.get(f"/legal/requests/{rid}").text
    for kind in ("received", "information_requested", "document", "decision_produce_in_part", "approved",
                 "collected", "notice_rule", "produced", "downloaded"):
        assert f'data-kind="{kind}"' in timeline, kind


def test_the_list_is_ordered_by_time_left_and_oversight_can_read_but_not_act(app, client, clock, user_factory) -> None:
    alice, alice_h, _ = _login(app, user_factory, clock)
    alice.post("/api/v1/legal/agencies", json=MUMBAI, headers=alice_h)
    # s.69 directions run on the date they state (a s.94 notice would also run Rule 3(1)(j)'s 72 hours)
    base = {"instrument": "in_ita_69", "requester_email": "si.patil@mumbaipolice.gov.in", "categories": ["content"],
            "accounts": [{"kind": "user_id", "value": "acct-1001"}]}
    later = alice.post("/api/v1/legal/requests", json={**base, "due_date": "2026-03-01"}, headers=alice_h).json()
    sooner = alice.post("/api/v1/legal/requests", json={**base, "instrument": "in_itr_3_1_j"}, headers=alice_h).json()
    undated = alice.post("/api/v1/legal/requests", json=base, headers=alice_h).json()
    order = [r["reference"] for r in alice.get("/api/v1/legal/requests").json()]
    assert order == [sooner["reference"], later["reference"], undated["reference"]]

    oversight = TestClient(app)
    oversight_h = {"X-CSRF-Token": api_login(oversight, user_factory(Role.COMPLIANCE), clock)}
    assert oversight.get(f"/api/v1/legal/requests/{later['id']}").status_code == 200
    assert oversight.post(f"/api/v1/legal/requests/{later['id']}/decision", headers=oversight_h,
                          json={"outcome": "refuse", "reason": "x"}).status_code == 403
    assert oversight.get(f"/api/v1/legal/requests/{later['id']}/collection").status_code == 403
    auditor = TestClient(app)  # the auditor oversees the audit log and settings, never account data
    api_login(auditor, user_factory(Role.AUDITOR), clock)
    assert auditor.get(f"/api/v1/legal/requests/{later['id']}").status_code == 403

    # staff intake through the form, with the new-request page
    form = alice.post("/legal/requests", headers=alice_h, follow_redirects=False,
                      data={"instrument": "in_bnss_94", "source": "post", "requester_email": "x@mumbaipolice.gov.in",
                            "accounts": "https://demo.example/posts/post-2001\n@bob", "categories": ["content"]})
    assert form.status_code == 303 and form.headers["location"].startswith("/legal/requests/")
    page = alice.get(form.headers["location"])
    assert page.status_code == 200 and "needs_information" in page.text and "username: bob" in page.text
