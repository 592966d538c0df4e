"""Hole 5: scans and reviews deadlocked on PostgreSQL (a case row and the audit head, taken in both orders).

Sixteen clients at once over HTTP against a live server on PostgreSQL: platforms scanning banked
pictures (opening and joining cases, preserving media), reviewers taking and deciding cases, legal
staff filing and editing requests. A bounded number of requests, not a time: every answer must be
below 500, and the audit chain must verify afterwards (concurrent appends never fork it).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from bastion import audit
from bastion.auth.roles import Role
from bastion.legal import directory
from bastion.media import hash_media
from tests.detect.images import jpeg
from tests.legal.conftest import MUMBAI
from tests.security.conftest import Live, api_key, login

PICTURES = 6
ROUNDS = 10  # requests per client, per kind of step


@pytest.fixture
def database_url(postgres_database: str) -> str:
    """Row locks and deadlocks are PostgreSQL's; SQLite has one writer at a time."""
    return postgres_database


def _setup(live: Live, user_factory: Any) -> tuple[str, list[str]]:
    admin = live.client("192.0.2.1")
    csrf = login(admin, user_factory(Role.ADMIN), live.clock)
    key = api_key(live, admin, csrf, user_factory(Role.PLATFORM).username)
    machine = live.client("192.0.2.10")
    machine.headers["Authorization"] = f"Bearer {key}"
    assert machine.post("/api/v1/banks", json={"name": "KNOWN"}).status_code in (200, 201)
    for seed in range(PICTURES):
        h = hash_media(jpeg(100 + seed))
        added = machine.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": h.pdq, "md5": h.md5},
                                                                   "classification": "A1"})
        assert added.status_code in (200, 201), added.text
    return key, [jpeg(100 + seed) for seed in range(PICTURES)]  # type: ignore[return-value]


def _scanner(live: Live, key: str, pictures: list[bytes], n: int, statuses: list[int]) -> None:
    with live.client(f"192.0.2.{20 + n}") as http:
        http.headers["Authorization"] = f"Bearer {key}"
        for i in range(ROUNDS):
            answer = http.post("/api/v1/scan", files={"file": ("p.jpg", pictures[(n + i) % len(pictures)])},
                               data={"content_id": f"post-{n}-{i}", "account_id": f"uploader-{(n + i) % 3}"})
            statuses.append(answer.status_code)


def _signed_in(live: Live, user: Any, address: str) -> tuple[Any, dict[str, str]]:
    """Logged in before the load starts: second-factor codes are one-use, so logins cannot race."""
    http = live.client(address)
    return http, login(http, user, live.clock)


def _reviewer(http: Any, csrf: dict[str, str], statuses: list[int]) -> None:
    for _ in range(ROUNDS):
        taken = http.post("/api/v1/cases/next", headers=csrf)
        statuses.append(taken.status_code)
        case = taken.json() if taken.status_code == 200 else None
        if not case:
            continue
        detail = http.get(f"/api/v1/cases/{case['id']}")
        statuses.append(detail.status_code)
        for item in detail.json().get("items", [])[:2]:
            decided = http.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision", headers=csrf,
                                json={"decision": "not_match", "reason": "load test: benign picture"})
            statuses.append(decided.status_code)
        statuses.append(http.post(f"/api/v1/cases/{case['id']}/release", headers=csrf).status_code)


def _legal(http: Any, csrf: dict[str, str], n: int, statuses: list[int]) -> None:
    for i in range(ROUNDS):
        created = http.post("/api/v1/legal/requests", headers=csrf, json={
            "instrument": "in_bnss_94", "source": "email", "requester_email": "si.patil@mumbaipolice.gov.in",
            "issuing_authority": "Mumbai Police Cyber Cell", "issuing_officer": "SI A. Patil",
            "case_number": f"FIR {n}{i}/2026", "accounts": [{"kind": "user_id", "value": f"uploader-{i % 3}"}],
            "categories": ["subscriber"], "date_from": "2024-02-01", "date_to": "2024-03-31"})
        statuses.append(created.status_code)
        if created.status_code == 201:
            edited = http.patch(f"/api/v1/legal/requests/{created.json()['id']}", headers=csrf,
                                json={"accounts": [{"kind": "user_id", "value": f"uploader-{(i + 1) % 3}"}]})
            statuses.append(edited.status_code)


def test_sixteen_clients_mixing_scans_reviews_and_legal_work(live, user_factory, sessions) -> None:  # type: ignore[no-untyped-def]
    key, pictures = _setup(live, user_factory)
    with sessions() as session:
        directory.set_agency(session, actor="test", clock=live.clock, **MUMBAI)
        session.commit()
    reviewers = [_signed_in(live, user_factory(Role.REVIEWER), f"198.51.100.{80 + n}") for n in range(5)]
    lawyers = [_signed_in(live, user_factory(Role.LEGAL), f"198.51.100.{120 + n}") for n in range(3)]
    statuses: list[int] = []
    failures: list[BaseException] = []

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001  (reported below, with the statuses)
            failures.append(exc)

    threads = ([threading.Thread(target=guarded, args=(_scanner, live, key, pictures, n, statuses)) for n in range(8)]
               + [threading.Thread(target=guarded, args=(_reviewer, http, csrf, statuses)) for http, csrf in reviewers]
               + [threading.Thread(target=guarded, args=(_legal, http, csrf, n, statuses))
                  for n, (http, csrf) in enumerate(lawyers)])
    assert len(threads) == 16
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    for http, _ in reviewers + lawyers:
        http.close()
    assert not failures, failures
    counts = Counter(statuses)
    assert sum(counts.values()) > 16 * ROUNDS
    assert not [s for s in counts if s >= 500], counts
    assert counts[200] > 8 * ROUNDS // 2  # the scans went through
    with sessions() as session:
        assert audit.verify(session).ok
