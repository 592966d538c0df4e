"""A reminder from the officer escalates for real: top of the queue, mail to the assignee and the legal
lead, a banner and a count; a reminder about a request already answered tells the officer what went out."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from bastion import orgsettings
from bastion.auth.roles import Role
from bastion.legal import clocks, intake, review
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import events_of
from bastion.mail import mail_for
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_clock_and_review import _legal_users, _user


def test_a_reminder_puts_the_request_on_top_and_mails_the_assignee_and_the_lead(app, desk, submit, clock,  # type: ignore[no-untyped-def]
                                                                               user_factory) -> None:
    with desk() as session:
        orgsettings.set_value(session, "legal.nodal_officer_email", "nodal@bastion.example", actor="admin", clock=clock)
        session.commit()
    urgent = submit(bnss_notice(instrument="in_itr_3_1_j", purpose="investigation"))  # 72 hours: first by time
    chased = submit(bnss_notice(instrument="in_ita_69", case_number="FIR 7/2026"))  # due on its stated date
    [assignee_id] = _legal_users(desk, user_factory)
    with desk() as session:
        assert [r.id for r in clocks.queue(session).rows][0] == urgent.id  # before the reminder: by time left
        request = session.get(LegalRequest, chased.id)
        review.assign(session, request, _user(session, assignee_id), actor="lead", clock=clock)
        clock.advance(timedelta(days=2))
        intake.requester_reminder(session, request, actor="officer:si.patil@mumbaipolice.gov.in", clock=clock,
                                  source="portal", from_email="si.patil@mumbaipolice.gov.in", text="Nothing yet?")
        session.commit()
        assert [r.id for r in clocks.queue(session).rows][0] == chased.id  # escalated above the nearer deadline
        sent = {m.to[0] for m in mail_for(session, f"legal_request:{chased.id}") if m.kind == "legal.reminder_escalated"}
        assert sent == {"nodal@bastion.example", _user(session, assignee_id).email}
    staff = TestClient(app)
    api_login(staff, user_factory(Role.LEGAL), clock)
    page = staff.get(f"/legal/requests/{chased.id}").text
    assert 'id="chased"' in page and "chased this request 1 time" in page
    listing = staff.get("/legal").text
    assert "CHASED ×1" in listing and "1</strong> chased by the requester" in listing


def test_a_reminder_about_an_answered_request_says_when_and_what(desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice())
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        request.verification = "verified"
        clocks.note_answered(session, request, actor="legal", clock=clock, text="Produced.")
        session.commit()
        clock.advance(timedelta(days=1))
        intake.requester_reminder(session, request, actor="officer:x", clock=clock, source="email",
                                  from_email=request.requester_email)
        session.commit()
        [mail] = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.already_answered"]
        assert mail.subject.endswith("already answered") and request.escalated_at is None
        told = [e.text for e in events_of(session, request.id) if e.kind == "already_answered"]
        assert told and "was answered on" in told[0]


def test_a_reminder_arriving_as_a_new_request_is_offered_for_merging_and_linked(app, desk, submit, clock,  # type: ignore[no-untyped-def]
                                                                                user_factory) -> None:
    original = submit(bnss_notice(fir_number="112/2026", case_number="FIR 112/2026"))
    again = submit(bnss_notice(fir_number="112/2026", case_number="FIR 112/2026, reminder",
                               requester_email="sho.cyber@mumbaipolice.gov.in"))  # another officer, same agency
    staff = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(staff, user_factory(Role.LEGAL), clock)}
    page = staff.get(f"/legal/requests/{again.id}").text
    assert 'id="merge-offer"' in page and original.reference in page
    merged = staff.post(f"/legal/requests/{again.id}/merge", data={"original": str(original.id)}, headers=csrf,
                        follow_redirects=False)
    assert merged.status_code == 303
    with desk() as session:
        first, second = session.get(LegalRequest, original.id), session.get(LegalRequest, again.id)
        assert first.reminder_count == 1 and first.escalated_at is not None  # type: ignore[union-attr]
        assert second.status == "closed" and second.closed_at is not None  # type: ignore[union-attr]
    assert 'id="merge-offer"' not in staff.get(f"/legal/requests/{again.id}").text


def test_an_officer_chases_only_their_own_requests_from_the_portal(desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from bastion.legal import portal
    from bastion.legal.errors import RequestNotFound
    from bastion.legal.models import Requester

    someone_elses = submit(bnss_notice())
    with desk() as session:
        stranger = Requester(email="other@mumbaipolice.gov.in", created_at=clock.now())
        session.add(stranger)
        session.flush()
        with pytest.raises(RequestNotFound):
            portal.submit_request(session, stranger, bnss_notice(reminder_of=someone_elses.reference), clock=clock,
                                  vault=None)


def test_the_portal_offers_the_officers_open_requests_to_chase(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bastion.legal.models import Requester

    officer = user_factory(Role.OFFICER)
    first = submit(bnss_notice())
    with desk() as session:
        requester = session.scalars(select(Requester).where(Requester.email == "si.patil@mumbaipolice.gov.in")).one()
        requester.user_id, requester.confirmed_at = officer.id, clock.now()
        session.commit()
    http = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(http, officer, clock)}
    form = http.get("/portal/requests/new").text
    assert 'id="reminder_of"' in form and first.reference in form
    chased = http.post("/portal/requests/new", headers=csrf, follow_redirects=False,
                       data={"instrument": "in_bnss_94", "reminder_of": first.reference, "accounts": "user_id: a"})
    assert chased.status_code == 303, chased.text
    with desk() as session:
        assert session.get(LegalRequest, first.id).reminder_count == 1  # type: ignore[union-attr]


def test_the_reminder_suggestions_are_bounded_and_any_own_reference_may_be_typed(  # type: ignore[no-untyped-def]
        app, desk, submit, clock, user_factory, monkeypatch) -> None:
    """The form once loaded every request the officer (or their agency) ever sent; now the newest few."""
    from sqlalchemy import select

    from bastion.legal.models import Requester
    from bastion.web.ui import portal_pages

    monkeypatch.setattr(portal_pages, "REMINDER_SUGGESTIONS", 3)
    officer = user_factory(Role.OFFICER)
    sent = [submit(bnss_notice()) for _ in range(5)]
    with desk() as session:
        requester = session.scalars(select(Requester).where(Requester.email == "si.patil@mumbaipolice.gov.in")).one()
        requester.user_id, requester.confirmed_at = officer.id, clock.now()
        session.commit()
    http = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(http, officer, clock)}
    form = http.get("/portal/requests/new").text
    suggested = [r.reference for r in sent if f'<option value="{r.reference}">' in form]
    assert suggested == [r.reference for r in sent[2:]]  # the three newest
    oldest = sent[0]
    chased = http.post("/portal/requests/new", headers=csrf, follow_redirects=False,
                       data={"instrument": "in_bnss_94", "reminder_of": oldest.reference, "accounts": "user_id: a"})
    assert chased.status_code == 303, chased.text
    with desk() as session:
        assert session.get(LegalRequest, oldest.id).reminder_count == 1  # type: ignore[union-attr]
