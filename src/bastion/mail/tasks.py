"""The mail outbox's tasks: `mail.send_row` sends one message by outbox id; `mail.send` sweeps.

`mail.send_row` is published (through the task outbox, queue `deliver`) for every message
queued or requeued; `mail.send` is the sweeper timer, as for platform actions
(`bastion.actions.tasks`). Both need a `MailSender` in `TaskContext.services[MAIL_SENDER]`
(and optionally a `MailPolicy` under `MAIL_POLICY`).
"""

from __future__ import annotations

import logging

from bastion.executor import TaskContext
from bastion.mail.delivery import MailDeliverer, SendReport
from bastion.mail.errors import MailNotConfigured
from bastion.mail.policy import MailPolicy
from bastion.mail.queue import QUEUE

log = logging.getLogger(__name__)

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
    if ctx.services.get(MAIL_SENDER) is None:  # not wired here: the message waits; the sweeper publishes it again
        log.warning("no mail sender: message left for the sweeper", extra={"mail": mail_id})
        return SendReport()
    return _deliverer(ctx).send_one(mail_id)


#: The `mail.send` timer task: a sweeper where a relay is wired, else one delivery pass, then re-arm
#: the wake-up timer (even when it fails: no sender configured, database trouble). Also registers
#: `mail.send_row`, the task each message's outbox id is published as (queue `deliver`).
run_send = QUEUE.register(_send, one=_send_one, worker=_deliverer)
