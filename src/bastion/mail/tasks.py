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
from bastion.outbox import run_then_rearm

#: `TaskContext.services` keys the task reads.
MAIL_SENDER = "mail.sender"
MAIL_POLICY = "mail.policy"

#: The longest the outbox goes unchecked when nothing is due.
HEARTBEAT = timedelta(minutes=5)


def run_send(ctx: TaskContext, limit: int = 50) -> SendReport:
    """One delivery pass with what the context provides, then re-arm the wake-up timer.

    Re-arms even when the pass fails (no sender configured, database trouble); see
    `bastion.outbox.run_then_rearm`.
    """
    return run_then_rearm(ctx, lambda: _send(ctx, limit), schedule=schedule_send, next_due=next_due,
                          heartbeat=HEARTBEAT)


@registry.task(SEND_TASK)
def send(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Registered task; payload may carry `limit`."""
    run_send(ctx, limit=int(payload.get("limit", 50)))


def _send(ctx: TaskContext, limit: int) -> SendReport:
    sender = ctx.services.get(MAIL_SENDER)
    if sender is None:
        raise MailNotConfigured(f"put a MailSender in TaskContext.services[{MAIL_SENDER!r}] to send mail")
    policy = ctx.services.get(MAIL_POLICY) or MailPolicy()
    return MailDeliverer(ctx.sessions, sender, ctx.clock, policy=policy).send_due(limit)
