"""What the machinery is doing: the figures behind the operations page and /metrics.

One read of the database (the source of truth: task messages, scan jobs, delivery outboxes)
plus, with a broker, its queue depths and whether it answers. The page and the Prometheus
collector share it, so the two never disagree about what a number means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.actions.models import OutboxAction
from bastion.batchscan.models import ScanJob
from bastion.broker import QUEUES
from bastion.broker.models import TaskMessage
from bastion.mail.models import MailMessage
from bastion.web.state import AppState

#: `AppState.services` key of the broker's cached `DepthGauge` (set by `scaleout.wire_broker`).
DEPTHS = "broker.depths"


@dataclass
class QueueFigures:
    """One queue: messages not yet handed over, handed over recently and in all, waiting at the broker."""

    name: str
    pending: int = 0
    published_5m: int = 0
    published_1h: int = 0
    published_total: int = 0
    #: None without a broker (the in-process executor has no queue to count) or while it does not answer.
    at_broker: int | None = None


@dataclass
class Overview:
    broker_configured: bool
    broker_url: str
    #: None when the broker answered (or none is configured), else why it did not.
    broker_error: str | None
    queues: list[QueueFigures]
    scan_jobs: dict[str, int]
    #: Delivery outboxes (platform actions, mail): rows by status.
    deliveries: dict[str, dict[str, int]]
    failed_24h: int = 0
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def dead_letters(self) -> int:
        return self.scan_jobs.get("dead", 0)

    @property
    def broker_up(self) -> bool:
        return self.broker_configured and self.broker_error is None


def overview(session: Session, state: AppState) -> Overview:
    """Every figure, read now (broker figures may be a few seconds old; see `DepthGauge`)."""
    from bastion.web.scaleout import CONFIG, PROBE

    now = state.clock.now()
    queues = {name: QueueFigures(name) for name in QUEUES}
    by_status = session.execute(select(TaskMessage.queue, TaskMessage.status, func.count())
                                .group_by(TaskMessage.queue, TaskMessage.status)).all()
    for queue, status, count in by_status:
        figures = queues.setdefault(queue, QueueFigures(queue))
        if status == "pending":
            figures.pending += int(count)
        else:
            figures.published_total += int(count)
    for window, attr in ((timedelta(minutes=5), "published_5m"), (timedelta(hours=1), "published_1h")):
        recent = session.execute(select(TaskMessage.queue, func.count()).where(
            TaskMessage.status == "published", TaskMessage.published_at >= now - window).group_by(TaskMessage.queue))
        for queue, count in recent:
            setattr(queues[queue], attr, int(count))
    config = state.services[CONFIG]
    error = None
    if config.enabled:
        probe, gauge = state.services.get(PROBE), state.services.get(DEPTHS)
        error = probe.error() if probe is not None else None
        if error is None and gauge is not None:
            depths, error = gauge.read()
            for name, depth in (depths or {}).items():
                queues.setdefault(name, QueueFigures(name)).at_broker = depth
    scan_jobs = {status: int(count) for status, count in
                 session.execute(select(ScanJob.status, func.count()).group_by(ScanJob.status))}
    failed_24h = int(session.scalar(select(func.count()).select_from(ScanJob).where(
        ScanJob.status.in_(("failed", "dead")), ScanJob.finished_at >= now - timedelta(hours=24))) or 0)
    deliveries = {}
    for name, model in (("actions", OutboxAction), ("mail", MailMessage)):
        deliveries[name] = {status: int(count) for status, count in
                            session.execute(select(model.status, func.count()).group_by(model.status))}
    from bastion.jobs.service import counts

    return Overview(jobs=counts(session), broker_configured=config.enabled, broker_url=config.redacted_url() if config.enabled else "",
                    broker_error=error, queues=list(queues.values()), scan_jobs=scan_jobs, deliveries=deliveries,
                    failed_24h=failed_24h)
