"""The Celery application: every registered task, run on a broker by `bastion worker`.

The settings, and why:

* **Late acknowledgement** (`task_acks_late`): a message is acknowledged after its task
  returns, not when a worker takes it, so a worker killed mid-task leaves the message
  with the broker and another worker runs it. Delivery becomes at-least-once; every
  task is idempotent by its key (a scan job by its id, a delivery by its outbox id), so
  the effect is recorded once.
* **Reject on worker lost** (`task_reject_on_worker_lost`): when a pool child dies, the
  message is requeued instead of acknowledged as failed.
* **Prefetch 1** (`worker_prefetch_multiplier=1`): a worker holds only as many unacknowledged
  messages as it has slots, so a killed worker strands at most `concurrency` messages and
  a slow task never hoards work other workers could start.
* **Redis visibility timeout**: Redis has no consumer connections to watch, so a message
  taken by a dead worker returns only after `visibility_timeout`; it must exceed the longest
  task, or a slow task is run twice (harmless, but wasted). RabbitMQ needs none: it requeues
  a dead consumer's messages when its connection drops.
* **Publisher confirms** (AMQP `confirm_publish`): the relay marks a row published only after
  the broker has it.
* **No result backend**: results live in Bastion's database (scan jobs, outbox rows).
* **Threads pool**: hashing already runs in Bastion's memory-capped decoder processes
  (`media.isolation`), so worker threads mostly wait on them and on the database; threads
  share one matcher and one connection pool per process, and SIGKILL of the worker takes
  its whole pool down at once (nothing half-alive keeps messages).

Messages carry a task name and a payload of ids; the worker reads everything else from the
database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu import Queue

from bastion.broker.config import QUEUES, BrokerConfig
from bastion.executor import TaskContext, TaskRegistry, registry

log = logging.getLogger(__name__)

#: Publishing gives up quickly: a row that did not go stays pending and the relay tries again.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def make_celery(config: BrokerConfig, context: Callable[[], TaskContext] | None = None,
                reg: TaskRegistry = registry) -> Celery:
    """A Celery app on `config.url` with a Celery task for every registered task name.

    `context` gives the worker's `TaskContext` (sessions, clock, services); a publishing-only
    app (the API's relay) needs none.
    """
    app = Celery("bastion", broker=config.url, set_as_current=False)
    transport: dict[str, Any] = {}
    if config.url.startswith("redis"):
        # Sweep for a dead worker's messages at least twice per timeout, so one comes back within
        # about 1.5 timeouts instead of kombu's default sweep period of 100 s.
        transport.update(visibility_timeout=config.visibility_timeout_seconds, unacked_restore_throttle=1,
                         unacked_restore_interval=max(1, min(10, config.visibility_timeout_seconds // 2)))
    else:
        transport["confirm_publish"] = True
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_acks_on_failure_or_timeout=True,  # a task that raised was handled (retried or dead-lettered) by us
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name, routing_key=name) for name in QUEUES],
        task_default_queue="deliver",
        task_create_missing_queues=False,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # workers reconnect by themselves, for as long as it takes
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_publish_retry_policy=PUBLISH_RETRY,
        enable_utc=True,
    )
    for name in reg.names():
        _register(app, name, reg, context, config.max_tries)
    return app


def _register(app: Celery, name: str, reg: TaskRegistry, context: Callable[[], TaskContext] | None,
              max_tries: int) -> None:
    fn = reg.get(name)

    def run(self: Any, payload: dict[str, Any]) -> None:
        if context is None:
            raise RuntimeError("this Celery app only publishes; run tasks with `bastion worker`")
        try:
            fn(context(), payload)
        except Exception as exc:
            tries = int(self.request.retries) + 1
            if tries >= max_tries:
                log.error("task failed for the last time", extra={"task": name, "tries": tries})
                raise
            log.warning("task failed; retrying", extra={"task": name, "tries": tries, "error": type(exc).__name__})
            raise self.retry(exc=exc, countdown=min(60, 2 ** tries), max_retries=max_tries - 1) from None

    # shared=False: each app keeps its own tasks (a publishing app and a worker app may share a process)
    app.task(name=name, bind=True, shared=False, acks_late=True, reject_on_worker_lost=True)(run)


class CeleryDispatcher:
    """Publishes relayed rows to the broker, on the queue their task is routed to."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        self.app.send_task(task, kwargs={"payload": payload}, queue=queue, task_id=f"bastion-{message_id}",
                           retry=True, retry_policy=PUBLISH_RETRY)


def ping(url: str, timeout: float = 2.0) -> str | None:
    """None if the broker answers within `timeout`, else why not (for /readyz and the API's 503)."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0}) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            connection.default_channel  # noqa: B018  (opens a channel: the broker really speaks)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None
