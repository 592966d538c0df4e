"""The grievance desk (issue 14 items 1-3, first slice): complaints from the public form and the platform
API, India's clocks from the catalogue (24 h acknowledgement, 15 days, 72 h prohibited content, 24 h for
Rule 3(2)(b)), a queue that puts Rule 3(2)(b) first and shows breaches, a decision the complainant reads
by a secret link, throttled public submissions, and descriptions shown as text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.errors import InvalidInput
from bastion.grievances import service
from bastion.grievances.models import Complaint
from bastion.mail.models import MailMessage
from tests.conftest import api_key, api_login


def _public(app, files=None, **form):  # type: ignore[no-untyped-def]
    http = TestClient(app)
    http.get("/complaints/new")  # the anonymous CSRF cookie
    csrf = http.cookies.get("bastion_anon_csrf") or next(iter(http.cookies.values()), "")
    return http, http.post("/complaints/new", data={"csrf_token": csrf, **form}, files=files, follow_redirects=False)


def test_a_public_complaint_is_followed_by_its_secret_link_and_decided(app, sessions, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    http, sent = _public(app, category="ncii", content_ref="https://platform.example.org/p/post-2003",
                         description="<script>alert(1)</script> this is me", contact_email="me@example.org")
    assert sent.status_code == 200, sent.text
    link = re.search(r'id="status-link">([^<]+)<', sent.text).group(1)  # type: ignore[union-attr]
    token = link.split("token=", 1)[1]
    status = TestClient(app).get(f"/complaints/status?token={token}")
    assert status.status_code == 200 and "Received" in status.text and "post-2003" not in status.text
    assert TestClient(app).get("/complaints/status?token=wrong").status_code == 404

    staff = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(staff, user_factory(Role.LEGAL), clock)}
    with sessions() as session:
        complaint = session.scalars(select(Complaint)).one()
        assert complaint.status_token_hash != token and complaint.priority == 100  # only the hash is kept
    page = staff.get(f"/grievances/{complaint.id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page  # shown as text
    assert 'data-clock="in_intimate"' in page and "Rule 3(2)(b)" in page
    staff.post(f"/grievances/{complaint.id}/acknowledge", headers=csrf)
    decided = staff.post(f"/grievances/{complaint.id}/decide", headers=csrf, follow_redirects=False,
                         data={"outcome": "removed", "text": ""})
    assert decided.status_code == 303 and "error" not in decided.headers["location"]
    status = TestClient(app).get(f"/complaints/status?token={token}").text
    assert "The content was removed." in status and "Decided" in status
    with sessions() as session:
        mails = list(session.scalars(select(MailMessage).where(MailMessage.kind == "grievance.update")))
        assert [m.to_addrs for m in mails] == [["me@example.org"]] * 2
        assert all("post-2003" not in m.text_body for m in mails)  # mail names no content


def test_indian_clocks_move_with_the_injected_clock_and_the_queue_shows_breaches(app, sessions, clock,  # type: ignore[no-untyped-def]
                                                                                  user_factory) -> None:
    with sessions() as session:
        prohibited, _ = service.submit(session, channel="platform", category="csam", content_ref="post-2001",
                                       submitted_by="platform-key", clock=clock)
        tos, _ = service.submit(session, channel="platform", category="tos", content_ref="post-2002", clock=clock)
        session.commit()
        due = {c.key: c.due_at - prohibited.received_at for c in service.clocks_of(session, prohibited)}
        assert due == {"in_acknowledge": timedelta(hours=24), "in_prohibited": timedelta(hours=72),
                       "in_resolve": timedelta(days=15)}
        assert [c.key for c in service.clocks_of(session, tos)] == ["in_acknowledge", "in_resolve"]
    lead = user_factory(Role.LEAD)
    staff = TestClient(app)
    api_login(staff, lead, clock)
    queue = staff.get("/grievances").text
    assert queue.index(prohibited.reference) < queue.index(tos.reference)  # child safety before the terms
    assert 'data-overdue="yes"' not in queue
    clock.advance(timedelta(hours=25))
    api_login(staff, lead, clock)  # the session did not outlive a day
    queue = staff.get("/grievances").text
    assert f'data-reference="{prohibited.reference}" data-overdue="yes"' in queue and "OVERDUE" in queue
    with sessions() as session:
        complaint = session.get(Complaint, prohibited.id)
        service.acknowledge(session, complaint, actor="lead", clock=clock, base_url="http://x")  # type: ignore[arg-type]
        session.commit()
        assert service.next_due(session, complaint).key == "in_prohibited"  # type: ignore[arg-type, union-attr]
        clock.advance(timedelta(hours=48))
        assert service.next_due(session, complaint).overdue(clock.now())  # type: ignore[arg-type, union-attr]
    api_login(staff, lead, clock)
    found = staff.get(f"/grievances?q={tos.reference}").text
    assert tos.reference in found and prohibited.reference not in found  # searchable


def test_the_platform_files_complaints_and_bad_input_is_named(client, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    headers = api_key(client, sessions, clock)
    filed = client.post("/api/v1/complaints", headers=headers,
                        json={"category": "impersonation", "content_ref": "post-2004", "trusted_flagger": True})
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["reference"].startswith("GR-") and "token=" in body["status_url"]
    assert body["next_due"]["citation"].startswith("IT Rules 2021, Rule 3(2)(b)")
    bad = client.post("/api/v1/complaints", headers=headers, json={"category": "spam", "content_ref": "x"})
    assert bad.status_code == 422 and "csam" in bad.text
    with sessions() as session:
        with pytest.raises(InvalidInput, match="not an email address"):
            service.submit(session, channel="public", category="tos", content_ref="x", contact_email="nope",
                           client="198.51.100.1", clock=clock)


def test_a_flood_from_one_address_is_throttled(app) -> None:  # type: ignore[no-untyped-def]
    statuses = [_public(app, category="tos", content_ref=f"post-{i}")[1] for i in range(7)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert throttled and throttled[0].headers.get("Retry-After")


def test_a_clock_that_runs_out_unmet_tells_the_grievance_officer(app, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    from bastion import orgsettings
    from bastion.executor import TaskContext
    from bastion.grievances.models import ComplaintEvent
    from bastion.timers import Ticker

    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    with sessions() as session:
        orgsettings.set_value(session, "grievances.officer_email", "grievance-officer@platform.example", actor="admin",
                              clock=clock)
        complaint, _ = service.submit(session, channel="platform", category="csam", content_ref="post-2001",
                                      clock=clock)
        session.commit()
    clock.advance(timedelta(hours=23))
    ticker.tick()
    with sessions() as session:
        assert not list(session.scalars(select(MailMessage).where(MailMessage.kind == "grievance.breach")))
        service.acknowledge(session, session.get(Complaint, complaint.id), actor="lead", clock=clock,  # type: ignore[arg-type]
                            base_url="http://x")
        session.commit()
    clock.advance(timedelta(hours=2))  # 25 h: acknowledged in time, so no breach of the 24 h clock
    ticker.tick()
    clock.advance(timedelta(hours=48))  # 73 h: the 72 h removal clock ran out unmet
    ticker.tick()
    ticker.tick()  # a second run sends nothing twice
    with sessions() as session:
        mails = list(session.scalars(select(MailMessage).where(MailMessage.kind == "grievance.breach")))
        assert [m.to_addrs for m in mails] == [["grievance-officer@platform.example"]]
        assert "Act on a request to remove prohibited information" in mails[0].text_body
        breaches = [e.text for e in session.scalars(select(ComplaintEvent).where(
            ComplaintEvent.kind == "deadline_breached"))]
        assert len(breaches) == 1 and "Rule 3(2)(a)(i), proviso" in breaches[0]


def _mails(sessions, kind: str) -> list[MailMessage]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id)))


def test_reminders_come_at_the_configured_fractions_of_each_unmet_clock(app, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    """A Rule 3(2)(b) complaint (24 h to remove): reminders at 12 h and 19.2 h, none once the removal is done."""
    from bastion import orgsettings
    from bastion.executor import TaskContext
    from bastion.timers import Ticker

    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    with sessions() as session:
        orgsettings.set_value(session, "grievances.officer_email", "go@platform.example", actor="admin", clock=clock)
        complaint, _ = service.submit(session, channel="public", category="ncii", content_ref="post-2003",
                                      client="198.51.100.9", clock=clock)
        session.commit()
    clock.advance(timedelta(hours=11, minutes=59))
    ticker.tick()
    assert not _mails(sessions, "grievance.reminder")
    clock.advance(timedelta(minutes=2))  # 12 h: half of both 24 h clocks (acknowledge, remove)
    ticker.tick()
    first = _mails(sessions, "grievance.reminder")
    assert len(first) == 2 and all("50%" in m.subject for m in first)
    assert any("Rule 3(2)(b)" in m.text_body for m in first)
    with sessions() as session:
        service.decide(session, session.get(Complaint, complaint.id), outcome="removed", text="", actor="lead",  # type: ignore[arg-type]
                       user_id=None, clock=clock, base_url="http://x")
        session.commit()
    clock.advance(timedelta(hours=8))  # 20 h: past 80%, but every clock is met now
    ticker.tick()
    assert len(_mails(sessions, "grievance.reminder")) == 2


def test_the_dsa_clock_follows_its_setting_and_breaches_like_the_indian_ones(app, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    from bastion import orgsettings
    from bastion.executor import TaskContext
    from bastion.timers import Ticker

    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    with sessions() as session:
        orgsettings.set_value(session, "grievances.officer_email", "go@platform.example", actor="admin", clock=clock)
        orgsettings.set_value(session, "grievances.dsa_target_hours", "48", actor="admin", clock=clock)
        complaint, _ = service.submit(session, channel="flagger", category="illegal", content_ref="post-2001",
                                      jurisdiction="EU", clock=clock)
        session.commit()
        (dsa,) = service.clocks_of(session, complaint)
        assert dsa.key == "eu_act" and dsa.due_at - complaint.received_at == timedelta(hours=48)
        assert "Art. 16(6)" in dsa.citation
    clock.advance(timedelta(hours=24, minutes=1))
    ticker.tick()
    assert [m.subject for m in _mails(sessions, "grievance.reminder")] == [
        f"Complaint {complaint.reference}: 50% of its time used"]
    clock.advance(timedelta(hours=24))
    ticker.tick()
    ticker.tick()
    breaches = _mails(sessions, "grievance.breach")
    assert len(breaches) == 1 and "Art. 16(6)" in breaches[0].text_body
    assert len(_mails(sessions, "grievance.reminder")) == 2  # the 80% reminder came before the breach


def _photo(seed: int) -> bytes:
    """A benign synthetic picture (noise blocks): distinct seeds give unrelated hashes."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.kron(rng.integers(0, 256, (16, 16, 3)), np.ones((16, 16, 1))).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_a_file_sent_with_a_complaint_is_hashed_matched_and_dropped(client, app, sessions, clock,  # type: ignore[no-untyped-def]
                                                                     user_factory) -> None:
    """The complainant's copy finds the banked image and the earlier upload; only hashes are kept."""
    from bastion.media import hash_media

    known, unrelated = _photo(1), _photo(2)
    headers = api_key(client, sessions, clock)
    assert client.post("/api/v1/banks", json={"name": "NCII_HASHES"}, headers=headers).status_code == 201
    assert client.post("/api/v1/banks/NCII_HASHES/entries", headers=headers,
                       json={"signals": {"pdq": hash_media(known).pdq}, "source": "stopncii"}).status_code == 200
    scanned = client.post("/api/v1/scan", files={"file": ("u.png", known)},
                          data={"content_id": "post-7777", "account_id": "acct-7"}, headers=headers)
    assert scanned.status_code == 200 and scanned.json()["matches"], scanned.text
    _, sent = _public(app, files={"file": ("me.png", known, "image/png")}, category="ncii",
                      content_ref="https://platform.example.org/p/post-7777")
    assert sent.status_code == 200, sent.text
    _, other = _public(app, files={"file": ("x.png", unrelated, "image/png")}, category="tos", content_ref="post-1")
    assert other.status_code == 200
    with sessions() as session:
        first, second = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert first.media_md5 == hash_media(known).md5 and first.media_findings["uploads"] == ["post-7777"]
        assert [m["bank"] for m in first.media_findings["matches"]] == ["NCII_HASHES"]
        assert first.priority > 100  # a match ranks above an unmatched Rule 3(2)(b) complaint
        assert second.media_findings["matches"] == [] and second.media_findings["uploads"] == []
    staff = TestClient(app)
    api_login(staff, user_factory(Role.LEGAL), clock)
    page = staff.get(f"/grievances/{first.id}").text
    assert 'id="grievance-file"' in page and "NCII_HASHES" in page and "post-7777" in page
    assert "<img" not in page  # there is no file to show: nobody ever sees it


def test_a_file_that_is_not_an_image_is_refused_and_the_form_keeps_what_was_typed(app, sessions) -> None:  # type: ignore[no-untyped-def]
    _, sent = _public(app, files={"file": ("x.png", b"\x89PNG\r\n\x1a\n broken", "image/png")}, category="tos",
                      content_ref="post-42", description="kept text")
    assert sent.status_code == 422 and "could not be read as an image" in sent.text
    assert "kept text" in sent.text and 'value="post-42"' in sent.text
    with sessions() as session:
        assert session.scalars(select(Complaint)).first() is None


def test_the_queue_is_one_ordered_query_on_the_stored_deadline(sessions, clock) -> None:  # type: ignore[no-untyped-def]
    """Priority first, then the nearest unmet deadline, paged in SQL; acknowledging moves the stored deadline."""
    with sessions() as session:
        tos, _ = service.submit(session, channel="platform", category="tos", content_ref="a", clock=clock)
        clock.advance(timedelta(hours=1))
        later_tos, _ = service.submit(session, channel="platform", category="tos", content_ref="b", clock=clock)
        intimate, _ = service.submit(session, channel="platform", category="ncii", content_ref="c", clock=clock)
        session.commit()
        assert tos.next_due_at == tos.received_at + timedelta(hours=24)
        first = service.queue(session, limit=2)
        assert [c.reference for c, _ in first.rows] == [intimate.reference, tos.reference]
        (last, due), = service.queue(session, limit=2, cursor=first.next_cursor).rows
        assert last.reference == later_tos.reference and due is not None and due.key == "in_acknowledge"
        service.acknowledge(session, tos, actor="lead", clock=clock, base_url="http://x")
        session.commit()
        assert tos.next_due_at == tos.received_at + timedelta(days=15)
        assert [c.reference for c, _ in service.queue(session).rows] == [intimate.reference, later_tos.reference,
                                                                      tos.reference]
