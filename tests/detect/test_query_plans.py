"""The hot paths never read a whole big table: every query they run is an index search.

The statements a scan, a bank lookup and a reviewer's turn actually send are captured and
put to the database's own planner (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL with
sequential scans priced out, so any query that has no usable index still shows one). Tables
that grow with traffic or bank size must be searched, never scanned: at 10M rows a full scan is
what turned a 0.04 ms lookup into 122 ms per scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from bastion.auth.roles import Role
from bastion.media import hash_media
from tests.conftest import api_login
from tests.detect.images import jpeg

BIG_TABLES = {"entry_signals", "bank_entries", "signal_changes", "scans", "scan_matches", "cases", "case_items"}


@contextmanager
def _captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every single-row SELECT sent on `engine` while the block runs, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not executemany and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def _full_scans(engine: Engine, statement: str, parameters: Any) -> set[str]:
    """The big tables the planner would read whole for `statement`."""
    return _scans(engine, statement, parameters) & BIG_TABLES


def _assert_all_searched(engine: Engine, statements: list[tuple[str, Any]]) -> None:
    assert statements, "nothing was captured: the test no longer sees the queries"
    offenders = [(tables, stmt) for stmt, params in statements if (tables := _full_scans(engine, stmt, params))]
    assert not offenders, "full scans on the hot path:\n" + "\n\n".join(f"{t}: {s}" for t, s in offenders)


def _bank_with_entries(client: TestClient, headers: dict[str, str]) -> None:
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=headers)
    for seed in range(1, 4):
        hashes = hash_media(jpeg(seed))
        response = client.post("/api/v1/banks/KNOWN/entries",
                               json={"signals": {"pdq": hashes.pdq, "md5": hashes.md5, "sha256": hashes.sha256},
                                     "classification": "A1"}, headers=headers)
        assert response.status_code in (200, 201), response.text


def test_scan_and_bank_paths_search_their_indexes(client: TestClient, platform_headers: dict[str, str],
                                                  engine: Engine) -> None:
    _bank_with_entries(client, platform_headers)
    with _captured(engine) as statements:
        for seed in (1, 7):  # one exact and PDQ match, one miss
            response = client.post("/api/v1/scan", files={"file": ("u.jpg", jpeg(seed))},
                                   data={"content_id": f"post-{seed}", "account_id": "user-1"},
                                   headers=platform_headers)
            assert response.status_code == 200, response.text
        hashes = hash_media(jpeg(2))
        client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"md5": hashes.md5}}, headers=platform_headers)
    _assert_all_searched(engine, statements)


def test_reviewer_turn_searches_its_indexes(client: TestClient, platform_headers: dict[str, str], engine: Engine,
                                            user_factory) -> None:  # type: ignore[no-untyped-def]
    _bank_with_entries(client, platform_headers)
    for seed in (1, 2):
        client.post("/api/v1/scan", files={"file": ("u.jpg", jpeg(seed))},
                    data={"content_id": f"post-{seed}", "account_id": f"user-{seed}"}, headers=platform_headers)
    csrf = {"X-CSRF-Token": api_login(client, user_factory(Role.REVIEWER), client.app.state.bastion.clock)}
    with _captured(engine) as statements:
        case = client.post("/api/v1/cases/next", headers=csrf).json()
        assert case is not None
        assert client.get(f"/api/v1/cases/{case['id']}").status_code == 200
    _assert_all_searched(engine, statements)


def test_the_login_throttle_probes_its_unique_index(client: TestClient, engine: Engine, user_factory) -> None:  # type: ignore[no-untyped-def]
    """Every login asks the throttle about its account and address: a row-value IN list was a table scan."""
    user = user_factory(Role.REVIEWER)
    with _captured(engine) as statements:
        client.post("/api/v1/auth/login", json={"username": user.username, "password": "wrong password"})
        api_login(client, user, client.app.state.bastion.clock)
    throttle = [(s, p) for s, p in statements if "auth_throttle" in s]
    assert throttle, "the login path no longer asks the throttle"
    scanned = [s for s, p in throttle if "auth_throttle" in _scans(engine, s, p)]
    assert not scanned, "full scans of auth_throttle:\n" + "\n\n".join(scanned)


def _scans(engine: Engine, statement: str, parameters: Any) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return {m.group(1) for row in rows for m in [re.match(r"SCAN (\w+)", str(row[-1]))] if m}
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        conn.rollback()
        return {m.group(1) for row in rows for m in [re.search(r"Seq Scan on (\w+)", str(row[0]))] if m}


def test_a_report_build_searches_its_indexes(engine: Engine) -> None:
    """A month's report over a year of scans reads its period through indexes (then the daily totals)."""
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from bastion.reports.build import figures
    from bastion.reports.trends import matches_per_day

    with _captured(engine) as statements, Session(engine) as session:
        for kind, period in (("india-monthly", "2026-11"), ("le-transparency", "2026-H2"),
                             ("dsa-transparency", "2026-H2")):
            figures(session, kind, period, datetime(2026, 12, 3, tzinfo=UTC))
        matches_per_day(session, datetime(2026, 12, 3, tzinfo=UTC))
    _assert_all_searched(engine, statements)
