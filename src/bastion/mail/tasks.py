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


def _send(ctx: TaskContext, limit: int) -> SendReport:
    sender = ctx.services.get(MAIL_SENDER)
    if sender is None:
        raise MailNotConfigured(f"put a MailSender in TaskContext.services[{MAIL_SENDER!r}] to send mail")
    policy = ctx.services.get(MAIL_POLICY) or MailPolicy()
    return MailDeliverer(ctx.sessions, sender, ctx.clock, policy=policy).send_due(limit)


#: One delivery pass with what the context provides, then re-arm the wake-up timer (even when the
#: pass fails: no sender configured, database trouble). Registered as the `mail.send` task.
run_send = QUEUE.register(_send)
