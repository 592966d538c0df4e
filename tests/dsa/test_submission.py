"""Batches to the Transparency Database stand-in over HTTP: retried after a failure, never duplicated."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.dev.dsa_tdb import DsaStandinServer
from bastion.dsa.build import record_new
from bastion.dsa.client import TransparencyDatabase
from bastion.dsa.models import DsaStatement
from bastion.dsa.submit import backoff, submit_pending
from bastion.dsa.tasks import DATABASE_SERVICE, TASK, schedule
from bastion.executor import TaskContext
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.dsa.conftest import TOKEN
from tests.dsa.seed import eu_notices


def rows(db: Session) -> list[DsaStatement]:
    return list(db.scalars(select(DsaStatement).order_by(DsaStatement.id)))


def test_a_batch_whose_answer_was_lost_is_retried_and_nothing_is_duplicated(
        db: Session, clock: ManualClock, tdb: DsaStandinServer, tdb_client: TransparencyDatabase) -> None:
    eu_notices(db, clock, 3)
    record_new(db, clock)
    tdb.state.fail_next(1, after_write=True)  # the database writes the batch, the answer never arrives

    first = submit_pending(db, tdb_client, clock)
    assert first == {"submitted": 0, "already_held": 0, "refused": 0, "retry_later": 3, "batches": 1}
    assert [r.status for r in rows(db)] == ["pending"] * 3
    assert all(r.next_attempt_at == clock.now() + timedelta(minutes=1) and "503" in r.last_error for r in rows(db))
    assert submit_pending(db, tdb_client, clock)["batches"] == 0  # not due before its backoff

    clock.advance(timedelta(minutes=1))
    second = submit_pending(db, tdb_client, clock)
    assert second == {"submitted": 0, "already_held": 3, "refused": 0, "retry_later": 0, "batches": 1}
    held = {s["puid"]: s["uuid"] for s in tdb.state.statements()}
    assert len(held) == 3 and tdb.state.calls == 2
    assert {r.puid: r.uuid for r in rows(db)} == held  # each row has the uuid the database already held
    assert all(r.status == "submitted" and r.attempts == 2 for r in rows(db))


def test_a_batch_refused_by_an_outage_is_sent_again_and_created_once(
        db: Session, clock: ManualClock, tdb: DsaStandinServer, tdb_client: TransparencyDatabase) -> None:
    eu_notices(db, clock, 2)
    record_new(db, clock)
    tdb.state.fail_next(1)  # 503 before anything is written
    assert submit_pending(db, tdb_client, clock)["retry_later"] == 2
    assert tdb.state.statements() == []
    clock.advance(backoff(1))
    assert submit_pending(db, tdb_client, clock)["submitted"] == 2
    assert sorted(s["uuid"] for s in tdb.state.statements()) == sorted(r.uuid for r in rows(db))
    assert submit_pending(db, tdb_client, clock)["batches"] == 0  # nothing left: nothing sent again
    assert len(tdb.state.statements()) == 2


def test_the_api_refusing_one_statement_refuses_it_alone(
        db: Session, clock: ManualClock, tdb: DsaStandinServer, tdb_client: TransparencyDatabase) -> None:
    eu_notices(db, clock, 3)
    record_new(db, clock)
    middle = rows(db)[1]
    middle.payload = {**middle.payload, "automated_detection": "Maybe"}  # something only the API catches now
    db.flush()
    tally = submit_pending(db, tdb_client, clock)
    assert tally == {"submitted": 2, "already_held": 0, "refused": 1, "retry_later": 0, "batches": 1}
    assert middle.status == "refused"
    assert middle.last_error == "automated_detection: The selected automated detection is invalid."
    assert sorted(s["puid"] for s in tdb.state.statements()) == sorted(r.puid for r in rows(db) if r is not middle)
    assert tdb.state.calls == 2  # the 422 created none; the two valid ones went again


def test_batches_hold_at_most_a_hundred(db: Session, clock: ManualClock, tdb: DsaStandinServer,
                                        tdb_client: TransparencyDatabase) -> None:
    eu_notices(db, clock, 5)
    record_new(db, clock)
    tally = submit_pending(db, tdb_client, clock, batch_size=2)
    assert tally["batches"] == 3 and tally["submitted"] == 5 and len(tdb.state.statements()) == 5


def test_the_stand_in_answers_as_the_api_documentation_says(tdb: DsaStandinServer, db: Session,
                                                              clock: ManualClock) -> None:
    from bastion.dsa.build import statement_for

    statement = statement_for(db, eu_notices(db, clock, 1)[0])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=tdb.base_url + "/api/v1") as http:
        assert http.post("/statements", json={"statements": [statement]}).status_code == 401
        assert http.post("/statements", json={"statements": [statement]},
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
        empty = http.post("/statement", json={}, headers=auth)
        assert empty.status_code == 422
        errors = empty.json()["errors"]
        assert {"decision_ground", "puid", "decision_visibility", "decision_account"} <= set(errors)
        assert empty.json()["message"].startswith("The decision visibility field is required when none of")
        created = http.post("/statement", json=statement, headers=auth)
        assert created.status_code == 201 and created.json()["puid"] == statement["puid"]
        again = http.post("/statement", json=statement, headers=auth)
        assert again.status_code == 422 and again.json()["errors"] == {
            "puid": ["The identifier given is not unique within this platform."]}
        assert again.json()["existing"]["uuid"] == created.json()["uuid"]
        found = http.get(f"/statement/existing-puid/{statement['puid']}", headers=auth)
        assert found.status_code == 302 and found.json()["uuid"] == created.json()["uuid"]
        assert http.get("/statement/existing-puid/nope", headers=auth).status_code == 404
        twice = http.post("/statements", json={"statements": [{**statement, "puid": "a"}, {**statement, "puid": "a"}]},
                          headers=auth)
        assert twice.status_code == 422 and list(twice.json()["errors"]) == ["statement_1"]
        too_many = http.post("/statements", json={"statements": [statement] * 101}, headers=auth)
        assert too_many.status_code == 422 and "100" in too_many.json()["message"]
    assert len(tdb.state.statements()) == 1


def test_the_timer_records_new_notices_and_sends_them(sessions: sessionmaker[Session], clock: ManualClock,
                                                       tdb: DsaStandinServer) -> None:
    with sessions() as session, session.begin():
        eu_notices(session, clock, 2)
        schedule(session, clock)
    services = {DATABASE_SERVICE: lambda: TransparencyDatabase(tdb.base_url, TOKEN)}
    Ticker(TaskContext(sessions=sessions, clock=clock, services=services)).tick()
    with sessions() as session:
        assert [r.status for r in rows(session)] == ["submitted", "submitted"]
        timer = session.scalar(select(Timer).where(Timer.kind == TASK))
        assert timer is not None and timer.status == "pending" and timer.due_at == clock.now() + timedelta(minutes=10)
    assert len(tdb.state.statements()) == 2


def test_without_a_database_statements_wait(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with sessions() as session, session.begin():
        eu_notices(session, clock, 1)
        schedule(session, clock)
    Ticker(TaskContext(sessions=sessions, clock=clock, services={})).tick()
    with sessions() as session:
        assert [r.status for r in rows(session)] == ["pending"]


def test_errors_naming_no_statement_of_the_batch_wait_instead_of_looping(db: Session, clock: ManualClock) -> None:
    from bastion.dsa.client import BatchAnswer

    class Odd:
        calls = 0

        def submit(self, statements: list[dict]) -> BatchAnswer:  # type: ignore[type-arg]
            self.calls += 1
            return BatchAnswer(errors={len(statements) + 5: {"category": ["The selected category is invalid."]}})

        def existing(self, puid: str) -> str | None:
            return None

    eu_notices(db, clock, 2)
    record_new(db, clock)
    odd = Odd()
    assert submit_pending(db, odd, clock)["retry_later"] == 2 and odd.calls == 1
    assert all(r.status == "pending" and "without naming a statement" in r.last_error for r in rows(db))


def test_a_wrong_token_is_audited_and_the_timer_keeps_its_rhythm(sessions: sessionmaker[Session], clock: ManualClock,
                                                                 tdb: DsaStandinServer) -> None:
    from bastion.audit.models import AuditRecord

    with sessions() as session, session.begin():
        eu_notices(session, clock, 1)
        schedule(session, clock)
    services = {DATABASE_SERVICE: lambda: TransparencyDatabase(tdb.base_url, "X|an-old-token")}
    Ticker(TaskContext(sessions=sessions, clock=clock, services=services)).tick()
    with sessions() as session:
        assert [r.status for r in rows(session)] == ["pending"]
        refused = session.scalar(select(AuditRecord).where(AuditRecord.action == "dsa.credentials_refused"))
        assert refused is not None and "BASTION_DSA_TDB_TOKEN" in str(refused.details)
        timer = session.scalar(select(Timer).where(Timer.kind == TASK))
        assert timer is not None and timer.status == "pending" and timer.due_at == clock.now() + timedelta(minutes=10)
    assert tdb.state.statements() == []
