"""The `mail.send` task: the mail outbox drained by the ticker or any executor.

The task needs a `MailSender` in `TaskContext.services[MAIL_SENDER]` (and optionally
a `MailPolicy` under `MAIL_POLICY`). After a pass it moves the shared wake-up timer to
when the outbox next has work (or to a slow heartbeat), so retries happen on time
without polling, and a missed wake-up heals itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.executor import TaskContext, registry
from bastion.mail.delivery import MailDeliverer, SendReport, next_due
from bastion.mail.errors import MailNotConfigured
from bastion.mail.policy import MailPolicy
from bastion.mail.scheduling import SEND_TASK, schedule_send

#: `TaskContext.services` keys the task reads.
MAIL_SENDER = "mail.sender"
MAIL_POLICY = "mail.policy"

#: The longest the outbox goes unchecked when nothing is due.
HEARTBEAT = timedelta(minutes=5)


def run_send(ctx: TaskContext, limit: int = 50) -> SendReport:
    """One delivery pass with what the context provides, then re-arm the wake-up timer.

    A pass that fails outright (no sender configured, database trouble) still re-arms,
    at the heartbeat rather than at the due work, so the outbox is never forgotten and a
    misconfigured process does not spin.
    """
    try:
        sender = ctx.services.get(MAIL_SENDER)
        if sender is None:
            raise MailNotConfigured(f"put a MailSender in TaskContext.services[{MAIL_SENDER!r}] to send mail")
        policy = ctx.services.get(MAIL_POLICY) or MailPolicy()
        report = MailDeliverer(ctx.sessions, sender, ctx.clock, policy=policy).send_due(limit)
    except Exception:
        _rearm(ctx, follow_work=False)
        raise
    _rearm(ctx, follow_work=True)
    return report


@registry.task(SEND_TASK)
def send(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Registered task; payload may carry `limit`."""
    run_send(ctx, limit=int(payload.get("limit", 50)))


def _rearm(ctx: TaskContext, *, follow_work: bool) -> None:
    """Point the wake-up timer at the next due work (or only at the heartbeat).

    The timer row is written (and so locked) before the outbox is read: a message queued
    meanwhile is either seen by the read, or moves the timer to "now" after us.
    """
    now = ctx.clock.now()
    with ctx.sessions() as session, session.begin():
        timer = schedule_send(session, clock=ctx.clock, at=now + HEARTBEAT)
        if not follow_work:
            return
        session.flush()
        due = next_due(session)
        if due is not None and due < timer.due_at:
            timer.due_at = max(due, now)
