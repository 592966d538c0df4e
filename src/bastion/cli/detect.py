"""Commands for hashing, scanning, retro-matching and hash banks."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bastion import audit
from bastion.banks import service, transfer
from bastion.cli.common import actor, clock, console, db_session, err_console, friendly_errors
from bastion.config import get_settings
from bastion.db import make_engine, make_sessionmaker
from bastion.matching.banked import BankMatch, BankMatcher
from bastion.media import DecodeLimits, MediaError, hash_file
from bastion.media.video_formats import sniff_container
from bastion.media.video_isolation import hash_video_untrusted
from bastion.media.video_limits import VideoLimits
from bastion.scanning.service import Scanner, ScanResult, UploadMeta
from bastion.scanning.video_scan import VideoScanResult, record_video

banks_app = typer.Typer(help="Hash banks: lists of known hashes to match against.", no_args_is_help=True)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".3gp", ".flv", ".wmv"}
PUBLISH_WAIT_SECONDS = 600.0
"""How long a CLI publish waits for another writer (the timer's publish of a big index takes minutes)."""


def _limits() -> DecodeLimits:
    settings = get_settings()
    return DecodeLimits(max_bytes=settings.media_max_bytes, max_pixels=settings.media_max_pixels)


def _is_video(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return sniff_container(file.read(4096)) is not None
    except OSError:
        return False


def _video_limits() -> VideoLimits:
    return VideoLimits(max_bytes=get_settings().media_max_bytes)


class _VideoBar:
    """A rich progress bar for one video being decoded: seconds decoded of the duration its headers declare.

    The decoder runs in an isolated process and reports every few dozen frames; a video whose
    headers declare no duration gets a bar without a total (elapsed time and frames only).
    """

    def __init__(self, progress: Progress, path: Path) -> None:
        self.progress = progress
        self.task = progress.add_task(f"decoding {path.name}", total=None)
        self.sized = False

    def __call__(self, frames: int, seconds: float, declared: float | None) -> None:
        if declared is not None and not self.sized:
            self.progress.update(self.task, total=round(declared, 1))
            self.sized = True
        self.progress.update(self.task, completed=round(seconds, 1))

    def done(self) -> None:
        self.progress.remove_task(self.task)


def _video_progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total} s"),
                    TimeElapsedColumn(), console=err_console, transient=True)


def _hash_video(path: Path, as_json: bool) -> None:
    """vPDQ (python-threatexchange's signal format), MD5 (HMA's video_md5) and SHA-256 of one video."""
    with _video_progress() if not as_json else nullcontext() as progress:
        bar = _VideoBar(progress, path) if isinstance(progress, Progress) else None
        h = hash_video_untrusted(path, _video_limits(), progress=bar)
    row = {"file": str(path), "content_type": "video", "md5": h.md5, "sha256": h.sha256, "width": h.width,
           "height": h.height, "frame_rate": round(h.frame_rate, 3), "frames": h.frames_decoded,
           "duration_seconds": round(h.duration_seconds, 3), "codec": h.codec, "vpdq": h.signal_string()}
    if as_json:
        print(json.dumps(row))
        return
    console.print(f"[bold]{path}[/bold]  video {h.width}x{h.height}, {h.codec}, {h.frames_decoded} frames, "
                  f"{h.duration_seconds:.1f} s at {h.frame_rate:.3f} fps")
    for key in ("md5", "sha256"):
        console.print(f"  {key:<12} {row[key]}")
    console.print(f"  vpdq         {len(h.features)} frames (hash, quality, seconds):")
    for feature in h.features:
        console.print(f"    {feature.hash} {feature.quality:>3} {feature.timestamp:9.3f}")


def hash_command(
    files: list[Path] = typer.Argument(..., help="Image or video files to hash."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
) -> None:
    """Print the PDQ hash and quality, MD5, SHA-1 and SHA-256 of each image; vPDQ, MD5 and SHA-256 of each video."""
    failed = False
    for path in files:
        try:
            if _is_video(path):
                _hash_video(path, as_json)
                continue
            h = hash_file(path, _limits())
        except (MediaError, OSError) as exc:
            failed = True
            message = exc.message if isinstance(exc, MediaError) else str(exc)
            code = exc.code if isinstance(exc, MediaError) else "unreadable"
            if as_json:
                print(json.dumps({"file": str(path), "error": code, "message": message}))
            else:
                err_console.print(f"[red]{path}: {message}[/red]")
            continue
        row = {"file": str(path), "pdq": h.pdq, "pdq_quality": h.pdq_quality, "md5": h.md5, "sha1": h.sha1,
               "sha256": h.sha256, "width": h.width, "height": h.height, "animated": h.animated}
        if as_json:
            print(json.dumps(row))
        else:
            console.print(f"[bold]{path}[/bold]  {h.width}x{h.height}{' (first frame)' if h.animated else ''}")
            for key in ("pdq", "pdq_quality", "md5", "sha1", "sha256"):
                console.print(f"  {key:<12} {row[key]}")
    if failed:
        raise typer.Exit(1)


def _scanner(sessions) -> Scanner:  # type: ignore[no-untyped-def]
    from bastion.web.app import build_detection

    _, scanner = build_detection(get_settings(), sessions, clock)
    return scanner


def _walk(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()
                                and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES))
        else:
            found.append(path)
    return found


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


@friendly_errors
def scan_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (walked recursively for images)."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Scan local files against the banks and record the scans, as the API does."""
    files = _walk(paths)
    results: list[dict[str, object]] = []
    with db_session() as session:
        scanner = _scanner(sessionmaker_of(session))
        with _progress() as progress:
            task = progress.add_task("scanning", total=len(files))
            for path in files:
                results.append(_scan_one(session, scanner, path, progress))
                session.commit()
                progress.advance(task)
    if as_json:
        for row in results:
            print(json.dumps(row))
        return
    table = Table("file", "result", "matches")
    for row in results:
        matches = "; ".join(f"{m['bank']} #{m['entry_id']} ({m['signal_type']} d={m['distance']})"
                            for m in row.get("matches", []))  # type: ignore[union-attr]
        table.add_row(str(row["file"]), str(row["result"]), matches)
    console.print(table)
    matched = sum(1 for r in results if r["result"] == "match")
    console.print(f"{len(results)} files: {matched} matched, "
                  f"{sum(1 for r in results if r['result'] == 'error')} could not be read.")


def _scan_one(session, scanner: Scanner, path: Path, progress: Progress) -> dict[str, object]:  # type: ignore[no-untyped-def]
    try:
        if _is_video(path):  # decoded in an isolated process, its own bar under the files' bar
            bar = _VideoBar(progress, path)
            try:
                hashes = hash_video_untrusted(path, _video_limits(), progress=bar)
            finally:
                bar.done()
            result: ScanResult | VideoScanResult = record_video(
                scanner, session, hashes, UploadMeta(content_id=path.name), source="cli", actor=actor(),
                data=path.read_bytes())
        else:
            data = path.read_bytes()
            result = scanner.scan_bytes(session, data, UploadMeta(content_id=path.name), source="cli", actor=actor())
    except (MediaError, OSError) as exc:
        session.rollback()
        return {"file": str(path), "result": "error", "message": getattr(exc, "message", str(exc))}
    outcome = result.outcome
    status = "match" if outcome.matches else ("allow-listed" if outcome.allowed else "no match")
    return {"file": str(path), "result": status, "scan_id": result.scan_id,
            "matches": [_match_row(m) for m in outcome.matches]}


def _match_row(match: BankMatch) -> dict[str, object]:
    row: dict[str, object] = {"bank": match.bank_name, "entry_id": match.entry_id, "signal_type": match.signal_type,
                              "distance": match.distance}
    if match.video is not None:  # a banked video: how much of each matched, and where
        row["query_match_percent"] = round(match.video.query_match_percent, 1)
        row["compared_match_percent"] = round(match.video.compared_match_percent, 1)
        row["query_ranges"] = [[r.start, r.end] for r in match.video.query_ranges]
    return row


def sessionmaker_of(session):  # type: ignore[no-untyped-def]
    from bastion.db import make_sessionmaker

    return make_sessionmaker(session.get_bind())


@friendly_errors
def rescan_command(
    since: datetime = typer.Option(..., help="Re-match scans recorded since this date (UTC)."),
    chunk_size: int = typer.Option(500, min=1, help="Scans per chunk (the unit a worker takes and a resume restarts)."),
    detach: bool = typer.Option(False, "--detach", help="With a broker: queue the job and return (follow it with "
                                "`bastion jobs follow ID`)."),
) -> None:
    """Match old scans again (after banks grew) and record the matches they did not have.

    A fan-out job: chunks of scans run on the workers' rescan queue (or here, without a broker);
    `bastion jobs cancel ID` stops it and `bastion jobs resume ID` finishes it after a crash.
    """
    from bastion.cli.jobs import run_job, services_for
    from bastion.jobs import service as jobs

    since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    with db_session() as session:
        job, messages = jobs.start_rescan(session, since, chunk_size=chunk_size, actor=actor(), clock=clock)
        job_id = job.id
        session.commit()
    run_job(job_id, messages, services=services_for("rescan"), detach=detach)


@banks_app.command("list")
@friendly_errors
def banks_list() -> None:
    """List banks with kind, threshold and size."""
    table = Table("name", "kind", "pdq threshold", "entries", "source", "status")
    with db_session() as session:
        counts = service.entry_counts(session)
        for b in service.list_banks(session):
            table.add_row(b.name, b.kind, str(b.pdq_threshold), str(counts.get(b.id, 0)), b.source,
                          "enabled" if b.enabled else "disabled")
    console.print(table)


@banks_app.command("create")
@friendly_errors
def banks_create(
    name: str,
    kind: str = typer.Option("match", help="match, or allow (hits suppress matches elsewhere)"),
    threshold: int = typer.Option(31, help="PDQ distance threshold for this bank (0-64)."),
    source: str = typer.Option("", help="Where the hashes come from."),
    description: str = typer.Option("", help="What the bank holds."),
) -> None:
    """Create a bank."""
    with db_session() as session:
        service.create_bank(session, name=name, kind=kind, pdq_threshold=threshold, source=source,
                            description=description, actor=actor(), clock=clock)
        session.commit()
    console.print(f"Created bank {name}.")


def _update(name: str, **changes: object) -> None:
    with db_session() as session:
        service.update_bank(session, service.get_bank(session, name), actor=actor(), clock=clock, **changes)
        session.commit()


@banks_app.command("rename")
@friendly_errors
def banks_rename(name: str, new_name: str) -> None:
    """Rename a bank."""
    _update(name, name=new_name)
    console.print(f"{name} is now {new_name}.")


@banks_app.command("disable")
@friendly_errors
def banks_disable(name: str, enable: bool = typer.Option(False, "--enable", help="Enable instead.")) -> None:
    """Stop a bank matching (or start again with --enable)."""
    _update(name, enabled=enable)
    console.print(f"{name} is {'enabled' if enable else 'disabled'}.")


@banks_app.command("set-threshold")
@friendly_errors
def banks_set_threshold(name: str, threshold: int) -> None:
    """Change a bank's PDQ distance threshold."""
    _update(name, pdq_threshold=threshold)
    console.print(f"{name} now matches PDQ within {threshold} bits.")


@banks_app.command("set-video-match")
@friendly_errors
def banks_set_video_match(
    name: str,
    query_percent: float = typer.Option(80.0, help="Share of a scanned video's frames that must match (0-100)."),
    compared_percent: float = typer.Option(0.0, help="Share of the banked video's frames that must match (0-100)."),
) -> None:
    """Change when a banked video matches (python-threatexchange's percentages; defaults 80 and 0)."""
    _update(name, vpdq_query_match_percent=query_percent, vpdq_compared_match_percent=compared_percent)
    console.print(f"{name} now matches a video when {query_percent:g}% of its frames and {compared_percent:g}% of "
                  "the banked video's frames match.")


@banks_app.command("delete")
@friendly_errors
def banks_delete(name: str) -> None:
    """Delete a bank (soft: it stops matching; its records stay)."""
    with db_session() as session:
        service.delete_bank(session, service.get_bank(session, name), actor=actor(), clock=clock)
        session.commit()
    console.print(f"Deleted bank {name}.")


@banks_app.command("import")
@friendly_errors
def banks_import(
    name: str,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The hash list."),
    fmt: str = typer.Option("te", "--format", help="te (`signal_type value` lines) or csv."),
    atomic: bool = typer.Option(False, "--atomic", help="Import nothing if any line is bad."),
    chunk_size: int = typer.Option(20_000, min=1, help="Rows per chunk (the unit a worker takes and a resume restarts)."),
    detach: bool = typer.Option(False, "--detach", help="With a broker: queue the job and return."),
) -> None:
    """Import a hash list, streamed; bad lines are reported with their numbers.

    The file is read and checked here; its good rows are written by a fan-out job (on the
    workers' import queue with a broker, else here), resumable with `bastion jobs resume ID`.
    """
    from bastion.cli.jobs import run_job, services_for
    from bastion.jobs import service as jobs

    size = file.stat().st_size
    report = transfer.ImportReport()

    def good_rows():  # type: ignore[no-untyped-def]
        with file.open(encoding="utf-8", errors="replace", newline="") as handle:
            for item in transfer.parse(handle, fmt):
                report.lines += 1
                if isinstance(item, transfer.LineError):
                    report.add_error(item)
                else:
                    yield item

    with db_session() as session:
        bank = service.get_bank(session, name)
        if atomic:
            for _ in good_rows():
                pass
            if report.error_count:
                first = report.errors[0]
                raise transfer.ImportRejected(
                    f"Nothing was imported: {report.error_count} bad line(s); first at line {first.line}: "
                    f"{first.message}", errors=report.errors)
            report = transfer.ImportReport()
        with err_console.status(f"reading {file.name}"):
            job, messages = jobs.start_import(session, bank, good_rows(), source=file.name, fmt=fmt,
                                              chunk_size=chunk_size, actor=actor(), clock=clock)
        job_id = job.id
        audit.record(session, actor=actor(), action="bank.import", subject=f"bank:{bank.id}", clock=clock,
                     details={"bank": bank.name, "format": fmt, "job": job_id, "rows": job.total,
                              "errors": report.error_count})
        session.commit()
    run_job(job_id, messages, services=services_for("import"), detach=detach)
    with db_session() as session:
        finished = jobs.get(session, job_id)
        figures = jobs.summary(session, finished)
        state = finished.state
    if state == "done":
        console.print(f"{file} ({size} bytes): {figures.get('imported', 0)} imported, "
                      f"{figures.get('duplicates', 0)} already present, {report.error_count} bad lines.")
    for error in report.errors[:20]:
        err_console.print(f"  line {error.line}: {error.message}")
    if report.error_count > 20:
        err_console.print(f"  … and {report.error_count - 20} more")
    if state == "done" and figures.get("imported"):
        _snapshot_after_import()


@banks_app.command("snapshot")
@friendly_errors
def banks_snapshot() -> None:
    """Publish the PDQ index snapshot now (to BASTION_SNAPSHOT_URL) for every server and worker to start from."""
    _snapshot_after_import()


def _snapshot_after_import() -> None:
    """Write the PDQ index snapshot now, so servers start from it instead of replaying the import.

    Running servers swap to it on their next snapshot check; until then they catch up in the
    background (see `BankMatcher.maybe_refresh`). Another process publishing at the same
    moment holds the advisory lock: this waits for it, then publishes only if still newer.
    """
    from bastion.web.app import snapshot_store

    settings = get_settings()
    if settings.pdq_index != "mih":
        return
    engine = make_engine(settings.effective_database_url)
    try:
        matcher = BankMatcher(make_sessionmaker(engine), clock, store=snapshot_store(settings))
        with console.status("writing the PDQ index snapshot"):
            matcher.load()
            generation = matcher.write_snapshot(wait=PUBLISH_WAIT_SECONDS)
        where = matcher.store.describe() if matcher.store is not None else ""
        if generation is None:
            console.print(f"PDQ index snapshot in {where} is already as new ({matcher.status().size} hashes), or "
                          "another process is publishing one.")
        else:
            console.print(f"PDQ index snapshot written to {where} ({matcher.status().size} hashes, change "
                          f"{generation}).")
    finally:
        engine.dispose()


@banks_app.command("export")
@friendly_errors
def banks_export(
    name: str,
    fmt: str = typer.Option("te", "--format", help="te or csv."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
) -> None:
    """Export a bank's signals, streamed."""
    with db_session() as session:
        bank = service.get_bank(session, name)
        target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for line in transfer.export_lines(session, bank, fmt):
                target.write(line)
        finally:
            if output:
                target.close()
