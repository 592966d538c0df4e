"""Fan-out jobs: a rescan or a bulk import split into chunks that any worker may run.

The job row is what an operator follows (done of total, cancelled, the checkpoint); a chunk
row is the unit of work and of idempotency: a chunk's effect and its `done` mark commit in
one transaction, so a chunk is never applied twice however often its message is delivered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime

#: Kinds of fan-out work, each with its chunk task (`rescan.chunk`, `import.chunk`) on its own queue.
KINDS = ("rescan", "import")
#: queued (chunks written, none finished) -> running -> done | cancelled | failed (a chunk dead-lettered after
#: its tries; `resume` gives the dead chunks fresh tries and the job runs on from its checkpoint).
OPEN = ("queued", "running")
STATES = ("queued", "running", "done", "cancelled", "failed")


class FanoutJob(Base):
    """One rescan or import: what it covers, how far it got, and whether it was cancelled."""

    __tablename__ = "fanout_jobs"
    __table_args__ = (Index("ix_fanout_jobs_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    #: What it is about, for people: "scans since 2026-01-01", "bank KNOWN from list.txt".
    title: Mapped[str] = mapped_column(String(300), default="")
    #: Items (scans, hash rows) in all and finished; chunks in all and finished.
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    #: The highest chunk number up to which every chunk is finished (-1: none yet): where a resume starts.
    checkpoint: Mapped[int] = mapped_column(Integer, default=-1)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The kind's parameters as JSON (a rescan's `since`, an import's bank id and format).
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class JobChunk(Base):
    """A slice of a job: a range of scan ids (rescan) or a list of parsed hash rows (import)."""

    __tablename__ = "fanout_job_chunks"
    __table_args__ = (UniqueConstraint("job_id", "seq"), Index("ix_fanout_job_chunks_job_state", "job_id", "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("fanout_jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    #: pending, done, or dead (its tries ran out; its job failed).
    state: Mapped[str] = mapped_column(String(16), default="pending")
    #: Tries started (counted before the work, so a chunk that kills every worker still uses them up).
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    items: Mapped[int] = mapped_column(Integer, default=0)
    lo_id: Mapped[int] = mapped_column(BigId, default=0)
    hi_id: Mapped[int] = mapped_column(BigId, default=0)
    #: An import's rows as JSON (hash values, never media); emptied once the chunk is done.
    data: Mapped[str] = mapped_column(Text, default="")
    #: What the chunk did (new matches, rows imported, duplicates), JSON.
    result_json: Mapped[str] = mapped_column(Text, default="{}")
    #: Runs that finished it (1 once done; the tests hold it there) and when it was last handed out.
    runs: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
