"""Scanning: from bytes (or a URL) to hashes, matches and a stored scan record."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.matching.banked import BankMatch, BankMatcher, MatchOutcome, combine
from bastion.media import DEFAULT_LIMITS, MD5, PDQ, SHA1, SHA256, DecodeLimits, MediaHashes
from bastion.media.isolation import hash_untrusted
from bastion.media.video import VpdqFeature, signal_to_features
from bastion.scanning.models import Scan, ScanMatch
from bastion.scanning.signals import MIN_PDQ_QUALITY, signals_of
from bastion.scanning.urlfetch import FetchPolicy, fetch


@dataclass(frozen=True)
class UploadMeta:
    """What the platform tells us about an upload."""

    content_id: str = ""
    account_id: str = ""
    uploaded_at: datetime | None = None
    client_ip: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanResult:
    scan_id: int
    hashes: MediaHashes
    outcome: MatchOutcome
    pdq_used: bool


#: Called with the scan, its new matches and, when the scan had them, the media bytes.
MatchListener = Callable[[Session, Scan, list[BankMatch], bytes | None], None]


class Scanner:
    """Hashes, matches and records. Listeners (cases, later) run in the same transaction."""

    def __init__(self, matcher: BankMatcher, clock: Clock, *, limits: DecodeLimits = DEFAULT_LIMITS,
                 fetch_policy: FetchPolicy | None = None, fast_decode: bool = False) -> None:
        self.matcher, self.clock, self.limits, self.fast_decode = matcher, clock, limits, fast_decode
        self.fetch_policy = fetch_policy or FetchPolicy()
        self.listeners: list[MatchListener] = []
        #: Called with a scan that matched nothing and its bytes (an external classifier's chance to look).
        self.unmatched_listeners: list[Callable[[Session, Scan, bytes | None], object]] = []

    def scan_bytes(self, session: Session, data: bytes, meta: UploadMeta, *, source: str, actor: str,
                   url: str = "") -> ScanResult:
        hashes = hash_untrusted(data, self.limits, dihedral=True, fast=self.fast_decode)
        signals = signals_of(hashes)
        variants = list(hashes.dihedral or ()) if PDQ in signals else []
        outcome = self.matcher.match(session, signals, pdq_variants=variants)
        scan = self._record(session, hashes, meta, outcome, source=source, actor=actor, url=url, data=data)
        return ScanResult(scan.id, hashes, outcome, PDQ in signals)

    def fingerprint(self, session: Session, data: bytes) -> tuple[MediaHashes, MatchOutcome]:
        """Hash and match media that is not an upload (a complainant's copy): nothing is recorded.

        Same decoding limits and isolation as a scan, but no scan row, so no case and no report
        ever names the person who sent it as an uploader.
        """
        hashes = hash_untrusted(data, self.limits, dihedral=True, fast=self.fast_decode)
        signals = signals_of(hashes)
        variants = list(hashes.dihedral or ()) if PDQ in signals else []
        return hashes, self.matcher.match(session, signals, pdq_variants=variants)

    def uploads_with(self, session: Session, md5: str, *, limit: int = 50) -> list[str]:
        """Platform content ids of earlier uploads with exactly these bytes (an indexed lookup)."""
        rows = session.scalars(select(Scan.content_id).where(Scan.md5 == md5, Scan.content_id != "")
                               .order_by(Scan.id.desc()).limit(limit))
        return list(dict.fromkeys(rows))

    def scan_url(self, session: Session, url: str, meta: UploadMeta, *, actor: str) -> ScanResult:
        fetched = fetch(url, self.fetch_policy)
        return self.scan_bytes(session, fetched.content, meta, source="url", actor=actor, url=url)

    def _record(self, session: Session, hashes: MediaHashes, meta: UploadMeta, outcome: MatchOutcome, *,
                source: str, actor: str, url: str, data: bytes) -> Scan:
        now = self.clock.now()
        scan = Scan(
            created_at=now, source=source, url=url[:2000], content_id=meta.content_id[:255],
            account_id=meta.account_id[:255], uploaded_at=meta.uploaded_at, client_ip=meta.client_ip[:64],
            metadata_json=json.dumps(meta.extra, default=str), md5=hashes.md5, sha1=hashes.sha1,
            sha256=hashes.sha256, pdq=hashes.pdq, pdq_quality=hashes.pdq_quality,
            pdq_dihedral=" ".join(hashes.dihedral or ()), width=hashes.width, height=hashes.height,
            media_format=hashes.format, animated=hashes.animated, match_count=len(outcome.matches),
            allowed=bool(outcome.allowed), submitted_by=actor[:200],
        )
        session.add(scan)
        session.flush()
        self._add_matches(session, scan, outcome.matches, found_by="scan", data=data)
        if not outcome.matches and not outcome.allowed:
            for listener in self.unmatched_listeners:
                listener(session, scan, data)
        return scan

    def _add_matches(self, session: Session, scan: Scan, matches: list[BankMatch], *, found_by: str,
                     data: bytes | None = None) -> None:
        for match in matches:
            session.add(ScanMatch(scan_id=scan.id, bank_id=match.bank_id, bank_name=match.bank_name,
                                  entry_id=match.entry_id, signal_id=match.signal_id, signal_type=match.signal_type,
                                  distance=match.distance, classification=match.classification,
                                  found_at=self.clock.now(), found_by=found_by))
        session.flush()
        if matches:
            for listener in self.listeners:
                listener(session, scan, matches, data)

    def rescan(self, session: Session, since: datetime, *, batch: int = 500,
               progress: Callable[[int], None] | None = None) -> "RescanReport":
        """Match stored scans from `since` again, recording matches they did not have (banks grew)."""
        report = RescanReport()
        for scans in _batches(session, since, batch):
            self.rescan_scans(session, scans, report)
            session.commit()
            if progress:
                progress(report.scanned)
        return report

    def rescan_range(self, session: Session, since: datetime, lo_id: int, hi_id: int) -> "RescanReport":
        """Match again the scans from `since` with ids in [lo_id, hi_id] (one chunk of a fan-out rescan).

        Nothing is committed: the caller commits the matches with its own record of the chunk being done.
        """
        report = RescanReport()
        scans = list(session.scalars(select(Scan).where(Scan.created_at >= since, Scan.id >= lo_id, Scan.id <= hi_id)
                                     .order_by(Scan.id)))
        if scans:
            self.rescan_scans(session, scans, report)
        return report

    def rescan_scans(self, session: Session, scans: list[Scan], report: "RescanReport") -> None:
        """Match `scans` again and record the matches they did not have, adding to `report`; no commit."""
        items = []
        for scan in scans:
            signals = {MD5: scan.md5, SHA1: scan.sha1, SHA256: scan.sha256}
            variants: list[str] = []
            if scan.pdq and scan.pdq_quality >= MIN_PDQ_QUALITY:
                signals[PDQ] = scan.pdq
                variants = scan.pdq_dihedral.split()
            items.append((signals, variants))
        outcomes = self.matcher.match_many(session, items)
        for position, scan in enumerate(scans):  # a video's vPDQ, kept with the scan, against banked videos
            features = _video_features(scan) if scan.media_format == "video" else []
            if features:
                outcomes[position] = combine(outcomes[position], self.matcher.match_video(session, features))
        known = _known_signals(session, [s.id for s in scans])
        for scan, outcome in zip(scans, outcomes):
            fresh = [m for m in outcome.matches if (scan.id, m.signal_id) not in known]
            if fresh:
                self._add_matches(session, scan, fresh, found_by="rescan")
                scan.match_count += len(fresh)
                report.new_matches += len(fresh)
                report.scans_with_new_matches += 1
            report.scanned += 1


@dataclass
class RescanReport:
    scanned: int = 0
    new_matches: int = 0
    scans_with_new_matches: int = 0


def _batches(session: Session, since: datetime, size: int) -> Iterator[list[Scan]]:
    last = 0
    while True:
        scans = list(session.scalars(
            select(Scan).where(Scan.created_at >= since, Scan.id > last).order_by(Scan.id).limit(size)))
        if not scans:
            return
        yield scans
        last = scans[-1].id


def _video_features(scan: Scan) -> list[VpdqFeature]:
    """The vPDQ a video scan recorded in its metadata (see `scanning.video_scan`), or none."""
    try:
        video = json.loads(scan.metadata_json or "{}").get("bastion_video") or {}
        return signal_to_features(video.get("vpdq") or "[]")
    except (ValueError, AttributeError):
        return []


def _known_signals(session: Session, scan_ids: list[int]) -> set[tuple[int, int]]:
    rows = session.execute(select(ScanMatch.scan_id, ScanMatch.signal_id).where(ScanMatch.scan_id.in_(scan_ids)))
    return {(a, b) for a, b in rows.all()}
