"""Video items of a case: the blurred contact sheet, one frame revealed in stages, and muted playback on request.

Every route checks what the image routes check (the case's claim, or `media.reveal_any`)
and audits what it shows; see `bastion.cases.video_review` for why the view is built
this way. Decoding happens in the isolated decoder process, from a private temporary
copy streamed out of the vault, which is removed as soon as the response is sent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from bastion import audit
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.cases import service, video_review, wellness
from bastion.cases.errors import ClaimRequired, NotRevealed
from bastion.cases.models import Case, CaseItem
from bastion.cases.policy import setting_for
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound
from bastion.media.video_frames import sample_frames_untrusted, silent_copy_untrusted
from bastion.scanning.models import Scan
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


def video_context(db: Session, items: list[Any], principal: Principal | None) -> dict[int, dict[str, Any]]:
    """For the case page: each video item's contact-sheet tiles, revealed frame and play state."""
    found: dict[int, dict[str, Any]] = {}
    for view in items:
        if not video_review.is_video(view.scan):
            continue
        item = view.item
        user_id = principal.user_id if principal is not None else 0
        found[item.id] = {
            "tiles": video_review.sheet(db, item, view.scan),
            "frame": video_review.revealed_frame(db, user_id, item.id),
            "playing": video_review.play_granted(db, user_id, item.id),
            "duration": video_review.facts(view.scan).duration,
        }
    return found


def _video_item(db: Session, case_id: int, item_id: int) -> tuple[Case, CaseItem, Scan]:
    case = service.get_case(db, case_id)
    item = service.get_item(db, case, item_id)
    scan = db.get(Scan, item.scan_id)
    if scan is None or not video_review.is_video(scan):
        raise NotFound(f"Item {item_id} of case {case_id} is not a video.")
    return case, item, scan


def _require_reveal(db: Session, case: Case, item: CaseItem, principal: Principal, act: str, clock: Clock) -> None:
    if service.may_reveal(case, principal.user_id, any_case=principal.can(Perm.MEDIA_REVEAL_ANY), clock=clock):
        return
    db.rollback()
    audit.record(db, actor=principal.actor, action="media.refused", subject=f"case_item:{item.id}",
                 details={"case": item.case_id, "act": act, "reason": "claim_required"}, clock=clock)
    db.commit()
    raise ClaimRequired()


def _copy(request: Request, db: Session, item: CaseItem, principal: Principal, purpose: str) -> Path | None:
    """A private temporary copy of the video (streamed from the vault); the caller removes its directory."""
    store = get_state(request).services.get("media_store")
    if store is None or not hasattr(store, "load_to_file"):
        return None
    folder = Path(tempfile.mkdtemp(prefix="bastion-review-"))
    path = folder / "media"
    try:
        if not store.load_to_file(db, item, path, actor=principal.actor, reason=f"review {purpose}"):
            shutil.rmtree(folder, ignore_errors=True)
            return None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def _frames(request: Request, db: Session, item: CaseItem, principal: Principal, purpose: str,
            times: list[float], px: int) -> list[Any] | None:
    path = _copy(request, db, item, principal, purpose)
    if path is None:
        return None
    try:
        return sample_frames_untrusted(path, times, px)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@router.get("/cases/{case_id}/items/{item_id}/sheet")
def video_sheet(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The contact sheet: sampled and matched frames, blurred and grey per the viewer's settings."""
    clock = get_state(request).clock
    case, item, scan = _video_item(db, case_id, item_id)
    tiles = video_review.sheet(db, item, scan)
    blur = bool(setting_for(db, principal.user_id, "wellness.blur"))
    grey = bool(setting_for(db, principal.user_id, "wellness.greyscale"))
    frames = _frames(request, db, item, principal, "contact sheet", [t.timestamp for t in tiles],
                     video_review.TILE_PX)
    audit.record(db, actor=principal.actor, action="media.contact_sheet", subject=f"case_item:{item.id}",
                 details={"case": case_id, "frames": len(tiles), "blurred": blur, "greyscale": grey}, clock=clock)
    db.commit()
    if frames is None:
        return Response(status_code=404, headers=NO_STORE)
    return Response(video_review.render_sheet(frames, tiles, blur=blur, greyscale=grey), media_type="image/png",
                    headers=NO_STORE)


@router.post("/cases/{case_id}/items/{item_id}/frames/{index}/reveal")
def video_frame_reveal(request: Request, case_id: int, item_id: int, index: int, db: Session = Depends(get_db),
                       principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """Reveal one frame of the contact sheet: audited and counted as an exposure, like revealing an image."""
    clock = get_state(request).clock
    case, item, scan = _video_item(db, case_id, item_id)
    _require_reveal(db, case, item, principal, "reveal_frame", clock)
    tiles = video_review.sheet(db, item, scan)
    if not 0 <= index < len(tiles):
        raise InvalidInput(f"The contact sheet has frames 0 to {len(tiles) - 1}.")
    video_review.reveal_frame(db, principal.user_id, item.id, index, clock)
    service.mark_viewed(db, item)
    _audit_frame_step(db, principal, item, tiles[index], wellness.SHARP, clock)
    db.commit()
    return RedirectResponse(f"/cases/{case_id}#item-{item.id}", status_code=303)


@router.post("/cases/{case_id}/items/{item_id}/frames/{index}/colour")
def video_frame_colour(request: Request, case_id: int, item_id: int, index: int, db: Session = Depends(get_db),
                       principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The last step for the frame shown sharp: colour, as for an image; refused before the sharp step."""
    clock = get_state(request).clock
    case, item, scan = _video_item(db, case_id, item_id)
    _require_reveal(db, case, item, principal, "frame_colour", clock)
    tiles = video_review.sheet(db, item, scan)
    if not 0 <= index < len(tiles):
        raise InvalidInput(f"The contact sheet has frames 0 to {len(tiles) - 1}.")
    video_review.reveal_frame_colour(db, principal.user_id, item.id, index, clock)
    _audit_frame_step(db, principal, item, tiles[index], wellness.COLOUR, clock)
    db.commit()
    return RedirectResponse(f"/cases/{case_id}#item-{item.id}", status_code=303)


def _audit_frame_step(db: Session, principal: Principal, item: CaseItem, tile: video_review.SheetFrame,
                      stage: str, clock: Clock) -> None:
    audit.record(db, actor=principal.actor, action="media.reveal_frame", subject=f"case_item:{item.id}",
                 details={"case": item.case_id, "frame": tile.index, "timestamp": tile.timestamp,
                          "matched": tile.matched, "stage": stage}, clock=clock)


@router.get("/cases/{case_id}/items/{item_id}/frames/{index}")
def video_frame(request: Request, case_id: int, item_id: int, index: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The one revealed frame, unblurred; any other frame is refused."""
    clock = get_state(request).clock
    case, item, scan = _video_item(db, case_id, item_id)
    _require_reveal(db, case, item, principal, "frame", clock)
    stage = video_review.frame_stage(db, principal.user_id, item.id, index)
    if stage is None:
        raise NotRevealed("Reveal this frame first; only one frame is shown unblurred at a time.")
    tiles = video_review.sheet(db, item, scan)
    frames = _frames(request, db, item, principal, "revealed frame", [tiles[index].timestamp],
                     video_review.REVEAL_PX)
    audit.record(db, actor=principal.actor, action="media.view_frame", subject=f"case_item:{item.id}",
                 details={"case": case_id, "frame": index, "timestamp": tiles[index].timestamp, "stage": stage},
                 clock=clock)
    db.commit()
    if not frames:
        return Response(status_code=404, headers=NO_STORE)
    frame = video_review.render_frame(frames[0], colour=stage == wellness.COLOUR)
    return Response(frame, media_type="image/png", headers=NO_STORE)


@router.post("/cases/{case_id}/items/{item_id}/play")
def video_play(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The explicit request to play: grants watched seconds up to the video's length; audited, an exposure."""
    clock = get_state(request).clock
    case, item, scan = _video_item(db, case_id, item_id)
    _require_reveal(db, case, item, principal, "play", clock)
    wellness.reveal(db, principal.user_id, item.id, clock)
    allowance = video_review.grant_play(db, principal.user_id, item.id, video_review.facts(scan).duration)
    service.mark_viewed(db, item)
    audit.record(db, actor=principal.actor, action="media.play", subject=f"case_item:{item.id}",
                 details={"case": case_id, "allowance_seconds": allowance}, clock=clock)
    db.commit()
    return RedirectResponse(f"/cases/{case_id}#item-{item.id}", status_code=303)


@router.get("/cases/{case_id}/items/{item_id}/video")
def video_stream(request: Request, case_id: int, item_id: int, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The video stream alone (no audio track), only after Play, to the reviewer who pressed it."""
    clock = get_state(request).clock
    case, item, _ = _video_item(db, case_id, item_id)
    _require_reveal(db, case, item, principal, "video", clock)
    if not video_review.play_granted(db, principal.user_id, item.id):
        raise NotRevealed("Press Play first; a video is served only to the reviewer who asked to play it.")
    path = _copy(request, db, item, principal, "playback")
    audit.record(db, actor=principal.actor, action="media.view", subject=f"case_item:{item.id}",
                 details={"case": case_id, "video": True, "audio": False}, clock=clock)
    db.commit()
    if path is None:
        return Response(status_code=404, headers=NO_STORE)
    silent = path.parent / "silent"
    try:
        media_type = silent_copy_untrusted(path, silent)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    path.unlink()
    return FileResponse(silent, media_type=media_type, headers=NO_STORE,
                        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True))


@router.post("/cases/{case_id}/items/{item_id}/watched")
def video_watched(request: Request, case_id: int, item_id: int, seconds: float = Form(...),
                  db: Session = Depends(get_db), principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """The player's report of seconds played: bounded per report and by the play grant, added to exposure."""
    clock = get_state(request).clock
    case, item, _ = _video_item(db, case_id, item_id)
    _require_reveal(db, case, item, principal, "watched", clock)
    counted = video_review.record_watched(db, principal.user_id, item.id, seconds, clock)
    audit.record(db, actor=principal.actor, action="media.watched", subject=f"case_item:{item.id}",
                 details={"case": case_id, "reported": seconds, "counted": counted}, clock=clock)
    seen = wellness.exposure(db, principal.user_id, clock)
    db.commit()
    return Response(f'{{"counted": {counted}, "video_seconds_today": {seen.video_seconds}}}',
                    media_type="application/json", headers=NO_STORE)
