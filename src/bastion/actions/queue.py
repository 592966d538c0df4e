"""The actions queue: its table and statuses, the `actions.deliver` task, and its wake-up timer.

The outbox is drained by the `actions.deliver` task. Rather than polling, every write
that makes work due (an enqueue, an operator's requeue) moves one shared timer to
"now" in the same transaction, and the task moves it to the next retry when it is done
(`bastion.outbox.Queue`). The timer is deduplicated by key, so a burst of decisions
still wakes one worker.
"""

from __future__ import annotations

from bastion.actions.models import ActionStatus, OutboxAction
from bastion.outbox import OutboxTable, Queue

TABLE = OutboxTable(OutboxAction, ActionStatus, finished="finished_at")
QUEUE = Queue(TABLE, task="actions.deliver", timer_subject="actions:outbox", noun="action", id_detail="action_id",
              label="action", keys_from="the decision they carry out", row_task="actions.deliver_row")

#: The task name the ticker and executors know the deliverer by.
DELIVER_TASK = QUEUE.task
#: Make the ticker run `actions.deliver` at `at` (default: now), in the caller's transaction.
schedule_delivery = QUEUE.schedule
