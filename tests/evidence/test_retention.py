"""Retention and legal holds: expired evidence is purged to a tombstone, held evidence is kept."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.errors import Conflict
from bastion.evidence import (
    PURGE_TASK,
    FsspecBlobStore,
    HeldEvidence,
    InvalidEvidence,
    PolicyNotFound,
    RetentionActive,
    Vault,
    retention,
)
from bastion.evidence.models import EvidenceBlob, EvidenceItem
from bastion.executor import TaskContext
from bastion.timers import Ticker, pending_for
from tests.evidence._helpers import synthetic_jpeg

YEAR = timedelta(days=366)


def _item(vault: Vault, s: Session, subject: str = "case:9", data: bytes | None = None) -> EvidenceItem:
    return vault.preserve(s, data if data is not None else os.urandom(256), kind="media", subject=subject,
                          actor="reviewer:ana", reason="reported to NCMEC", metadata={"uploader": "account:x"})


@pytest.mark.parametrize(("start", "duration", "expected"), [
    (datetime(2024, 2, 29, 10, tzinfo=timezone.utc), "P1Y", datetime(2025, 2, 28, 10, tzinfo=timezone.utc)),
    (datetime(2025, 8, 31, tzinfo=timezone.utc), "P6M", datetime(2026, 2, 28, tzinfo=timezone.utc)),
    (datetime(2025, 1, 1, tzinfo=timezone.utc), "P180D", datetime(2025, 6, 30, tzinfo=timezone.utc)),
    (datetime(2025, 12, 15, tzinfo=timezone.utc), "P1M2W", datetime(2026, 1, 29, tzinfo=timezone.utc)),
])
def test_durations_are_calendar_aware(start: datetime, duration: str, expected: datetime) -> None:
    assert retention.add_duration(start, duration) == expected


@pytest.mark.parametrize("bad", ["", "P", "1Y", "P1.5Y", "PT5H"])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(InvalidEvidence, match="ISO 8601"):
        retention.add_duration(datetime(2025, 1, 1, tzinfo=timezone.utc), bad)


def test_the_shipped_catalogue_is_in_the_table(vault: Vault, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        policies = {p.key: p for p in retention.list_policies(s)}
    assert policies["cybertipline_report"].duration == "P1Y"
    assert "2258A" in policies["cybertipline_report"].citation
    assert "REPORT Act" in policies["cybertipline_report"].citation
    assert policies["removed_content"].duration == "P180D"
    assert "Rule 3(1)(g)" in policies["removed_content"].citation
    assert all(isinstance(p.as_of, date) for p in policies.values())


def test_after_a_year_unheld_evidence_is_purged_and_held_evidence_kept(
    vault: Vault, store: FsspecBlobStore, clock: ManualClock, sessions: sessionmaker[Session]
) -> None:
    reported_at = clock.now()
    with sessions() as s:
        free = _item(vault, s, data=synthetic_jpeg(exif={0x010F: "Test Camera"}))
        by_item, by_subject = _item(vault, s, subject="case:7"), _item(vault, s, subject="case:8")
        for item in (free, by_item, by_subject):
            vault.apply_retention(s, item.id, "cybertipline_report", from_time=reported_at, actor="system:ncmec")
        vault.place_hold(s, item_id=by_item.id, reason="grand jury subpoena", actor="legal:cy")
        subject_hold = vault.place_hold(s, subject="case:8", reason="litigation hold", actor="legal:cy",
                                        reference="LH-2026-3")
        s.commit()
        ids = free.id, by_item.id, by_subject.id
        free_blob = s.get(EvidenceBlob, free.blob_id)
        assert free_blob is not None
        free_object, free_hashes = free_blob.object_key, (free.sha256, free.md5, free.sha1)

    clock.advance(timedelta(days=364))
    with sessions() as s:
        assert vault.purge_expired(s).purged == []
        s.commit()

    clock.advance(timedelta(days=2))
    with sessions() as s:
        report = vault.purge_expired(s)
        s.commit()
    assert report.purged == [ids[0]] and report.objects_deleted == [free_object]
    assert sorted(report.held) == sorted(ids[1:])
    assert free_object not in set(store.keys())
    with sessions() as s:
        tomb = vault.get(s, ids[0])
        assert tomb.status == "purged" and tomb.blob_id is None and tomb.purged_at == clock.now()
        assert (tomb.sha256, tomb.md5, tomb.sha1) == free_hashes
        assert tomb.exif_json == tomb.metadata_json == "{}"
        assert [e.action for e in vault.custody(s, ids[0])] == ["store", "retention", "purge"]
        purge_event = vault.custody(s, ids[0])[-1]
        assert json.loads(purge_event.details_json)["policies"] == ["cybertipline_report"]
        for kept in ids[1:]:
            assert vault.open(s, kept, actor="legal:cy", reason="check hold") is not None
        vault.release_hold(s, subject_hold.id, reason="litigation settled", actor="legal:cy")
        s.commit()

    with sessions() as s:
        report = vault.purge_expired(s)
        s.commit()
    assert report.purged == [ids[2]] and report.held == [ids[1]]
    with sessions() as s:
        assert [e.action for e in vault.custody(s, ids[2])] == [
            "store", "retention", "hold", "view", "release", "purge"]
        assert vault.get(s, ids[1]).status == "preserved"


def test_the_latest_deadline_wins(vault: Vault, clock: ManualClock, sessions: sessionmaker[Session]) -> None:
    now = clock.now()
    with sessions() as s:
        a, b = _item(vault, s), _item(vault, s)
        vault.apply_retention(s, a.id, "cybertipline_report", from_time=now, actor="x")
        vault.apply_retention(s, a.id, "removed_content", from_time=now, actor="x")
        vault.apply_retention(s, b.id, "removed_content", from_time=now, actor="x")
        vault.apply_retention(s, b.id, "cybertipline_report", from_time=now - timedelta(days=30), actor="x")
        s.commit()
        assert a.retention_until == retention.add_duration(now, "P1Y")
        assert b.retention_until == retention.add_duration(now - timedelta(days=30), "P1Y")
        [timer] = pending_for(s, f"evidence:{b.id}")
        assert timer.kind == PURGE_TASK and timer.due_at == b.retention_until
        with pytest.raises(PolicyNotFound):
            vault.apply_retention(s, a.id, "no_such_policy", from_time=now, actor="x")


def test_a_shared_object_stays_while_another_item_needs_it(vault: Vault, store: FsspecBlobStore, clock: ManualClock,
                                                           sessions: sessionmaker[Session]) -> None:
    data = os.urandom(128)
    with sessions() as s:
        expiring, keeper = _item(vault, s, data=data), _item(vault, s, subject="account:abc", data=data)
        vault.apply_retention(s, expiring.id, "removed_content", from_time=clock.now(), actor="x")
        s.commit()
    clock.advance(timedelta(days=181))
    with sessions() as s:
        report = vault.purge_expired(s)
        s.commit()
        assert report.purged == [expiring.id] and report.objects_deleted == []
        assert vault.open(s, keeper.id, actor="a", reason="r") == data
    assert len(list(store.keys())) == 1


def test_editing_the_catalogue_is_audited_and_does_not_move_existing_deadlines(
    vault: Vault, clock: ManualClock, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        item = _item(vault, s)
        vault.apply_retention(s, item.id, "removed_content", from_time=clock.now(), actor="x")
        before = item.retention_until
        retention.set_policy(s, "removed_content", title="Removed content (India)", duration="P1Y",
                             citation="IT Rules 2021, Rule 3(1)(g) (hypothetical amendment)", as_of=date(2026, 1, 1),
                             actor="legal:eve", reason="amendment notified", clock=clock)
        s.commit()
        assert vault.get(s, item.id).retention_until == before
        [record] = s.scalars(select(AuditRecord).where(AuditRecord.action == "evidence.policy.set",
                                                       AuditRecord.actor == "legal:eve")).all()
        details = json.loads(record.details)
        assert details["before"]["duration"] == "P180D" and details["after"]["duration"] == "P1Y"
        assert details["reason"] == "amendment notified"
        retention.set_policy(s, "removed_content", title="retired", duration="P1Y", citation="x",
                             as_of=date(2026, 1, 1), active=False, actor="legal:eve", reason="superseded", clock=clock)
        with pytest.raises(PolicyNotFound, match="retired"):
            vault.apply_retention(s, item.id, "removed_content", from_time=clock.now(), actor="x")


def test_manual_deletion_respects_holds_and_retention(vault: Vault, clock: ManualClock,
                                                     sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        item = _item(vault, s)
        vault.apply_retention(s, item.id, "removed_content", from_time=clock.now(), actor="x")
        with pytest.raises(RetentionActive, match="must be kept until"):
            vault.purge_item(s, item.id, actor="legal:cy", reason="court ordered deletion")
        hold = vault.place_hold(s, subject="case:9", reason="appeal pending", actor="legal:cy")
        clock.advance(timedelta(days=200))
        with pytest.raises(HeldEvidence, match="release the hold"):
            vault.purge_item(s, item.id, actor="legal:cy", reason="court ordered deletion")
        vault.release_hold(s, hold.id, reason="appeal decided", actor="legal:cy")
        with pytest.raises(Conflict, match="already released"):
            vault.release_hold(s, hold.id, reason="again", actor="legal:cy")
        assert vault.purge_item(s, item.id, actor="legal:cy", reason="court ordered deletion").purged == [item.id]


def test_the_timer_runs_the_registered_purge_task(vault: Vault, store: FsspecBlobStore, clock: ManualClock,
                                                  sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        item, held = _item(vault, s), _item(vault, s, subject="case:77")
        for i in (item, held):
            vault.apply_retention(s, i.id, "cybertipline_report", from_time=clock.now(), actor="system:ncmec")
        hold = vault.place_hold(s, item_id=held.id, reason="subpoena", actor="legal:cy")
        s.commit()
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services={"evidence.vault": vault}), name="t1")
    assert ticker.tick().ran == []
    clock.advance(YEAR)
    assert len(ticker.tick().ran) == 2
    with sessions() as s:
        assert vault.get(s, item.id).status == "purged" and vault.get(s, held.id).status == "preserved"
        assert vault.custody(s, item.id)[-1].actor == "system:evidence.purge"
        vault.release_hold(s, hold.id, reason="case closed", actor="legal:cy")
        s.commit()
    assert len(ticker.tick().ran) == 1  # the release made the held item due again
    with sessions() as s:
        assert vault.get(s, held.id).status == "purged"
    assert list(store.keys()) == []


def test_without_a_vault_in_the_services_the_task_fails_loudly(vault: Vault, clock: ManualClock,
                                                               sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        item = _item(vault, s)
        vault.apply_retention(s, item.id, "removed_content", from_time=clock.now(), actor="x")
        s.commit()
    clock.advance(timedelta(days=181))
    report = Ticker(TaskContext(sessions=sessions, clock=clock), name="t1").tick()
    assert len(report.failed) == 1
    with sessions() as s:
        [timer] = pending_for(s, f"evidence:{item.id}")
        assert "evidence.vault" in timer.last_error
