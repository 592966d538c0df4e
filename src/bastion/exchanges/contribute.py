"""The `exchanges.share` task: find decisions to share, then send due contributions through the outbox.

`ContributionSender` is a `bastion.outbox.LeaseWorker`: it leases one due contribution at a
time, sends it with no transaction open (`senders.send`), and records the outcome only while it
still holds the lease. A refusal the exchange means for good (a 4xx, a missing key) is a dead
letter with the reason; anything else (a 5xx, a timeout) is retried with backoff. Credentials are
read per send and redacted from every stored error. A pass first runs `sharing.propose`, so
decisions reach the outbox within one heartbeat even when nothing else wakes the task.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import Clock
from bastion.executor import TaskContext
from bastion.executor.retry import RetryPolicy
from bastion.exchanges import sealing, sharing
from bastion.exchanges.contribution_queue import QUEUE
from bastion.exchanges.fetch import credentials_for
from bastion.exchanges.models import ContributionStatus, Exchange, ExchangeContribution
from bastion.exchanges.senders import Outgoing, permanent, send
from bastion.exchanges.tasks import POLICY_SERVICE, SECRET_SERVICE
from bastion.outbox import Claim, LeaseWorker, OutboxReport
from bastion.scanning.urlfetch import FetchPolicy

log = logging.getLogger(__name__)
ACTOR = "system:exchanges"


@dataclass
class ShareReport(OutboxReport):
    proposed: int = 0
    sent: list[int] = field(default_factory=list)


class ContributionSender(LeaseWorker[Outgoing]):
    queue = QUEUE
    actor = ACTOR
    abandoned_note = "the exchange may have received it"
    log = log

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, *, secret: bytes, policy: FetchPolicy,
                 retry: RetryPolicy | None = None, rng: random.Random | None = None) -> None:
        super().__init__(sessions, clock, retry or RetryPolicy(), rng=rng)
        self._secret, self._policy = secret, policy

    def _work(self, row: ExchangeContribution) -> Outgoing:
        return Outgoing(row.id, row.exchange_id, row.kind, row.upstream_id, row.signal_type, row.value,
                        dict(row.payload))

    def _audit_details(self, claim: Claim[Outgoing]) -> dict[str, Any]:
        return {"contribution_id": claim.id, "exchange_id": claim.work.exchange_id, "kind": claim.work.kind,
                "attempt": claim.attempts}

    def send_due(self, limit: int = 50, report: ShareReport | None = None) -> ShareReport:
        report = report or ShareReport()
        self._bury_abandoned(report)
        for _ in range(limit):
            claim = self._claim_next()
            if claim is None:
                break
            self._attempt(claim, report)
        return report

    def _attempt(self, claim: Claim[Outgoing], report: ShareReport) -> None:
        credentials: dict[str, Any] = {}
        try:
            with self._sessions() as session:
                exchange = session.get(Exchange, claim.work.exchange_id)
                if exchange is None:
                    self._dead(claim, "the exchange was deleted", report)
                    return
                api, settings = exchange.api, json.loads(exchange.config_json)
                credentials = credentials_for(session, exchange, self._secret)
            result = send(api, settings, credentials, self._policy, claim.work)
        except Exception as exc:
            error = sealing.redact(f"{type(exc).__name__}: {exc}", credentials)[:2000]
            if permanent(exc):
                self._dead(claim, error, report)
            else:
                self._retry_later(claim, error, exc, report)
            return
        self._settle(claim, report.sent, report, "exchange_contribution.sent", {"result": result},
                     status=ContributionStatus.SENT.value, result=result, finished_at=self._clock.now(), last_error="")


def share_pass(ctx: TaskContext, limit: int = 50) -> ShareReport:
    """Propose what decisions call for, then send what is due."""
    secret, policy = ctx.services.get(SECRET_SERVICE), ctx.services.get(POLICY_SERVICE)
    if secret is None or policy is None:
        raise RuntimeError("wire the exchanges services (bastion.exchanges.tasks.wire) before sharing")
    report = ShareReport()
    with ctx.sessions() as session:
        report.proposed = sharing.propose(session, clock=ctx.clock)
        session.commit()
    return ContributionSender(ctx.sessions, ctx.clock, secret=secret, policy=policy).send_due(limit, report)


#: Registered as the `exchanges.share` task; re-arms its timer after each pass (even a failed one).
run_share = QUEUE.register(share_pass)
