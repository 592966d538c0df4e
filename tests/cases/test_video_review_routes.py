"""The video review routes over HTTP: who may see what, what the served video holds, and bounded watch time."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
from PIL import Image
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.cases.models import Case, CaseItem, ReviewerExposure
from bastion.cases.video_review import PLAY_SLACK_SECONDS, REPORT_MAX_SECONDS
from bastion.clock import ManualClock
from bastion.media.video import hash_video_file
from bastion.scanning.service import UploadMeta
from bastion.scanning.video_scan import scan_video
from tests.conftest import api_login
from tests.media._videos import make_clip

SECONDS = 6.0


def _video_case(app, sessions: sessionmaker[Session], clock: ManualClock, tmp_path: Path) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    clip = make_clip(tmp_path, "clip", seconds=SECONDS, codec="libvpx", container="matroska", audio=True)
    banked = hash_video_file(clip).features[1]
    state = app.state.bastion
    with sessions() as session:
        bank = banks.create_bank(session, name="KNOWN", actor="test", clock=clock)
        banks.add_entry(session, bank, {"pdq": banked.hash}, actor="test", clock=clock, classification="A1")
        session.commit()
        state.matcher.refresh()
        scan_video(state.scanner, session, clip.read_bytes(), UploadMeta(content_id="p-1", account_id="a-1"),
                   source="upload", actor="test")
        session.commit()
        item = session.scalars(select(CaseItem)).one()
        return item.case_id, item.id


def test_video_routes_guard_the_media_and_bound_the_watch_time(  # type: ignore[no-untyped-def]
    client: TestClient, app, sessions: sessionmaker[Session], clock: ManualClock, user_factory, tmp_path: Path
) -> None:
    case_id, item_id = _video_case(app, sessions, clock, tmp_path)
    base = f"/cases/{case_id}/items/{item_id}"
    reviewer = user_factory(Role.REVIEWER)
    headers = {"X-CSRF-Token": api_login(client, reviewer, clock)}

    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'class="contact-sheet blurred"' in page.text and "<video" not in page.text
    sheet = client.get(f"{base}/sheet")
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/png"
    assert sheet.headers["cache-control"] == "no-store, private"

    # nothing beyond the blurred sheet without the case's claim; the attempts are audited
    assert client.post(f"{base}/play", headers=headers, follow_redirects=False).status_code == 403
    assert client.post(f"{base}/frames/0/reveal", headers=headers, follow_redirects=False).status_code == 403
    with sessions() as s:
        refused = [json.loads(r.details)["act"] for r in s.scalars(select(AuditRecord).where(
            AuditRecord.action == "media.refused"))]
    assert refused == ["play", "reveal_frame"]

    assert client.post(f"/cases/{case_id}/claim", headers=headers, follow_redirects=False).status_code == 303
    assert client.get(f"{base}/frames/0").status_code == 403  # not revealed yet
    assert client.get(f"{base}/video").status_code == 403  # not asked to play yet
    assert client.post(f"{base}/watched", data={"seconds": "3"}, headers=headers).status_code == 422

    early = client.post(f"{base}/frames/2/colour", headers=headers, follow_redirects=False)
    assert early.status_code == 403 and "colour is the step after that" in early.text  # colour before sharp
    assert client.post(f"{base}/frames/2/reveal", headers=headers, follow_redirects=False).status_code == 303
    page = client.get(f"/cases/{case_id}").text
    assert 'data-stage="sharp"' in page and "reveal-frame-colour" in page and 'data-stage="colour"' not in page
    frame = client.get(f"{base}/frames/2")
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(frame.content)).mode == "L"  # the sharp stage is served grey
    assert client.get(f"{base}/frames/1").status_code == 403  # one frame at a time
    assert client.post(f"{base}/frames/1/colour", headers=headers, follow_redirects=False).status_code == 403
    assert client.post(f"{base}/frames/2/colour", headers=headers, follow_redirects=False).status_code == 303
    assert 'data-stage="colour"' in client.get(f"/cases/{case_id}").text
    coloured = client.get(f"{base}/frames/2")
    assert coloured.status_code == 200 and Image.open(io.BytesIO(coloured.content)).mode == "RGB"
    assert 'data-stage=' not in client.get(f"/cases/{case_id}").text  # a reload blurs it again
    assert client.get(f"{base}/frames/2").status_code == 403
    with sessions() as s:
        stages = [json.loads(r.details).get("stage") for r in s.scalars(select(AuditRecord).where(
            AuditRecord.action == "media.reveal_frame").order_by(AuditRecord.seq))]
        refused = [json.loads(r.details)["act"] for r in s.scalars(select(AuditRecord).where(
            AuditRecord.action == "media.refused"))]
    assert stages == ["sharp", "colour"] and refused == ["play", "reveal_frame"]

    assert client.post(f"{base}/play", headers=headers, follow_redirects=False).status_code == 303
    served = client.get(f"{base}/video")
    assert served.status_code == 200 and served.headers["content-type"] == "video/webm"
    with av.open(io.BytesIO(served.content)) as container:
        assert [s.type for s in container.streams] == ["video"]  # the sound track is not served at all

    too_long = client.post(f"{base}/watched", data={"seconds": str(REPORT_MAX_SECONDS + 1)}, headers=headers)
    assert too_long.status_code == 422
    assert client.post(f"{base}/watched", data={"seconds": "nan"}, headers=headers).status_code == 422
    assert client.post(f"{base}/watched", data={"seconds": "4"}).status_code == 403  # no CSRF token
    counted = [client.post(f"{base}/watched", data={"seconds": "4"}, headers=headers).json()["counted"]
               for _ in range(4)]
    allowance = int(SECONDS) + PLAY_SLACK_SECONDS
    assert sum(counted) == allowance and counted[0] == 4  # never more than the video's length, plus slack
    with sessions() as s:
        row = s.scalars(select(ReviewerExposure).where(ReviewerExposure.user_id == reviewer.id)).one()
        assert (row.video_seconds, row.revealed) == (allowance, 2)  # a frame reveal and a play
        assert s.get(Case, case_id) is not None
        actions = set(s.scalars(select(AuditRecord.action).where(AuditRecord.subject == f"case_item:{item_id}")))
    assert {"media.contact_sheet", "media.reveal_frame", "media.view_frame", "media.play", "media.view",
            "media.watched"} <= actions
