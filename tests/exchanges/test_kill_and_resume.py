"""A real kill: `bastion exchanges fetch` runs in its own process and is sent SIGKILL while it waits
for the third page of an NCMEC window; a fetch in this process then resumes from the stored paging
URL, with no gap and no duplicate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.banks.models import EntrySignal
from bastion.clock import ManualClock, SystemClock
from bastion.dev.exchanges import NcmecHashStandin
from bastion.exchanges import service
from bastion.exchanges.fetch import LEASE, run_fetch
from bastion.exchanges.models import Exchange, ExchangeItem
from tests.exchanges.conftest import LOOPBACK, NCMEC_PASSWORD, NCMEC_USER, _LibraryTime, md5_values, pdq_values

INSTANCE_SECRET = "kill-test-instance-secret"
ROOT = Path(__file__).resolve().parents[2]


def test_a_fetch_process_killed_mid_window_resumes_with_no_gap_and_no_duplicate(
        sessions: sessionmaker[Session], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threatexchange.exchanges.clients.ncmec import hash_api
    from threatexchange.exchanges.impl import ncmec_api

    real = SystemClock()
    pdqs, md5s = pdq_values(12, seed=71), md5_values(12, seed=72)
    with NcmecHashStandin(NCMEC_USER, NCMEC_PASSWORD, clock=real.now, page_size=5) as ncmec:
        at = real.now().replace(microsecond=0) - timedelta(hours=1)
        for n in range(12):  # one bulk upload: one window of three pages
            ncmec.put(f"img-{n}", {"pdq": pdqs[n], "md5": md5s[n]}, at=at)
        with sessions() as session:
            banks.create_bank(session, name="NCMEC_INDUSTRY", actor="test", clock=real)
            exchange_id = service.add_exchange(
                session, name="NCMEC_KILL", api="ncmec",
                settings={"environment": "test_Industry", "base_url": ncmec.base_url}, bank_names=["NCMEC_INDUSTRY"],
                credentials={"user": NCMEC_USER, "password": NCMEC_PASSWORD}, fetch_every_minutes=30, actor="admin",
                clock=real, secret=INSTANCE_SECRET.encode(), policy=LOOPBACK).id
            session.commit()

        env = {**os.environ, "BASTION_DATABASE_URL": database_url, "BASTION_DATA_DIR": str(tmp_path),
               "BASTION_SECRET_KEY": INSTANCE_SECRET, "BASTION_EXCHANGE_ALLOWED_NETWORKS": "127.0.0.0/8",
               "PYTHONPATH": str(ROOT / "src"), "TZ": "UTC"}
        process = subprocess.Popen([sys.executable, "-c", "from bastion.cli.main import app; app()",
                                    "exchanges", "fetch", "NCMEC_KILL"], env=env, cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        killed: list[str] = []

        def kill_at_third_page(path: str, query: str) -> None:
            if "start=10" in query and not killed:
                killed.append(query)
                os.kill(process.pid, signal.SIGKILL)

        ncmec.on_request = kill_at_third_page
        output, _ = process.communicate(timeout=120)
        ncmec.on_request = None
        assert killed and process.returncode == -signal.SIGKILL, output.decode()

        with sessions() as session:
            exchange = session.get(Exchange, exchange_id)
            assert exchange is not None and exchange.status == "running"  # as the killed process left it
            stored = json.loads(exchange.checkpoint_json)
            held = set(session.scalars(select(EntrySignal.value).where(EntrySignal.signal_type == "pdq")))
        assert "start=10" in stored["paging_info"]["paging_url"]  # two pages committed, the third's URL stored
        assert held == set(pdqs[:10])

        later = ManualClock(real.now() + LEASE + timedelta(minutes=1))  # the dead process's claim has lapsed
        monkeypatch.setenv("TZ", "UTC")
        monkeypatch.setattr(ncmec_api, "time", _LibraryTime(later))
        monkeypatch.setattr(hash_api, "time", _LibraryTime(later))
        before = len(ncmec.requests)
        report = run_fetch(sessions, exchange_id, clock=later, secret=INSTANCE_SECRET.encode(), policy=LOOPBACK)
        assert report.status == "ok", report.error
        assert "start=10" in ncmec.requests[before]["query"]  # resumed at the page it was killed waiting for
        assert report.added == 2
    with sessions() as session:
        assert set(session.scalars(select(EntrySignal.value).where(EntrySignal.signal_type == "pdq"))) == set(pdqs)
        ids = session.scalars(select(ExchangeItem.upstream_id)).all()
    assert sorted(ids) == sorted(f"7-img-{n}" for n in range(12))
