"""A reviewer confirms a case against an EU user on the demo platform; the statement reaches the database."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.dev.dsa_tdb import DsaStandinServer
from bastion.dsa.client import TransparencyDatabase
from bastion.dsa.models import DsaStatement
from bastion.dsa.tasks import DATABASE_SERVICE, schedule
from bastion.notices.models import NoticeRecord
from bastion.orgsettings import set_value
from bastion.platform import HttpPlatformConnector
from tests.appeals.flow import ACCOUNT, confirm_case, run_timers
from tests.cases.conftest import platform, settings  # noqa: F401  (fixtures: the demo platform)
from tests.dsa.conftest import TOKEN


def test_an_eu_users_enforcement_is_filed_once(app, client: TestClient, sessions: sessionmaker[Session],  # type: ignore[no-untyped-def]
                                               clock: ManualClock, platform: HttpPlatformConnector,  # noqa: F811
                                               user_factory, tdb: DsaStandinServer) -> None:
    with sessions() as session, session.begin():
        set_value(session, "notices.user_jurisdiction", "EU", actor="admin", clock=clock)
    app.state.bastion.services[DATABASE_SERVICE] = lambda: TransparencyDatabase(tdb.base_url, TOKEN)
    case_id = confirm_case(app, client, sessions, clock, platform, user_factory(Role.REVIEWER))
    run_timers(app, sessions, clock)  # the enforcement and its statement of reasons
    with sessions() as session, session.begin():
        schedule(session, clock)  # what the server does at start (tests run without the lifespan)
    run_timers(app, sessions, clock)
    with sessions() as session:
        notice = session.scalar(select(NoticeRecord).where(NoticeRecord.subject == f"case:{case_id}"))
        assert notice is not None and notice.jurisdiction == "EU"
        assert notice.status == "withheld"  # the CSAM policy keeps the user from being told ...
        row = session.scalar(select(DsaStatement).where(DsaStatement.notice_id == notice.id))
        assert row is not None and row.status == "submitted"  # ... but the database, which names nobody, is
    held = tdb.state.statements()
    assert [s["puid"] for s in held] == [f"bastion-{notice.reference}"] and held[0]["uuid"] == row.uuid
    assert held[0]["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert held[0]["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert held[0]["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"  # the reviewer confirmed it
    assert ACCOUNT not in repr(held)
    clock.advance(timedelta(minutes=11))
    run_timers(app, sessions, clock)
    assert len(tdb.state.statements()) == 1 and tdb.state.calls == 1
