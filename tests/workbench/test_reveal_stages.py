"""Graduated reveal (blurred grey → sharp grey → colour) and the session timer behind the break prompt."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.cases import break_timer, service, video_review, wellness
from bastion.cases.errors import NotRevealed
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.orgsettings import set_value
from tests.conftest import api_login
from tests.workbench.test_wellness_time import _case


def _png(colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A benign synthetic picture: two flat coloured halves."""
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[:, :32] = colour
    pixels[:, 32:] = (20, 60, 220)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _reviewer(db: Session, user_factory) -> User:  # type: ignore[no-untyped-def]
    return db.get(User, user_factory(Role.REVIEWER).id)  # type: ignore[return-value]


def test_stages_step_in_order_and_count_once(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case, who = _case(db, clock), _reviewer(db, user_factory).id
    item = service.items_of(db, case.id)[0]
    assert wellness.stage(db, who, item.id) is None
    with pytest.raises(NotRevealed):
        wellness.reveal_colour(db, who, item.id, clock)  # colour before sharp is refused
    wellness.reveal(db, who, item.id, clock)
    assert wellness.stage(db, who, item.id) == wellness.SHARP
    assert wellness.on_page_load(db, who) == item.id  # the page after the sharp step shows it
    wellness.reveal_colour(db, who, item.id, clock)
    assert wellness.stage(db, who, item.id) == wellness.COLOUR
    assert wellness.on_page_load(db, who) == item.id  # and the page after the colour step shows it too
    assert wellness.exposure(db, who, clock).revealed_today == 1  # one item, counted once
    assert wellness.on_page_load(db, who) is None  # a reload blurs it again, stage and all
    assert wellness.stage(db, who, item.id) is None
    with pytest.raises(NotRevealed):
        wellness.reveal_colour(db, who, item.id, clock)  # and colour again needs the sharp step again
    wellness.reveal(db, who, item.id, clock)
    assert wellness.stage(db, who, item.id) == wellness.SHARP  # a new reveal never starts in colour


def test_concluding_blurs_a_colour_stage(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = _reviewer(db, user_factory)
    case = _case(db, clock)
    service.claim(db, case, reviewer, clock=clock)
    item = service.items_of(db, case.id)[0]
    wellness.reveal(db, reviewer.id, item.id, clock)
    wellness.reveal_colour(db, reviewer.id, item.id, clock)
    service.reject_item(db, case, item, reviewer, reason="different", disable_entry=False, clock=clock)
    service.conclude(db, case, reviewer, clock=clock)
    db.commit()
    assert wellness.stage(db, reviewer.id, item.id) is None


def test_each_stage_is_rendered_on_the_server() -> None:
    data = _png()
    blurred = Image.open(io.BytesIO(wellness.thumbnail(data, blur=True, greyscale=True)))
    sharp = Image.open(io.BytesIO(wellness.revealed_image(data, colour=False)))
    colour = Image.open(io.BytesIO(wellness.revealed_image(data, colour=True)))
    assert blurred.mode == "L" and sharp.mode == "L" and colour.mode == "RGB"
    edge = np.asarray(sharp)[32, 30:34].astype(int)
    assert abs(edge[1] - edge[2]) > 20  # sharp: the edge between the halves is still a step
    red = np.asarray(colour)[10, 10]
    assert red[0] > 150 and red[1] < 80  # the colour stage keeps colour


def test_session_timer_runs_from_the_first_reveal_and_resets_on_a_break(db: Session, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                                       user_factory) -> None:
    case, who = _case(db, clock), _reviewer(db, user_factory).id
    item = service.items_of(db, case.id)[0]
    clock.advance(timedelta(minutes=30))  # time before any reveal is not exposure
    assert wellness.exposure(db, who, clock).session_minutes == 0
    wellness.reveal(db, who, item.id, clock)
    for _ in range(4):  # reveals ten minutes apart, inside the idle reset: one continuous session
        clock.advance(timedelta(minutes=10))
        wellness.reveal(db, who, item.id, clock)  # a later reveal does not restart the session
    clock.advance(timedelta(minutes=4))
    seen = wellness.exposure(db, who, clock)
    assert seen.session_minutes == 44 and seen.break_after == 45 and not seen.break_due
    clock.advance(timedelta(minutes=1))
    assert wellness.exposure(db, who, clock).break_due
    assert break_timer.take_break(db, who, actor="rev", clock=clock) == 45
    db.commit()
    assert wellness.exposure(db, who, clock).session_minutes == 0
    record = db.scalar(select(AuditRecord).where(AuditRecord.action == "wellness.break"))
    assert record is not None and json.loads(record.details)["session_minutes"] == 45
    set_value(db, "review.break_after_minutes", "10", actor="admin", clock=clock)
    wellness.reveal(db, who, item.id, clock)
    clock.advance(timedelta(minutes=10))
    assert wellness.exposure(db, who, clock).break_due  # the organisation's interval applies
    clock.advance(timedelta(days=1))
    assert wellness.exposure(db, who, clock).session_minutes == 0  # a new day is a new session


def test_watched_video_seconds_count_towards_the_session(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case, who = _case(db, clock), _reviewer(db, user_factory).id
    item = service.items_of(db, case.id)[0]
    video_review.grant_play(db, who, item.id, 600.0)
    video_review.record_watched(db, who, item.id, 60.0, clock)
    clock.advance(timedelta(seconds=30))  # reported later, in a second piece: the start stays where it was
    video_review.record_watched(db, who, item.id, 30.0, clock)
    clock.advance(timedelta(seconds=30))
    assert break_timer.minutes(db, who, clock) == 2  # the two minutes watched began the session


def test_an_idle_gap_starts_a_new_session(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case, who = _case(db, clock), _reviewer(db, user_factory).id
    item = service.items_of(db, case.id)[0]
    assert break_timer.idle_limit(db) == 15  # the default
    wellness.reveal(db, who, item.id, clock)
    clock.advance(timedelta(minutes=15))
    assert wellness.exposure(db, who, clock).session_minutes == 15  # a gap of exactly the limit is not idle
    wellness.reveal(db, who, item.id, clock)
    clock.advance(timedelta(minutes=14, seconds=59))
    assert break_timer.minutes(db, who, clock) == 29  # still the same session: 15 + 14 minutes
    clock.advance(timedelta(seconds=2))  # just over 15 minutes without a reveal: lunch, without pressing the button
    assert wellness.exposure(db, who, clock).session_minutes == 0  # no stale prompt on the way back
    clock.advance(timedelta(minutes=45))
    wellness.reveal(db, who, item.id, clock)  # back from lunch: this reveal starts a new session
    clock.advance(timedelta(minutes=5))
    assert break_timer.minutes(db, who, clock) == 5
    set_value(db, "review.idle_reset_minutes", "60", actor="admin", clock=clock)
    clock.advance(timedelta(minutes=40))  # a longer gap, inside the organisation's longer setting
    wellness.reveal(db, who, item.id, clock)
    clock.advance(timedelta(minutes=1))
    assert break_timer.minutes(db, who, clock) == 46
    assert wellness.exposure(db, who, clock).break_due


def test_watched_video_keeps_the_session_from_going_idle(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case, who = _case(db, clock), _reviewer(db, user_factory).id
    item = service.items_of(db, case.id)[0]
    wellness.reveal(db, who, item.id, clock)
    video_review.grant_play(db, who, item.id, 3600.0)
    for _ in range(20):  # twenty minutes of a long video, reported a minute at a time, and no reveal
        clock.advance(timedelta(minutes=1))
        video_review.record_watched(db, who, item.id, 60.0, clock)
    assert break_timer.minutes(db, who, clock) == 20


def test_break_setting_has_bounds(db: Session, clock: ManualClock) -> None:
    for bad in ("4", "241"):
        with pytest.raises(InvalidInput):
            set_value(db, "review.break_after_minutes", bad, actor="admin", clock=clock)
    for bad in ("4", "121"):
        with pytest.raises(InvalidInput):
            set_value(db, "review.idle_reset_minutes", bad, actor="admin", clock=clock)


def test_colour_route_needs_the_sharp_step_and_the_claim(client: TestClient, app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                         user_factory) -> None:
    with sessions() as db:
        case = _case(db, clock)
        item_id = service.items_of(db, case.id)[0].id
    csrf = {"X-CSRF-Token": api_login(client, user_factory(Role.REVIEWER), clock)}
    client.post(f"/api/v1/cases/{case.id}/claim", headers=csrf)
    colour, reveal = f"/cases/{case.id}/items/{item_id}/colour", f"/cases/{case.id}/items/{item_id}/reveal"
    early = client.post(colour, headers=csrf, follow_redirects=False)
    assert early.status_code == 403 and "colour is the step after that" in early.text
    assert client.post(reveal, headers=csrf, follow_redirects=False).status_code == 303
    page = client.get(f"/cases/{case.id}").text
    assert 'data-stage="sharp"' in page and "reveal-colour" in page and 'data-stage="colour"' not in page
    client.get(f"/cases/{case.id}/items/{item_id}/thumb")  # its thumbnail is grey too until the colour step
    with sessions() as db:
        thumbs = db.scalars(select(AuditRecord).where(AuditRecord.action == "media.thumbnail").order_by(AuditRecord.seq)).all()
        assert json.loads(thumbs[-1].details)["greyscale"] is True
    other = TestClient(app)  # a second reviewer, not holding the claim, gets no stage of this item
    other_csrf = {"X-CSRF-Token": api_login(other, user_factory(Role.REVIEWER), clock)}
    for path in (reveal, colour):
        refused = other.post(path, headers=other_csrf, follow_redirects=False)
        assert refused.status_code == 403
    assert other.get(f"/cases/{case.id}/items/{item_id}/full").status_code == 403
    assert client.post(colour, headers=csrf, follow_redirects=False).status_code == 303
    assert 'data-stage="colour"' in client.get(f"/cases/{case.id}").text
    with sessions() as db:
        stages = [json.loads(r.details).get("stage") for r in db.scalars(
            select(AuditRecord).where(AuditRecord.action == "media.reveal").order_by(AuditRecord.seq))]
        refused_acts = [json.loads(r.details)["act"] for r in db.scalars(
            select(AuditRecord).where(AuditRecord.action == "media.refused"))]
    assert stages == ["sharp", "colour"] and "colour" in refused_acts


def test_break_prompt_shows_and_the_button_resets_it(client: TestClient, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                     user_factory) -> None:
    with sessions() as db:
        case = _case(db, clock)
        item_id = service.items_of(db, case.id)[0].id
        set_value(db, "review.idle_reset_minutes", "60", actor="admin", clock=clock)  # one long look
        db.commit()
    csrf = {"X-CSRF-Token": api_login(client, user_factory(Role.REVIEWER), clock)}
    client.post(f"/api/v1/cases/{case.id}/claim", headers=csrf)
    client.post(f"/cases/{case.id}/items/{item_id}/reveal", headers=csrf, follow_redirects=False)
    assert "session-break-prompt" not in client.get("/review").text
    clock.advance(timedelta(minutes=46))
    assert "session-break-prompt" in client.get("/review").text
    assert "take-break" in client.get(f"/cases/{case.id}").text  # on the case page too, without blocking it
    done = client.post("/review/break", headers=csrf, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "session-break-prompt" not in page and "break-taken" in page


def test_video_frames_step_through_the_image_stages(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = _reviewer(db, user_factory)
    case, who = _case(db, clock), reviewer.id
    service.claim(db, case, reviewer, clock=clock)
    item = service.items_of(db, case.id)[0]
    with pytest.raises(NotRevealed):
        video_review.reveal_frame_colour(db, who, item.id, 2, clock)  # colour before sharp is refused
    video_review.reveal_frame(db, who, item.id, 2, clock)
    assert video_review.frame_stage(db, who, item.id, 2) == wellness.SHARP
    assert video_review.frame_stage(db, who, item.id, 1) is None  # only the frame shown sharp has a stage
    with pytest.raises(NotRevealed):
        video_review.reveal_frame_colour(db, who, item.id, 1, clock)  # another frame cannot skip to colour
    assert wellness.on_page_load(db, who) == item.id
    video_review.reveal_frame_colour(db, who, item.id, 2, clock)
    assert video_review.frame_stage(db, who, item.id, 2) == wellness.COLOUR
    assert wellness.on_page_load(db, who) == item.id  # the page after the colour step shows it
    assert wellness.exposure(db, who, clock).revealed_today == 1  # one frame, counted once
    assert wellness.on_page_load(db, who) is None  # a reload blurs it again
    assert video_review.frame_stage(db, who, item.id, 2) is None
    with pytest.raises(NotRevealed):
        video_review.reveal_frame_colour(db, who, item.id, 2, clock)
    video_review.reveal_frame(db, who, item.id, 3, clock)
    video_review.reveal_frame_colour(db, who, item.id, 3, clock)
    video_review.reveal_frame(db, who, item.id, 4, clock)  # another frame starts sharp again, not in colour
    assert video_review.frame_stage(db, who, item.id, 4) == wellness.SHARP
    video_review.reveal_frame_colour(db, who, item.id, 4, clock)
    service.reject_item(db, case, item, reviewer, reason="different", disable_entry=False, clock=clock)
    service.conclude(db, case, reviewer, clock=clock)
    db.commit()
    assert video_review.frame_stage(db, who, item.id, 4) is None  # concluding blurs a colour frame


def test_a_frame_is_rendered_grey_until_the_colour_step() -> None:
    pixels = np.asarray(Image.open(io.BytesIO(_png())).convert("RGB"))
    frame = type("Frame", (), {"width": 64, "height": 64, "rgb": pixels.tobytes()})()
    sharp = Image.open(io.BytesIO(video_review.render_frame(frame, colour=False)))
    colour = Image.open(io.BytesIO(video_review.render_frame(frame, colour=True)))
    assert sharp.mode == "L" and colour.mode == "RGB"
    edge = np.asarray(sharp)[32, 30:34].astype(int)
    assert abs(edge[1] - edge[2]) > 20  # sharp, not blurred
    red = np.asarray(colour)[10, 10]
    assert red[0] > 150 and red[1] < 80
