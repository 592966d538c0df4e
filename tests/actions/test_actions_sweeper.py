"""Each action is delivered by its own row task (published by outbox id through the task outbox); the
`actions.deliver` timer only sweeps: it publishes the row task for retries that are due, expired leases and
messages presumed lost, never for a new row whose own message may still be on its way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bastion.actions import CONNECTOR_FACTORY, DELIVERY_POLICY, ActionStatus, ConnectorFactory, OutboxAction
from bastion.actions.tasks import SWEEP_GRACE_SERVICE, run_delivery
from bastion.broker import RELAY_SERVICE, ExecutorDispatcher, Relay
from bastion.broker.models import TaskMessage
from bastion.clock import ManualClock
from bastion.dev.platform import DemoControls
from bastion.executor import InlineExecutor, TaskContext
from tests.actions.helpers import POLICY, add_action

GRACE = timedelta(seconds=60)


@pytest.fixture
def ctx(sessions: sessionmaker[Session], clock: ManualClock, connect: ConnectorFactory) -> TaskContext:
    services: dict[str, object] = {CONNECTOR_FACTORY: connect, DELIVERY_POLICY: POLICY, SWEEP_GRACE_SERVICE: GRACE}
    context = TaskContext(sessions=sessions, clock=clock, services=services)
    services[RELAY_SERVICE] = Relay(sessions, ExecutorDispatcher(InlineExecutor(context)), clock)
    return context


def _row(sessions: sessionmaker[Session], action_id: int) -> OutboxAction:
    with sessions() as session:
        return session.get_one(OutboxAction, action_id)


def _messages(sessions: sessionmaker[Session], action_id: int) -> list[str]:
    with sessions() as session:
        rows = session.execute(select(TaskMessage.payload, TaskMessage.queue, TaskMessage.status)
                               .where(TaskMessage.task == "actions.deliver_row")).all()
    assert {r.queue for r in rows} <= {"deliver"}
    return [r.status for r in rows if json.loads(r.payload)["outbox_id"] == action_id]


def test_a_new_action_goes_by_its_own_message_and_the_sweeper_adds_none(
        sessions: sessionmaker[Session], clock: ManualClock, ctx: TaskContext, controls: DemoControls) -> None:
    action_id = add_action(sessions, clock)
    assert _messages(sessions, action_id) == ["pending"]  # written with the row, in its transaction
    run_delivery(ctx)  # relays the row's own message; the row is new, so no second one
    assert _row(sessions, action_id).status == ActionStatus.DELIVERED
    assert _messages(sessions, action_id) == ["published"]
    assert len(controls.received_actions()) == 1


def test_a_lost_message_is_replaced_after_the_grace(sessions: sessionmaker[Session], clock: ManualClock,
                                                    ctx: TaskContext, controls: DemoControls) -> None:
    action_id = add_action(sessions, clock)
    with sessions() as session:  # published, then lost by the broker: nothing will run it
        session.execute(update(TaskMessage).values(status="published", published_at=clock.now()))
        session.commit()
    run_delivery(ctx)
    assert _row(sessions, action_id).status == ActionStatus.PENDING  # within the grace: its message may yet come
    clock.advance(GRACE + timedelta(seconds=1))
    run_delivery(ctx)
    assert _row(sessions, action_id).status == ActionStatus.DELIVERED
    assert _messages(sessions, action_id) == ["published", "published"]
    assert len(controls.received_actions()) == 1


def test_a_retry_is_published_when_due_and_a_stale_message_does_nothing(
        sessions: sessionmaker[Session], clock: ManualClock, ctx: TaskContext, controls: DemoControls) -> None:
    from bastion.actions.tasks import _deliver_one

    action_id = add_action(sessions, clock)
    controls.fail_next(1, status=503)
    run_delivery(ctx)
    row = _row(sessions, action_id)
    assert row.status == ActionStatus.FAILED_RETRYING and row.attempts == 1
    _deliver_one(ctx, action_id)  # a duplicate message before the retry is due: not claimable, nothing happens
    assert _row(sessions, action_id).attempts == 1
    clock.advance(POLICY.max_delay)
    run_delivery(ctx)
    row = _row(sessions, action_id)
    assert row.status == ActionStatus.DELIVERED and row.attempts == 2
    _deliver_one(ctx, action_id)  # a late redelivery of a delivered row: nothing happens
    assert _row(sessions, action_id).attempts == 2 and len(controls.received_actions()) == 1
