"""The outbox: actions commit with the decision, once per key, and report their status."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.actions import (
    DELIVER_TASK,
    ActionStatus,
    DeliveryPolicy,
    OutboxAction,
    action_key,
    actions_for,
    enqueue,
    get_action,
    retry_dead,
)
from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.timers.models import Timer
from tests.actions.helpers import add_action


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxAction)) or 0


def test_the_action_commits_with_the_decision_or_not_at_all(sessions: sessionmaker[Session],
                                                            clock: ManualClock) -> None:
    with sessions() as session:
        enqueue(session, kind="remove_content", target="post-2001", payload={"reason": "hash_match"},
                subject="case:12", actor="user:rita", clock=clock)
        session.rollback()  # the decision failed: its action must vanish with it
    with sessions() as session:
        assert _count(session) == 0
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0

    action_id = add_action(sessions, clock, actor="user:rita")
    with sessions() as session:
        row = session.get_one(OutboxAction, action_id)
        assert (row.status, row.attempts, row.next_attempt_at) == (ActionStatus.PENDING, 0, clock.now())
        assert row.idempotency_key == action_key("case:12", "remove_content", "post-2001")
        entry = session.scalars(select(AuditRecord)).one()
        assert (entry.actor, entry.action, entry.subject) == ("user:rita", "action.enqueue", "case:12")
        assert f'"action_id":{action_id}' in entry.details
        timer = session.scalars(select(Timer).where(Timer.kind == DELIVER_TASK)).one()
        assert (timer.status, timer.due_at) == ("pending", clock.now())  # the worker is woken up
        assert audit.verify(session).ok


def test_a_retried_decision_finds_its_action_instead_of_adding_one(sessions: sessionmaker[Session],
                                                                   clock: ManualClock) -> None:
    first = add_action(sessions, clock)
    clock.advance(timedelta(minutes=3))
    again = add_action(sessions, clock, payload={"reason": "worded differently"})  # first decision wins
    assert again == first
    other = add_action(sessions, clock, kind="restrict_account", target="acct-1001",
                       payload={"restriction": "limit", "reason": "hash_match"})
    stronger = add_action(sessions, clock, kind="restrict_account", target="acct-1001",
                          payload={"restriction": "suspend", "reason": "hash_match"})
    assert len({first, other, stronger}) == 3  # a suspension after a limit is a new action
    with sessions() as session:
        assert _count(session) == 3
        assert session.get_one(OutboxAction, first).payload == {"reason": "hash_match"}
        assert session.scalar(select(func.count()).where(AuditRecord.action == "action.enqueue")) == 3
        with pytest.raises(Conflict, match="already belongs to action"):  # one key, two different actions
            enqueue(session, kind="remove_content", target="post-2002", payload={"reason": "x"}, subject="case:12",
                    actor="user:rita", clock=clock, idempotency_key=session.get_one(OutboxAction, first).idempotency_key)


@pytest.mark.parametrize(("fields", "message"), [
    ({"kind": "delete_everything"}, "Unknown action kind"),
    ({"payload": {}}, "needs a short 'reason'"),
    ({"kind": "restrict_account", "payload": {"reason": "x", "restriction": "ban"}}, "'suspend' or 'limit'"),
    ({"target": ""}, "target must be"),
    ({"payload": {"reason": "x", "when": object()}}, "plain JSON"),
    ({"idempotency_key": "spaces are not allowed"}, "idempotency key"),
])
def test_malformed_actions_are_refused_before_touching_the_database(fields: dict[str, object], message: str) -> None:
    action: dict[str, object] = {"kind": "remove_content", "target": "post-2001", "payload": {"reason": "x"},
                                 "subject": "case:12", "actor": "user:rita", **fields}
    with Session() as unbound, pytest.raises(InvalidInput, match=message):  # no database: validation comes first
        enqueue(unbound, clock=ManualClock(), **action)  # type: ignore[arg-type]


def test_concurrent_enqueues_of_one_decision_make_one_row(sessions: sessionmaker[Session],
                                                          clock: ManualClock) -> None:
    ids: list[int] = []
    barrier = threading.Barrier(4)

    def decide() -> None:
        barrier.wait()
        ids.append(add_action(sessions, clock))

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 4 and len(set(ids)) == 1
    with sessions() as session:
        assert _count(session) == 1


def test_actions_for_a_subject_oldest_first_and_requeue_rules(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    a = add_action(sessions, clock)
    b = add_action(sessions, clock, kind="preserve_account", target="acct-1001", payload={})
    add_action(sessions, clock, subject="case:99", target="post-2003")
    with sessions() as session:
        views = actions_for(session, "case:12")
        assert [(v.id, v.kind, v.status) for v in views] == [
            (a, "remove_content", "pending"), (b, "preserve_account", "pending")]
        assert views[0].next_attempt_at == clock.now() and views[0].result is None
        assert actions_for(session, "case:404") == []
        assert get_action(session, b).target == "acct-1001"
        with pytest.raises(NotFound):
            get_action(session, 10_000)
        with pytest.raises(Conflict, match="is pending"):  # only dead actions can be requeued
            retry_dead(session, a, actor="user:ops", clock=clock)
        with pytest.raises(NotFound):
            retry_dead(session, 10_000, actor="user:ops", clock=clock)


def test_backoff_doubles_up_to_the_cap_and_respects_retry_after() -> None:
    import random

    policy = DeliveryPolicy(base_delay=timedelta(seconds=10), max_delay=timedelta(minutes=5), jitter=0.5)
    assert [policy.ceiling(n).total_seconds() for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]
    rng = random.Random(1)
    for attempt in range(1, 12):
        delay = policy.delay(attempt, rng)
        assert policy.ceiling(attempt) * 0.5 <= delay <= policy.ceiling(attempt)
    assert policy.delay(1, rng, retry_after=120) >= timedelta(seconds=120)
    assert policy.delay(1, rng, retry_after=86_400) == timedelta(minutes=5)  # a hint never beats the cap
    with pytest.raises(ValueError):
        DeliveryPolicy(max_attempts=0)
