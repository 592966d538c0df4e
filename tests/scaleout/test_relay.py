"""The task outbox and its relay: only committed rows are published, once, with ids only."""

from __future__ import annotations

import json
import time
from typing import Any

from kombu import Connection
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.batchscan.service import RUN_TASK
from bastion.broker import BrokerConfig, Relay, enqueue
from bastion.broker.celery_app import CeleryDispatcher, make_celery
from bastion.broker.models import TaskMessage
from bastion.clock import ManualClock
import bastion.batchscan.tasks  # noqa: F401  (registers scans.run)


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any], int]] = []

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        self.sent.append((task, queue, payload, message_id))


def test_a_rolled_back_transaction_publishes_nothing(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with sessions() as session:
        enqueue(session, RUN_TASK, {"job_id": 1}, clock=clock)
        session.rollback()
    with sessions() as session:
        kept = enqueue(session, RUN_TASK, {"job_id": 2}, clock=clock).id
        session.commit()
    dispatcher = Recording()
    relay = Relay(sessions, dispatcher, clock)
    assert relay.relay() == 1 and dispatcher.sent == [(RUN_TASK, "scan", {"job_id": 2}, kept)]
    assert relay.relay() == 0 and relay.pending() == 0


def test_a_relay_that_died_mid_publish_lets_another_publish_after_the_lease(
        sessions: sessionmaker[Session], clock: ManualClock) -> None:
    from datetime import timedelta

    with sessions() as session:
        enqueue(session, RUN_TASK, {"job_id": 3}, clock=clock)
        session.commit()
    dying = Relay(sessions, Recording(), clock)
    dying._claim(10, None)  # took the row, then died before publishing or marking it
    second = Recording()
    assert Relay(sessions, second, clock).relay() == 0  # leased: not published twice at once
    clock.advance(timedelta(seconds=31))
    assert Relay(sessions, second, clock).relay() == 1 and second.sent[0][2] == {"job_id": 3}


def test_enqueue_refuses_anything_but_ids(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    import pytest

    with sessions() as session:
        with pytest.raises(ValueError, match="ids only"):
            enqueue(session, RUN_TASK, {"media": "x" * 500}, clock=clock)
        with pytest.raises(ValueError, match="ids only"):
            enqueue(session, RUN_TASK, {"meta": {"account": "user-1"}}, clock=clock)


def test_published_messages_reach_the_broker_queue_carrying_ids_only(
        broker_url: str, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    app = make_celery(BrokerConfig(url=broker_url))
    app.control.purge()
    with sessions() as session:
        message_id = enqueue(session, RUN_TASK, {"job_id": 42}, clock=clock).id
        session.commit()
    assert Relay(sessions, CeleryDispatcher(app), clock).relay() == 1
    with sessions() as session:
        assert session.scalar(select(TaskMessage.status).where(TaskMessage.id == message_id)) == "published"
    with Connection(broker_url) as connection:
        channel = connection.default_channel
        got = None
        for _ in range(50):
            got = channel.basic_get(queue="scan", no_ack=True)
            if got is not None:
                break
            time.sleep(0.1)
        assert got is not None, "the message never reached the scan queue"
        args, kwargs, _ = json.loads(got.body)
        assert got.headers["task"] == RUN_TASK and got.headers["id"] == f"bastion-{message_id}"
        assert args == [] and kwargs == {"payload": {"job_id": 42}}
