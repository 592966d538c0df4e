"""Every server and worker must use the same vault: the records tell when one does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bastion.auth.roles import Role
from bastion.cli.evidence import evidence_app
from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.evidence import FsspecBlobStore, MasterKey, Vault
from bastion.evidence.models import EvidenceBlob
from bastion.evidence.shared import check_shared
from tests.conftest import api_login, make_user
from tests.evidence.test_cli import cli_env  # noqa: F401  (the CLI pointed at the fixtures' vault)


def _preserve(vault: Vault, sessions: sessionmaker[Session], n: int) -> None:
    with sessions() as session:
        for i in range(n):
            vault.preserve(session, f"benign bytes {i}".encode(), kind="document", subject=f"case:{i}",
                           actor="test", reason="test")
        session.commit()


def test_the_shared_vault_passes_and_a_replica_with_its_own_store_or_key_does_not(
        vault: Vault, master: MasterKey, tmp_path: Path, clock: ManualClock, sessions: sessionmaker[Session]) -> None:
    _preserve(vault, sessions, 4)
    with sessions() as session:
        assert check_shared(session, vault) == []
        own_store = Vault(FsspecBlobStore(str(tmp_path / "elsewhere")), master, clock)
        missing = check_shared(session, own_store)
        assert len(missing) == 3  # the newest three objects are probed
        assert all("not in this process's blob store" in p and "BASTION_EVIDENCE_STORE_URL" in p for p in missing)
        other_key = Vault(vault.store, MasterKey.generate(), clock)
        wrong_key = check_shared(session, other_key)
        assert len(wrong_key) == 1 and master.key_id in wrong_key[0]


def test_evidence_check_on_the_command_line(cli_env: Path, vault: Vault, store: FsspecBlobStore,  # noqa: F811
                                            sessions: sessionmaker[Session]) -> None:
    _preserve(vault, sessions, 1)
    good = CliRunner().invoke(evidence_app, ["check"])
    assert good.exit_code == 0, good.output
    assert "holds the newest evidence" in good.output
    with sessions() as session:
        key = session.query(EvidenceBlob.object_key).scalar()
    store.delete(key)
    bad = CliRunner().invoke(evidence_app, ["check"])
    assert bad.exit_code == 1 and key in bad.output


def test_a_server_whose_vault_lacks_the_newest_evidence_says_so_on_the_operations_page(
        settings: Settings, clock: ManualClock, engine: Engine, sessions: sessionmaker[Session]) -> None:
    from bastion.web.app import create_app

    with sessions() as session:
        session.add(EvidenceBlob(sha256="ab" * 32, object_key="objects/ab/elsewhere", size=3, key_id="0000000000000000",
                                 wrapped_key=b"x", created_at=clock.now()))
        session.commit()
    admin = make_user(sessions, clock, Role.ADMIN)
    with TestClient(create_app(settings, clock=clock, engine=engine, background=True)) as http:
        api_login(http, admin, clock)
        page = http.get("/operations").text
    assert 'id="vault-problems"' in page
    assert "objects/ab/elsewhere" in page and "0000000000000000" in page


@pytest.mark.parametrize("objects", [0, 2], ids=["fresh-install", "with-evidence"])
def test_a_server_sharing_the_vault_shows_no_warning(objects: int, settings: Settings, clock: ManualClock,
                                                    engine: Engine, sessions: sessionmaker[Session]) -> None:
    from bastion.web.app import create_app

    app = create_app(settings, clock=clock, engine=engine, background=True)
    _preserve(app.state.bastion.services["evidence.vault"], sessions, objects)  # before it starts, as a replica would
    admin = make_user(sessions, clock, Role.ADMIN)
    with TestClient(app) as http:
        api_login(http, admin, clock)
        assert 'id="vault-problems"' not in http.get("/operations").text
