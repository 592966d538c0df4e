"""Email through the outbox (SMTP, or a local sink of .eml files): nothing is sent from inside a request.

`queue_mail` writes a message row (and its audit record) in the caller's transaction.
The `mail.send` task, run by the ticker or any executor, claims due rows under a lease
and hands them to a `MailSender`: `SmtpSender` for a real server, `SinkSender` for a
folder of .eml files (the embedded default; `read_sink` lists them). Transient failures
are retried with capped, jittered backoff; permanent refusals and exhausted messages
are dead-lettered for an operator to `requeue`. Every attempt of a message carries the
same Message-ID.

Wiring: put a sender in `TaskContext.services[MAIL_SENDER]` (`MailConfig.from_settings(settings).sender()`
builds one from the `mail_*` / `smtp_*` settings).
"""

from bastion.mail.addresses import check_address, check_recipients
from bastion.mail.compose import OutgoingMail, compose, message_id_for
from bastion.mail.config import MailConfig
from bastion.mail.delivery import MailDeliverer, SendReport, next_due
from bastion.mail.errors import MailDeliveryError, MailNotConfigured, MailRejected, MailUnavailable
from bastion.mail.models import MailMessage, MailStatus
from bastion.mail.outbox import MailView, get_mail, mail_for, queue_mail, requeue
from bastion.mail.policy import MailPolicy
from bastion.mail.queue import SEND_TASK, schedule_send
from bastion.mail.sink import SinkMessage, SinkSender, read_sink
from bastion.mail.smtp import MailSender, SmtpSender
from bastion.mail.tasks import MAIL_POLICY, MAIL_SENDER, run_send

__all__ = [
    "MAIL_POLICY",
    "MAIL_SENDER",
    "SEND_TASK",
    "MailConfig",
    "MailDeliverer",
    "MailDeliveryError",
    "MailMessage",
    "MailNotConfigured",
    "MailPolicy",
    "MailRejected",
    "MailSender",
    "MailStatus",
    "MailUnavailable",
    "MailView",
    "OutgoingMail",
    "SendReport",
    "SinkMessage",
    "SinkSender",
    "SmtpSender",
    "check_address",
    "check_recipients",
    "compose",
    "get_mail",
    "mail_for",
    "message_id_for",
    "next_due",
    "queue_mail",
    "read_sink",
    "requeue",
    "run_send",
    "schedule_send",
]
