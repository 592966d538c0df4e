"""The executor interface and its in-process implementations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import Clock
from bastion.errors import BastionError

log = logging.getLogger(__name__)

TaskFn = Callable[["TaskContext", dict[str, Any]], None]


@dataclass(frozen=True)
class TaskContext:
    """What a task may use: a way to open database sessions, the clock, and extras by name."""

    sessions: sessionmaker[Session]
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)


class UnknownTask(BastionError):
    code = "unknown_task"


class TaskRegistry:
    """Names to task functions; the name is what travels to a worker, never the function."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskFn] = {}

    def task(self, name: str) -> Callable[[TaskFn], TaskFn]:
        def register(fn: TaskFn) -> TaskFn:
            if name in self._tasks and self._tasks[name] is not fn:
                raise ValueError(f"task {name!r} is registered twice")
            self._tasks[name] = fn
            return fn

        return register

    def get(self, name: str) -> TaskFn:
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTask(f"No task named {name!r} is registered.") from None

    def names(self) -> list[str]:
        return sorted(self._tasks)


#: The process-wide registry domain packages register their tasks on.
registry = TaskRegistry()


class Executor(Protocol):
    """Runs a named task with a JSON-serialisable payload, now or soon."""

    def submit(self, name: str, payload: dict[str, Any]) -> Future[None]: ...

    def shutdown(self) -> None: ...


def _run(reg: TaskRegistry, ctx: TaskContext, name: str, payload: dict[str, Any]) -> None:
    try:
        reg.get(name)(ctx, payload)
    except Exception:
        log.exception("task failed", extra={"task": name})
        raise


class InlineExecutor:
    """Runs each task at once in the caller's thread; for tests and the CLI."""

    def __init__(self, ctx: TaskContext, reg: TaskRegistry = registry) -> None:
        self._ctx, self._reg = ctx, reg

    def submit(self, name: str, payload: dict[str, Any]) -> Future[None]:
        future: Future[None] = Future()
        try:
            _run(self._reg, self._ctx, name, payload)
            future.set_result(None)
        except Exception as exc:  # the future carries it to whoever waits
            future.set_exception(exc)
        return future

    def shutdown(self) -> None:
        return None


class InProcessExecutor:
    """Runs tasks on a pool of worker threads inside the server process (embedded default)."""

    def __init__(self, ctx: TaskContext, workers: int = 2, reg: TaskRegistry = registry) -> None:
        self._ctx, self._reg = ctx, reg
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bastion-worker")

    def submit(self, name: str, payload: dict[str, Any]) -> Future[None]:
        self._reg.get(name)  # fail fast on a typo, in the caller's thread
        return self._pool.submit(_run, self._reg, self._ctx, name, payload)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
