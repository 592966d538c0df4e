"""Background work: task functions, a registry, and executors that run them.

Task functions are plain `fn(ctx: TaskContext, payload: dict) -> None`; they know
nothing of threads or brokers. `InProcessExecutor` runs them on worker threads (the
embedded default); a broker-backed executor only needs to implement `Executor`.
"""

from bastion.executor.core import (
    Executor,
    InlineExecutor,
    InProcessExecutor,
    TaskContext,
    TaskRegistry,
    UnknownTask,
    registry,
)

__all__ = ["Executor", "InlineExecutor", "InProcessExecutor", "TaskContext", "TaskRegistry", "UnknownTask", "registry"]
