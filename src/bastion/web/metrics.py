"""Prometheus metrics at /metrics: queue depths, task rates, failures and dead letters.

Every figure is read from the database (and the broker) when Prometheus scrapes, not counted
in this process: with N servers and M workers, any one server answers for the whole system,
and a restart resets nothing. Rates come from the `_total` counters with `rate()`.

Reachable with an API key holding `metrics.read` (an admin mints one scoped to that alone),
or from an address in `BASTION_METRICS_ALLOWED_NETWORKS` (the Prometheus host).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from bastion.auth.permissions import Perm
from bastion.web.guard import needs
from bastion.web.operations import Overview, overview
from bastion.web.state import AppState, client_ip, get_state

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=32)
def _networks(setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def from_allowed_address(request: Request) -> bool:
    """The caller's address is in the configured list (the direct peer: put the scraper on the inside)."""
    networks = _networks(get_state(request).settings.metrics_allowed_networks)
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in networks)


class OverviewCollector:
    """Turns one `Overview` into Prometheus families (a fresh read per scrape)."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        with self.state.sessions() as session:
            view = overview(session, self.state)
        yield from families(view)


def families(view: Overview) -> Iterator[Metric]:
    configured = GaugeMetricFamily("bastion_broker_configured", "1 when a task broker (BASTION_BROKER_URL) is set.")
    configured.add_metric([], 1 if view.broker_configured else 0)
    yield configured
    if view.broker_configured:
        up = GaugeMetricFamily("bastion_broker_up", "1 when the configured broker answered its last probe.")
        up.add_metric([], 1 if view.broker_up else 0)
        yield up
        waiting = GaugeMetricFamily("bastion_broker_queue_messages", "Messages ready on a broker queue.",
                                    labels=["queue"])
        for q in view.queues:
            if q.at_broker is not None:
                waiting.add_metric([q.name], q.at_broker)
        yield waiting
    pending = GaugeMetricFamily("bastion_task_messages_pending",
                                "Committed task messages not yet handed to the broker or executor.", labels=["queue"])
    published = CounterMetricFamily("bastion_task_messages_published",
                                    "Task messages handed to the broker or executor (rate() gives task rates).",
                                    labels=["queue"])
    for q in view.queues:
        pending.add_metric([q.name], q.pending)
        published.add_metric([q.name], q.published_total)
    yield pending
    yield published
    jobs = GaugeMetricFamily("bastion_scan_jobs", "Asynchronous scan jobs by status.", labels=["status"])
    for status in ("queued", "running", "done", "failed", "dead"):
        jobs.add_metric([status], view.scan_jobs.get(status, 0))
    yield jobs
    dead = GaugeMetricFamily("bastion_dead_letters", "Work whose tries ran out, waiting for an operator's retry.",
                             labels=["kind"])
    dead.add_metric(["scan"], view.dead_letters)
    for name, statuses in view.deliveries.items():
        dead.add_metric([name], statuses.get("dead", 0))
    yield dead
    failed = GaugeMetricFamily("bastion_failures_24h", "Asynchronous scans failed or dead-lettered in the last 24 h.")
    failed.add_metric([], view.failed_24h)
    yield failed
    deliveries = GaugeMetricFamily("bastion_delivery_rows", "Delivery outbox rows (platform actions, mail) by status.",
                                   labels=["outbox", "status"])
    for name, statuses in view.deliveries.items():
        for status, count in sorted(statuses.items()):
            deliveries.add_metric([name, status], count)
    yield deliveries
    if view.jobs:
        fanout = GaugeMetricFamily("bastion_jobs", "Fan-out jobs (rescans, imports) by kind and state.",
                                   labels=["kind", "state"])
        for (kind, state), count in sorted(view.jobs.items()):
            fanout.add_metric([kind, state], count)
        yield fanout


@router.get("/metrics")
def metrics(request: Request, principal: object = needs(Perm.METRICS_READ, admit=from_allowed_address)) -> Response:
    """Prometheus text exposition of the operations figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OverviewCollector(get_state(request)))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
