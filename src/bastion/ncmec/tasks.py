"""The CyberTipline worker's tasks and how an application wires them.

* ``ncmec.advance`` (payload ``report_id``) drives one approved report as far as it
  can go now: submit, upload, fileinfo, finish, or a requested retraction.
* ``ncmec.watch`` (payload ``report_id``) flags a report NCMEC is about to delete
  unfinished, and re-creates one that is gone.

Both run from timers (one of each per report, deduplicated), so the ticker of any
process picks them up; both read the client factory, the evidence vault and the
platform connector factory from ``TaskContext.services``.
"""

from __future__ import annotations

from typing import Any

from bastion.executor import TaskContext, registry
from bastion.ncmec.config import NcmecConfig
from bastion.ncmec.lifecycle import ADVANCE_TASK, CLIENT_FACTORY, WATCH_TASK, Worker

__all__ = ["ADVANCE_TASK", "CLIENT_FACTORY", "WATCH_TASK", "advance_task", "watch_task", "wire"]


@registry.task(ADVANCE_TASK)
def advance_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    Worker(ctx.sessions, ctx.clock, ctx.services).advance(int(payload["report_id"]))


@registry.task(WATCH_TASK)
def watch_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    Worker(ctx.sessions, ctx.clock, ctx.services).watch(int(payload["report_id"]))


def wire(services: dict[str, Any], config: NcmecConfig) -> None:
    """Put the NCMEC client factory into `services`, if `config` names an account."""
    factory = config.client_factory()
    if factory is not None:
        services.setdefault(CLIENT_FACTORY, factory)
