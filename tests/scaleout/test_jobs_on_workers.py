"""A bulk import as a fan-out job on a real broker: `bastion banks import` queues its chunks on the
`import` queue, a `bastion worker` process runs them, and the command follows the job to its end."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bastion.banks import service as banks
from bastion.banks.models import BankEntry
from bastion.broker import BrokerConfig
from bastion.broker.celery_app import make_celery
from bastion.broker.models import TaskMessage
from bastion.clock import SystemClock
from bastion.db import make_engine, make_sessionmaker
from bastion.jobs.models import FanoutJob, JobChunk
from tests.conftest import SECRET, _truncate
from tests.scaleout.conftest import amqp_url

ROOT = Path(__file__).resolve().parents[2]
ROWS = 50


def test_an_import_job_runs_on_a_worker_and_the_cli_follows_it(postgres_database: str, tmp_path: Path) -> None:
    url = amqp_url()
    _truncate(postgres_database)
    make_celery(BrokerConfig(url=url)).control.purge()
    engine = make_engine(postgres_database)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        banks.create_bank(session, name="BULK", actor="test", clock=SystemClock())
        session.commit()
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"md5 {hashlib.md5(str(i).encode()).hexdigest()}\n" for i in range(ROWS)))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BASTION_DATABASE_URL": postgres_database,
           "BASTION_SECRET_KEY": SECRET, "BASTION_DATA_DIR": str(tmp_path / "var"), "BASTION_BROKER_URL": url,
           "BASTION_MEDIA_DECODE_WORKERS": "0", "BASTION_LOG_LEVEL": "WARNING", "BASTION_PDQ_INDEX": "brute"}
    worker = subprocess.Popen([sys.executable, "-m", "bastion.cli.main", "worker", "--queues", "rescan,import",
                               "--concurrency", "2"], env=env, stdout=(tmp_path / "worker.log").open("wb"),
                              stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        done = subprocess.run([sys.executable, "-m", "bastion.cli.main", "banks", "import", "BULK", str(listing),
                               "--chunk-size", "10"], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr + (tmp_path / "worker.log").read_text()
    assert f"{ROWS} imported, 0 already present, 0 bad lines" in done.stdout, done.stdout
    with sessions() as session:
        job = session.scalars(select(FanoutJob)).one()
        assert (job.kind, job.state, job.done, job.total, job.chunks_done) == ("import", "done", ROWS, ROWS, 5)
        assert [c.runs for c in session.scalars(select(JobChunk).order_by(JobChunk.seq))] == [1] * 5
        queues = session.scalars(select(TaskMessage.queue).where(TaskMessage.task == "import.chunk")).all()
        assert queues == ["import"] * 5
        assert len(session.scalars(select(BankEntry.id)).all()) == ROWS
    engine.dispose()
