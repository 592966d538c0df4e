"""Vault fixtures: a local blob store under tmp_path, a fresh master key, the shipped catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.evidence import FsspecBlobStore, MasterKey, Vault, retention


@pytest.fixture
def store(tmp_path: Path) -> FsspecBlobStore:
    return FsspecBlobStore(str(tmp_path / "vault"))


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def vault(store: FsspecBlobStore, master: MasterKey, clock: ManualClock, sessions: sessionmaker[Session]) -> Vault:
    with sessions() as session:  # PostgreSQL tests truncate every table, the seeded catalogue too
        retention.install_catalogue(session, actor="test", clock=clock)
        session.commit()
    return Vault(store, master, clock)
