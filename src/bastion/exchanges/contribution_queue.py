"""The contributions outbox: its table, statuses and the `exchanges.share` task's wake-up timer.

Any write that makes a contribution due (a new one, an approval, switching sharing on) moves one
shared, deduplicated timer to "now"; after each pass the task moves it to the next retry, or to the
heartbeat, at which it also looks for new decisions to share (`bastion.outbox.Queue`).
"""

from __future__ import annotations

from bastion.exchanges.models import ContributionStatus, ExchangeContribution
from bastion.outbox import OutboxTable, Queue

TABLE = OutboxTable(ExchangeContribution, ContributionStatus, subject="subject", finished="finished_at",
                    name="the exchange contributions outbox")
QUEUE = Queue(TABLE, task="exchanges.share", timer_subject="exchanges:share", noun="exchange_contribution",
              id_detail="contribution_id", label="contribution", keys_from="the decision and the exchange")
