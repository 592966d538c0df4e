"""The `mail.send` task: the mail outbox drained by the ticker or any executor.

The task needs a `MailSender` in `TaskContext.services[MAIL_SENDER]` (and optionally
a `MailPolicy` under `MAIL_POLICY`). After a pass it moves the shared wake-up timer to
when the outbox next has work (or to a slow heartbeat), so retries happen on time
without polling, and a missed wake-up heals itself.
"""

from __future__ import annotations

from bastion.executor import TaskContext
from bastion.mail.delivery import MailDeliverer, SendReport
from bastion.mail.errors import MailNotConfigured
from bastion.mail.policy import MailPolicy
from bastion.mail.queue import QUEUE

#: `TaskContext.services` keys the task reads.
MAIL_SENDER = "mail.sender"
MAIL_POLICY = "mail.policy"

#: The longest the outbox goes unchecked when nothing is due.
HEARTBEAT = QUEUE.heartbeat


def _deliverer(ctx: TaskContext) -> MailDeliverer:
    sender = ctx.services.get(MAIL_SENDER)
    if sender is None:
        raise MailNotConfigured(f"put a MailSender in TaskContext.services[{MAIL_SENDER!r}] to send mail")
    policy = ctx.services.get(MAIL_POLICY) or MailPolicy()
    return MailDeliverer(ctx.sessions, sender, ctx.clock, policy=policy)


def _send(ctx: TaskContext, limit: int) -> SendReport:
    return _deliverer(ctx).send_due(limit)


def _send_one(ctx: TaskContext, mail_id: int) -> SendReport:
    return _deliverer(ctx).send_one(mail_id)


#: The `mail.send` timer task: a sweeper where a relay is wired, else one delivery pass, then re-arm
#: the wake-up timer (even when it fails: no sender configured, database trouble). Also registers
#: `mail.send_row`, the task each message's outbox id is published as (queue `deliver`).
run_send = QUEUE.register(_send, one=_send_one, worker=_deliverer)
