"""Wiring the dispatch: the relay, its dispatcher (Celery or in-process), the broker probe.

`create_app` calls `wire_broker`; `bastion serve` runs `Relay.run_forever` in a thread beside
the ticker, and so does `bastion worker`, so committed task messages are published even
when the request that wrote them could not reach the broker.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from bastion.batchscan.tasks import MAX_TRIES, SCANNER, WEBHOOK, WebhookTarget
import bastion.jobs.tasks  # noqa: F401  (registers rescan.chunk and import.chunk; reads the same SCANNER)
from bastion.broker import RELAY_SERVICE, BrokerConfig, Relay
from bastion.broker.probe import BrokerProbe
from bastion.executor import InlineExecutor, TaskContext
from bastion.timers import Ticker
from bastion.web.state import AppState

log = logging.getLogger(__name__)

RELAY = RELAY_SERVICE
PROBE = "broker.probe"
CONFIG = "broker.config"


class LocalDispatcher:
    """No broker: `bastion serve`'s executor threads run the task; without them (tests, CLI) it runs inline.

    A task that raises is run again after a backoff, up to `max_tries` in all, as a broker would
    redeliver it (in memory only: the embedded mode has one process, and a restart starts afresh).
    """

    def __init__(self, state: AppState, max_tries: int = 5, base_delay: float = 0.5) -> None:
        self.state, self.max_tries, self.base_delay = state, max_tries, base_delay

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        self._submit(task, payload, 1)

    def _submit(self, task: str, payload: dict[str, Any], tries: int) -> None:
        executor = self.state.services.get("executor")
        if executor is None:
            ctx = TaskContext(sessions=self.state.sessions, clock=self.state.clock, services=self.state.services)
            executor = InlineExecutor(ctx)

        def again(future: Any) -> None:
            if future.exception() is not None and tries < self.max_tries:
                timer = threading.Timer(min(30.0, self.base_delay * 2 ** tries), self._submit,
                                        args=(task, payload, tries + 1))
                timer.daemon = True
                timer.start()

        executor.submit(task, payload).add_done_callback(again)


def publish_now(state: AppState, messages: list[int]) -> None:
    """Publish a request's own committed messages now; any that fail stay pending for the relay loop."""
    try:
        state.services[RELAY].relay(ids=messages)
    except Exception:  # committed rows are safe: the relay thread publishes them later
        log.exception("immediate publish failed; the relay will retry")


def wire_broker(state: AppState) -> None:
    """Put the broker config, the relay and (with a broker) the probe in `state.services`."""
    settings = state.settings
    config = BrokerConfig.from_settings(settings)
    state.services[CONFIG] = config
    state.services[SCANNER] = state.scanner
    state.services[MAX_TRIES] = config.max_tries
    secret = settings.scan_webhook_secret or settings.platform_secret
    if settings.scan_webhook_url and secret is not None:
        state.services[WEBHOOK] = WebhookTarget(settings.scan_webhook_url, secret.get_secret_value())
    if config.enabled:
        from bastion.broker.celery_app import CeleryDispatcher, make_celery

        from bastion.broker.depth import DepthGauge

        state.services[PROBE] = BrokerProbe(config.url)
        state.services["broker.depths"] = DepthGauge(config.url)  # web.operations.DEPTHS
        dispatcher: Any = CeleryDispatcher(make_celery(config))
    else:
        dispatcher = LocalDispatcher(state, max_tries=config.max_tries)
    state.services[RELAY] = Relay(state.sessions, dispatcher, state.clock)


def run_worker(state: AppState, *, queues: list[str], concurrency: int, tick: bool, hostname: str) -> None:
    """Run a Celery worker on `queues` until it is stopped, with a relay (and optionally a ticker) beside it.

    The worker uses Celery's threads pool: see `bastion.broker.celery_app` for why, and for the
    acknowledgement settings that make a SIGKILLed worker lose and double nothing.
    """
    from bastion.broker.celery_app import make_celery
    from bastion.media import video_isolation

    # A video task that finds every slot busy waits for one (up to the decode limit) instead of failing a try.
    video_isolation.configure(slots=state.settings.video_decode_slots,
                              wait_seconds=video_isolation.DEFAULT_VIDEO_LIMITS.max_decode_seconds)
    state.matcher.load()
    ctx = TaskContext(sessions=state.sessions, clock=state.clock, services=state.services)
    celery = make_celery(state.services[CONFIG], context=lambda: ctx)
    stop = threading.Event()
    threading.Thread(target=state.services[RELAY].run_forever, args=(stop, 1.0), name="bastion-relay",
                     daemon=True).start()
    if tick:
        threading.Thread(target=Ticker(ctx).run_forever, args=(stop, state.settings.ticker_interval_seconds),
                         name="bastion-ticker", daemon=True).start()
    worker = celery.Worker(queues=queues, concurrency=concurrency, pool="threads", hostname=hostname,
                           without_gossip=True, without_mingle=True, loglevel=state.settings.log_level)
    try:
        worker.start()
    finally:
        stop.set()
