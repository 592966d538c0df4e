"""The `actions.deliver` task under the ticker and an executor, and signed webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.actions import (
    CONNECTOR_FACTORY,
    DELIVER_TASK,
    DELIVERY_POLICY,
    ActionStatus,
    ConnectorFactory,
    Deliverer,
    HttpWebhookSender,
    OutboxAction,
)
from bastion.actions.tasks import HEARTBEAT, ConnectorNotConfigured
from bastion.clock import ManualClock
from bastion.dev.platform import DemoControls
from bastion.dev.serving import BackgroundServer
from bastion.executor import InlineExecutor, TaskContext
from bastion.platform.asgi import SignatureMiddleware
from bastion.platform.signing import SignatureVerifier
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.actions.helpers import PLATFORM_SECRET, POLICY, add_action, unix


def _status(sessions: sessionmaker[Session], action_id: int) -> OutboxAction:
    with sessions() as session:
        return session.get_one(OutboxAction, action_id)


def _timer(sessions: sessionmaker[Session]) -> Timer:
    with sessions() as session:
        return session.scalars(select(Timer).where(Timer.kind == DELIVER_TASK)).one()


@pytest.fixture
def ctx(sessions: sessionmaker[Session], clock: ManualClock, connect: ConnectorFactory) -> TaskContext:
    return TaskContext(sessions=sessions, clock=clock, services={CONNECTOR_FACTORY: connect, DELIVERY_POLICY: POLICY})


def test_the_ticker_or_an_executor_delivers_and_wakes_up_again_for_each_retry(sessions: sessionmaker[Session], clock: ManualClock,
                                                               ctx: TaskContext, controls: DemoControls) -> None:
    ticker = Ticker(ctx, name="ticker-1")
    action_id = add_action(sessions, clock)
    controls.fail_next(1, status=503)
    ticker.tick()  # (the task re-arms its own timer, so the tick report does not list it as done)
    row = _status(sessions, action_id)
    assert row.status == ActionStatus.FAILED_RETRYING
    timer = _timer(sessions)
    assert (timer.status, timer.due_at) == ("pending", row.next_attempt_at)  # re-armed for the retry

    clock.set(row.next_attempt_at - timedelta(milliseconds=1))
    ticker.tick()
    assert _status(sessions, action_id).status == ActionStatus.FAILED_RETRYING
    clock.set(row.next_attempt_at)
    ticker.tick()
    assert _status(sessions, action_id).status == ActionStatus.DELIVERED
    timer = _timer(sessions)
    assert (timer.status, timer.due_at) == ("pending", clock.now() + HEARTBEAT)  # idle: a slow heartbeat
    assert len(controls.received_actions()) == 1

    later = add_action(sessions, clock, target="post-2002")  # a new decision wakes the worker at once
    assert _timer(sessions).due_at == clock.now()
    ticker.tick()
    assert _status(sessions, later).status == ActionStatus.DELIVERED

    by_executor = add_action(sessions, clock, target="post-2003")  # executors run the very same task
    InlineExecutor(ctx).submit(DELIVER_TASK, {"limit": 10}).result()
    assert _status(sessions, by_executor).status == ActionStatus.DELIVERED


def test_without_a_connector_the_task_fails_loudly_but_keeps_a_slow_heartbeat(
    sessions: sessionmaker[Session], clock: ManualClock,
) -> None:
    action_id = add_action(sessions, clock)
    bare = TaskContext(sessions=sessions, clock=clock)
    with pytest.raises(ConnectorNotConfigured, match="platform.connector_factory"):
        InlineExecutor(bare).submit(DELIVER_TASK, {}).result()
    Ticker(bare, name="t").tick()
    timer = _timer(sessions)
    assert (timer.status, timer.due_at) == ("pending", clock.now() + HEARTBEAT)  # no spinning, never forgotten
    assert _status(sessions, action_id).status == ActionStatus.PENDING


# -- webhooks --------------------------------------------------------------------------


@pytest.fixture
def receiver(clock: ManualClock) -> Iterator[tuple[str, list[tuple[str, dict[str, object]]]]]:
    """A webhook receiver that verifies the contract's signature and records what it accepted."""
    received: list[tuple[str, dict[str, object]]] = []
    lock = threading.Lock()
    app = FastAPI()

    @app.post("/hooks/{name}")
    async def hook(name: str, request: Request) -> JSONResponse:
        if name == "broken":
            return JSONResponse({"error": "down"}, status_code=500)
        with lock:
            received.append((request.headers["idempotency-key"], json.loads(await request.body())))
        return JSONResponse({"ok": True})

    app.add_middleware(SignatureMiddleware, verifier=SignatureVerifier(PLATFORM_SECRET, clock=unix(clock)))
    with BackgroundServer(app) as server:
        yield server.base_url, received


def test_webhooks_are_signed_and_sent_to_named_endpoints_only(
    sessions: sessionmaker[Session], clock: ManualClock, connect: ConnectorFactory,
    receiver: tuple[str, list[tuple[str, dict[str, object]]]],
) -> None:
    base_url, received = receiver
    endpoints = {"events": f"{base_url}/hooks/events", "broken": f"{base_url}/hooks/broken"}
    body = {"event": "case.confirmed", "case": 12}
    sent = add_action(sessions, clock, kind="webhook", target="events", payload=body)
    unknown = add_action(sessions, clock, kind="webhook", target="http://169.254.169.254/", payload=body)
    failing = add_action(sessions, clock, kind="webhook", target="broken", payload=body)

    unwired = Deliverer(sessions, connect, clock, policy=POLICY).deliver_due()  # a process without a sender
    assert sorted(unwired.retrying) == [sent, unknown, failing]  # waits (bounded) rather than dying
    assert "no webhook sender is configured" in _status(sessions, sent).last_error
    clock.advance(POLICY.ceiling(1))

    with HttpWebhookSender(endpoints, PLATFORM_SECRET, clock=unix(clock)) as webhooks:
        report = Deliverer(sessions, connect, clock, webhooks=webhooks, policy=POLICY).deliver_due()
    assert (report.delivered, report.dead, report.retrying) == ([sent], [unknown], [failing])
    assert _status(sessions, sent).last_error == ""
    assert received == [(_status(sessions, sent).idempotency_key, body)]
    assert "no webhook endpoint named" in _status(sessions, unknown).last_error
    assert "HTTP 500" in _status(sessions, failing).last_error
