"""Scanning a video: its bytes' digests and every sampled frame against the banks, with the times it matched.

A video is hashed in the isolated decoder (vPDQ, MD5, SHA-256). Its MD5 and SHA-256 are
matched exactly, as for any file; each distinct frame hash of quality >= 50 is matched
against the banks' PDQ signals like a photo, so a known picture shown inside a video is
found, and the answer says at which seconds. The whole vPDQ is matched against the banked
videos by python-threatexchange's percentage rule (:meth:`BankMatcher.match_video`), with
each bank's thresholds; those matches carry the percentages and the matched stretches.

An allow-bank hit on the file's digests or on the whole video suppresses every match, as
for a photo; an allow-bank hit on a frame suppresses only that frame's matches (a harmless
picture inside a video says nothing about its other frames).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bastion.errors import BastionError
from bastion.matching.banked import BankMatch, MatchOutcome, combine
from bastion.media import MD5, PDQ, SHA256
from bastion.media.video import VPDQ_QUALITY_THRESHOLD, VideoHashes
from bastion.media.video_isolation import hash_video_untrusted
from bastion.media.video_limits import VideoLimits
from bastion.scanning.models import Scan
from bastion.scanning.service import Scanner, UploadMeta


class AsyncOnly(BastionError):
    """A video too large to decode while the caller waits: it must go through the asynchronous batch API."""

    code = "async_only"
    status = 413


def check_sync_size(size: int, limit: int) -> None:
    """Refuse a synchronous scan of a video over `limit` bytes, saying where to send it instead."""
    if size > limit:
        raise AsyncOnly(f"This video is {size} bytes; videos over {limit} bytes are scanned only asynchronously. "
                        "Submit it to POST /api/v1/scans and poll GET /api/v1/scans/{id} (or take the webhook).")


@dataclass(frozen=True)
class VideoScanResult:
    scan_id: int
    hashes: VideoHashes
    outcome: MatchOutcome
    #: signal id -> the seconds at which a frame matched it (empty for a digest match)
    times: dict[int, list[float]] = field(default_factory=dict)


def scan_video(scanner: Scanner, session: Session, data: bytes, meta: UploadMeta, *, source: str, actor: str,
               limits: VideoLimits | None = None) -> VideoScanResult:
    """Hash, match and record one video (the scan keeps hashes and metadata, never the media)."""
    hashes = hash_video_untrusted(data, limits or VideoLimits(max_bytes=scanner.limits.max_bytes))
    return record_video(scanner, session, hashes, meta, source=source, actor=actor, data=data)


def record_video(scanner: Scanner, session: Session, hashes: VideoHashes, meta: UploadMeta, *, source: str,
                 actor: str, data: bytes | None = None) -> VideoScanResult:
    """Match and record a video already hashed (the CLI hashes in its own process, with a progress bar)."""
    frame_times: dict[str, list[float]] = defaultdict(list)
    for feature in hashes.features:
        if feature.quality >= VPDQ_QUALITY_THRESHOLD:
            frame_times[feature.hash].append(feature.timestamp)
    frames = list(frame_times)
    items = [({MD5: hashes.md5, SHA256: hashes.sha256}, [])] + [({PDQ: h}, []) for h in frames]
    digests, *per_frame = scanner.matcher.match_many(session, items)
    whole = combine(digests, scanner.matcher.match_video(session, hashes.features))
    best: dict[int, BankMatch] = {m.signal_id: m for m in whole.matches}
    allowed: dict[int, BankMatch] = {m.signal_id: m for m in whole.allowed}
    suppressed: dict[int, BankMatch] = {m.signal_id: m for m in whole.suppressed}
    times: dict[int, list[float]] = defaultdict(list)
    for frame_hash, outcome in zip(frames, per_frame, strict=True):
        for bucket, found in ((best, outcome.matches), (allowed, outcome.allowed), (suppressed, outcome.suppressed)):
            for match in found:
                times[match.signal_id].extend(frame_times[frame_hash])
                if match.signal_id not in bucket or match.distance < bucket[match.signal_id].distance:
                    bucket[match.signal_id] = match
    if whole.allowed:  # the file itself is allowed: nothing in it is reported
        suppressed.update(best)
        best = {}
    order = lambda m: (m.distance, m.bank_name, m.entry_id)  # noqa: E731
    outcome = MatchOutcome(matches=sorted(best.values(), key=order), allowed=sorted(allowed.values(), key=order),
                           suppressed=sorted(suppressed.values(), key=order))
    scan = Scan(created_at=scanner.clock.now(), source=source, content_id=meta.content_id[:255],
                account_id=meta.account_id[:255], uploaded_at=meta.uploaded_at, client_ip=meta.client_ip[:64],
                metadata_json=_metadata(meta, hashes), md5=hashes.md5, sha1="", sha256=hashes.sha256,
                width=hashes.width, height=hashes.height, media_format="video", animated=True,
                match_count=len(outcome.matches), allowed=bool(outcome.allowed), submitted_by=actor[:200])
    session.add(scan)
    session.flush()
    scanner._add_matches(session, scan, outcome.matches, found_by="scan", data=data)  # noqa: SLF001
    return VideoScanResult(scan.id, hashes, outcome, {k: sorted(set(v)) for k, v in times.items()})


def _metadata(meta: UploadMeta, hashes: VideoHashes) -> str:
    """The platform's metadata, plus what the decoder saw and the vPDQ (for later video matching)."""
    video = {"codec": hashes.codec, "container": hashes.container, "frames": hashes.frames_decoded,
             "duration_seconds": round(hashes.duration_seconds, 3), "vpdq": hashes.signal_string()}
    return json.dumps({**meta.extra, "bastion_video": video}, default=str)
