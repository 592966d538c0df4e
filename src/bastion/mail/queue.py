"""The mail queue: its table and statuses, the `mail.send` task, and its wake-up timer.

Every write that makes mail due (a queued message, an operator's requeue) moves one
shared, deduplicated timer to "now" in the same transaction; the `mail.send` task
moves it to the next retry when it is done (`bastion.outbox.Queue`). A burst of
messages wakes one worker.
"""

from __future__ import annotations

from bastion.mail.models import MailMessage, MailStatus
from bastion.outbox import OutboxTable, Queue

TABLE = OutboxTable(MailMessage, MailStatus, subject="subject_ref", name="the mail outbox")
QUEUE = Queue(TABLE, task="mail.send", timer_subject="mail:outbox", noun="mail", id_detail="mail_id",
              label="message", keys_from="the event the message is about", row_task="mail.send_row")

#: The task name the ticker and executors know the mail deliverer by.
SEND_TASK = QUEUE.task
#: Make the ticker run `mail.send` at `at` (default: now), in the caller's transaction.
schedule_send = QUEUE.schedule
