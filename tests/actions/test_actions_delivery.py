"""Delivery to the demo platform over real HTTP: exactly once, through crashes, outages and refusals."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.actions import (
    ActionStatus,
    ConnectorFactory,
    Deliverer,
    DeliveryPolicy,
    OutboxAction,
    actions_for,
    next_due,
    retry_dead,
)
from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.dev.platform import DemoControls
from bastion.platform import HttpPlatformConnector
from tests.actions.helpers import POLICY, add_action


class WorkerDied(BaseException):
    """The process is killed: not an error the worker could catch and record."""


class DiesAfterSending:
    """A connector whose process dies right after the platform accepted the call."""

    def __init__(self, inner: HttpPlatformConnector) -> None:
        self.inner = inner

    def remove_content(self, content_id: str, reason: str, idempotency_key: str) -> Any:
        self.inner.remove_content(content_id, reason, idempotency_key)
        raise WorkerDied

    def close(self) -> None:
        self.inner.close()


def _row(sessions: sessionmaker[Session], action_id: int) -> OutboxAction:
    with sessions() as session:
        return session.get_one(OutboxAction, action_id)


def _audit_trail(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        assert audit.verify(session).ok
        return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


def _move_to(clock: ManualClock, when: datetime) -> None:
    clock.set(max(when, clock.now()))


def test_every_kind_is_delivered_with_the_platforms_receipt(sessions: sessionmaker[Session], clock: ManualClock,
                                                             deliverer: Deliverer, controls: DemoControls) -> None:
    action_id = add_action(sessions, clock)
    report = deliverer.deliver_due()
    assert report.delivered == [action_id]

    row = _row(sessions, action_id)
    assert (row.status, row.attempts, row.last_error, row.lease_token) == (ActionStatus.DELIVERED, 1, "", None)
    assert row.result is not None and row.result["outcome"] == "applied" and row.result["status"] == "removed"
    assert row.finished_at == clock.now()
    [received] = controls.received_actions()
    assert (received.kind, received.target_id, received.idempotency_key) == (
        "remove_content", "post-2001", row.idempotency_key)
    assert _audit_trail(sessions) == ["action.enqueue", "action.deliver"]
    assert deliverer.deliver_due().delivered == []  # delivered rows are never sent again

    suspend = add_action(sessions, clock, kind="restrict_account", target="acct-1002",
                         payload={"restriction": "suspend", "reason": "hash_match"})
    preserve = add_action(sessions, clock, kind="preserve_account", target="acct-1001", payload={})
    assert sorted(deliverer.deliver_due().delivered) == [suspend, preserve]

    with sessions() as session:
        by_kind = {view.kind: view for view in actions_for(session, "case:12")}
    assert by_kind["restrict_account"].result["status"] == "suspended"  # type: ignore[index]
    preservation = by_kind["preserve_account"].result
    assert preservation is not None and preservation["preservation_id"].startswith("pres-")
    assert preservation["counts"]["posts"] == 3 and "subscriber" not in preservation  # no PII in the outbox
    received = {(a.kind, a.target_id, a.params.get("kind")) for a in controls.received_actions()[1:]}
    assert received == {("restrict_account", "acct-1002", "suspend"), ("preserve_account", "acct-1001", None)}


def test_a_worker_killed_after_sending_does_not_make_the_platform_act_twice(
    sessions: sessionmaker[Session], clock: ManualClock, connect: ConnectorFactory, controls: DemoControls,
) -> None:
    """The headline guarantee: crash between the platform call and the commit, restart, exactly once."""
    action_id = add_action(sessions, clock)
    doomed = Deliverer(sessions, lambda: DiesAfterSending(connect()), clock, policy=POLICY, name="doomed")  # type: ignore[arg-type, return-value]
    with pytest.raises(WorkerDied):
        doomed.deliver_due()

    row = _row(sessions, action_id)
    assert (row.status, row.attempts, row.leased_by) == (ActionStatus.IN_FLIGHT, 1, "doomed")
    assert len(controls.received_actions()) == 1  # the platform did act

    restarted = Deliverer(sessions, connect, clock, policy=POLICY, name="restarted")
    assert restarted.deliver_due().delivered == []  # the dead worker's lease still holds
    clock.advance(POLICY.lease)
    assert restarted.deliver_due().delivered == [action_id]

    row = _row(sessions, action_id)
    assert (row.status, row.attempts) == (ActionStatus.DELIVERED, 2)
    assert row.result is not None and row.result["replayed"] is True  # the platform's stored receipt
    [received] = controls.received_actions()  # EXACTLY ONCE
    assert (received.idempotency_key, received.replay_count) == (row.idempotency_key, 1)
    assert _audit_trail(sessions) == ["action.enqueue", "action.deliver"]


def test_a_claim_abandoned_before_sending_is_reclaimed_after_the_lease(
    sessions: sessionmaker[Session], clock: ManualClock, connect: ConnectorFactory, deliverer: Deliverer,
    controls: DemoControls,
) -> None:
    action_id = add_action(sessions, clock)
    crashed = Deliverer(sessions, connect, clock, policy=POLICY, name="crashed")
    assert crashed._claim_next() is not None  # claimed, then the process "dies"
    assert deliverer.deliver_due().delivered == []
    clock.advance(POLICY.lease - timedelta(seconds=1))
    assert deliverer.deliver_due().delivered == []
    clock.advance(timedelta(seconds=1))
    assert deliverer.deliver_due().delivered == [action_id]
    [received] = controls.received_actions()
    assert received.replay_count == 0


def test_a_late_worker_cannot_overwrite_the_outcome_of_the_one_that_took_over(
    sessions: sessionmaker[Session], clock: ManualClock, connect: ConnectorFactory, deliverer: Deliverer,
    controls: DemoControls,
) -> None:
    action_id = add_action(sessions, clock)
    slow = Deliverer(sessions, connect, clock, policy=POLICY, name="slow")
    claim = slow._claim_next()
    assert claim is not None
    clock.advance(POLICY.lease)
    assert deliverer.deliver_due().delivered == [action_id]

    controls.fail_next(1, status=403)  # the slow worker's answer would make it look dead
    report = slow.deliver_due()  # nothing due for it any more...
    assert report.delivered == report.dead == []
    connector = connect()
    try:
        slow._attempt(connector, claim, report)  # ...and its stale claim is refused
    finally:
        connector.close()  # type: ignore[attr-defined]
    assert report.lost == [action_id]
    assert _row(sessions, action_id).status == ActionStatus.DELIVERED


def test_a_lost_response_is_retried_and_the_platform_acts_once(sessions: sessionmaker[Session], clock: ManualClock,
                                                               deliverer: Deliverer, controls: DemoControls) -> None:
    action_id = add_action(sessions, clock)
    controls.fail_next(1, status=503, after_processing=True)  # applied, but the receipt is lost
    assert deliverer.deliver_due().retrying == [action_id]
    _move_to(clock, _row(sessions, action_id).next_attempt_at)
    assert deliverer.deliver_due().delivered == [action_id]
    [received] = controls.received_actions()
    assert received.replay_count == 1


def test_an_outage_is_ridden_out_with_growing_jittered_backoff(sessions: sessionmaker[Session], clock: ManualClock,
                                                               deliverer: Deliverer, controls: DemoControls) -> None:
    action_id = add_action(sessions, clock)
    controls.fail_next(3, status=503)
    waits = []
    for attempt in (1, 2, 3):
        sent_at = clock.now()
        assert deliverer.deliver_due().retrying == [action_id]
        row = _row(sessions, action_id)
        assert (row.status, row.attempts) == (ActionStatus.FAILED_RETRYING, attempt)
        assert "injected fault (HTTP 503)" in row.last_error and "status=503" in row.last_error
        wait = row.next_attempt_at - sent_at
        assert POLICY.ceiling(attempt) * (1 - POLICY.jitter) <= wait <= POLICY.ceiling(attempt)
        waits.append(wait)
        clock.set(row.next_attempt_at - timedelta(milliseconds=1))
        assert deliverer.deliver_due().retrying == []  # not a moment early
        clock.set(row.next_attempt_at)
    assert waits[0] < waits[1] < waits[2]

    assert deliverer.deliver_due().delivered == [action_id]
    assert _row(sessions, action_id).attempts == 4
    [received] = controls.received_actions()
    assert received.replay_count == 0
    assert _audit_trail(sessions) == ["action.enqueue"] + ["action.retry"] * 3 + ["action.deliver"]


def test_a_refusal_is_dead_at_once_with_the_platforms_message(sessions: sessionmaker[Session], clock: ManualClock,
                                                              deliverer: Deliverer, controls: DemoControls) -> None:
    refused = add_action(sessions, clock)
    missing = add_action(sessions, clock, target="post-9999")
    controls.fail_next(1, status=403)
    report = deliverer.deliver_due()
    assert sorted(report.dead) == [refused, missing] and report.retrying == []

    refused_row, missing_row = _row(sessions, refused), _row(sessions, missing)
    assert refused_row.status == ActionStatus.DEAD and refused_row.attempts == 1
    assert "injected fault (HTTP 403)" in refused_row.last_error and "status=403" in refused_row.last_error
    assert missing_row.status == ActionStatus.DEAD
    assert "post-9999" in missing_row.last_error and "status=404" in missing_row.last_error
    assert controls.received_actions() == []
    clock.advance(timedelta(days=1))
    assert deliverer.deliver_due().dead == []  # dead letters stay put until an operator acts


def test_out_of_attempts_is_a_dead_letter_an_operator_can_requeue(
    sessions: sessionmaker[Session], clock: ManualClock, deliverer: Deliverer, controls: DemoControls,
) -> None:
    action_id = add_action(sessions, clock)
    controls.fail_next(100, status=502)
    for _ in range(POLICY.max_attempts - 1):
        assert deliverer.deliver_due().retrying == [action_id]
        _move_to(clock, _row(sessions, action_id).next_attempt_at)
    assert deliverer.deliver_due().dead == [action_id]
    row = _row(sessions, action_id)
    assert (row.status, row.attempts) == (ActionStatus.DEAD, POLICY.max_attempts)
    assert row.last_error.startswith(f"gave up after {POLICY.max_attempts} attempts") and "502" in row.last_error

    controls.fail_next(0)
    with sessions() as session:
        retry_dead(session, action_id, actor="user:ops", clock=clock)
        session.commit()
    assert (_row(sessions, action_id).status, _row(sessions, action_id).attempts) == (ActionStatus.PENDING, 0)
    assert deliverer.deliver_due().delivered == [action_id]
    assert len(controls.received_actions()) == 1
    trail = _audit_trail(sessions)
    assert trail[-3:] == ["action.dead", "action.requeue", "action.deliver"]


def test_a_row_that_keeps_killing_workers_is_dead_lettered(sessions: sessionmaker[Session], clock: ManualClock,
                                                           connect: ConnectorFactory, controls: DemoControls) -> None:
    policy = DeliveryPolicy(max_attempts=2, base_delay=timedelta(seconds=1), lease=timedelta(minutes=1))
    action_id = add_action(sessions, clock)
    doomed = Deliverer(sessions, lambda: DiesAfterSending(connect()), clock, policy=policy)  # type: ignore[arg-type, return-value]
    for _ in range(policy.max_attempts):
        with pytest.raises(WorkerDied):
            doomed.deliver_due()
        clock.advance(policy.lease)
    assert doomed.deliver_due().dead == [action_id]
    row = _row(sessions, action_id)
    assert row.status == ActionStatus.DEAD and "no outcome was recorded" in row.last_error
    assert len(controls.received_actions()) == 1  # the platform still acted only once


def test_concurrent_workers_send_every_action_exactly_once(sessions: sessionmaker[Session], clock: ManualClock,
                                                           connect: ConnectorFactory, controls: DemoControls) -> None:
    targets = [f"post-200{i}" for i in range(1, 9)]
    ids = {add_action(sessions, clock, target=target, subject=f"case:{n}") for n, target in enumerate(targets)}
    ids |= {add_action(sessions, clock, kind="restrict_account", target=f"acct-100{i}",
                       payload={"restriction": "limit", "reason": "test"}) for i in range(1, 5)}
    delivered: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        worker = Deliverer(sessions, connect, clock, policy=POLICY, name=name, rng=random.Random(name))
        for _ in range(6):
            report = worker.deliver_due(limit=2)
            with lock:
                delivered.extend(report.delivered)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(delivered) == sorted(ids)
    received = controls.received_actions()
    assert len(received) == len(ids) and all(a.replay_count == 0 for a in received)
    with sessions() as session:
        assert next_due(session) is None

