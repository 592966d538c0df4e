"""Seeding Bastion's demo: a bank of known pictures, a folder of uploads, and a first scan of them.

The uploads stand for the demo platform's posts, so a match on the dashboard
leads to a post that the demo platform shows and can take down.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service
from bastion.clock import Clock
from bastion.dev.pictures import ALTERATIONS, encode, picture
from bastion.dev.platform.seed import POSTS as PLATFORM_POSTS
from bastion.media import hash_media
from bastion.scanning.service import Scanner, UploadMeta

DEMO_BANK = "DEMO_KNOWN_IMAGES"
ALLOW_BANK = "DEMO_ALLOW_LIST"
KNOWN = range(1, 7)  # pictures in the bank
UNRELATED = range(101, 104)  # pictures that match nothing
ALLOWED = 201  # a picture on the allow list


@dataclass(frozen=True)
class SeedReport:
    created: bool
    uploads: int
    matched: int


def seed_demo(sessions: sessionmaker[Session], scanner: Scanner, uploads_dir: Path, clock: Clock) -> SeedReport:
    """Create the demo banks and uploads once; later calls change nothing."""
    with sessions() as session:
        if any(b.name == DEMO_BANK for b in service.list_banks(session)):
            return SeedReport(False, 0, 0)
        bank = service.create_bank(session, name=DEMO_BANK, source="demo", actor="demo", clock=clock,
                                   description="Benign synthetic pictures standing in for a known-hash list.")
        allow = service.create_bank(session, name=ALLOW_BANK, kind="allow", source="demo", actor="demo", clock=clock,
                                    description="Known-benign media whose matches are suppressed.")
        for seed in KNOWN:
            _bank_picture(session, bank, seed, clock)
        _bank_picture(session, allow, ALLOWED, clock)
        session.commit()
    files = _write_uploads(uploads_dir)
    scanner.matcher.refresh()
    matched = 0
    posts = [p for p in PLATFORM_POSTS if p.image_format]  # uploads stand for the demo platform's posts
    with sessions() as session:
        for number, path in enumerate(files, start=1):
            post = posts[(number - 1) % len(posts)]
            meta = UploadMeta(content_id=post.content_id, account_id=post.account_id,
                              extra={"demo_file": path.name})
            result = scanner.scan_bytes(session, path.read_bytes(), meta, source="cli", actor="demo")
            matched += bool(result.outcome.matches)
        session.commit()
    return SeedReport(True, len(files), matched)


def _bank_picture(session: Session, bank, seed: int, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    hashes = hash_media(encode(picture(seed)))
    service.add_entry(session, bank, {"pdq": hashes.pdq, "md5": hashes.md5}, actor="demo", clock=clock,
                      external_id=f"demo-{seed}", source="demo", classification="demo", audited=False)


def _write_uploads(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    alterations = list(ALTERATIONS.items())
    for i, seed in enumerate(KNOWN):
        name, alter = alterations[i % len(alterations)]
        files.append(_save(folder / f"known-{seed}-{name}.jpg", alter(picture(seed))))
    files.append(_save(folder / f"known-{KNOWN[0]}-exact.jpg", picture(KNOWN[0])))
    for seed in UNRELATED:
        files.append(_save(folder / f"unrelated-{seed}.jpg", picture(seed)))
    files.append(_save(folder / f"allowed-{ALLOWED}-resized.jpg", ALTERATIONS["resized"](picture(ALLOWED))))
    return files


def _save(path: Path, image) -> Path:  # type: ignore[no-untyped-def]
    path.write_bytes(encode(image))
    return path
