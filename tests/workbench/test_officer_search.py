"""Officer accounts list: search by the start of the address, approval filter shown by title, keyset pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.legal import officers
from bastion.legal.models import Requester
from tests.conftest import api_login


def _officers(db: Session, clock: ManualClock, n: int) -> list[int]:
    """n officer accounts (every third still pending) at two domains, bulk-inserted; their user ids, oldest first."""
    now = clock.now()
    db.execute(insert(User), [{"username": f"officer{i:04d}", "role": Role.OFFICER.value, "disabled": i % 3 == 0,
                               "created_at": now} for i in range(n)])
    db.execute(insert(User), [{"username": "not-an-officer", "role": Role.LEGAL.value, "created_at": now}])
    ids = list(db.scalars(select(User.id).where(User.role == Role.OFFICER.value).order_by(User.id)))
    db.execute(insert(Requester), [
        {"email": f"si.{i:04d}@{'police.gov.in' if i % 2 else 'met.police.uk'}", "user_id": user_id,
         "created_at": now} for i, user_id in enumerate(ids)])
    db.execute(insert(Requester), [{"email": "si.9999@police.gov.in", "created_at": now}])  # no account
    db.commit()
    return ids


def _walk(db: Session, limit: int, **filters: str) -> list[str]:
    seen, cursor = [], None
    while True:
        page = officers.officers_page(db, cursor=cursor, limit=limit, **filters)
        seen += [requester.email for _, requester in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_officers_page_walks_every_match_once(db: Session, clock: ManualClock) -> None:
    _officers(db, clock, 230)
    every = _walk(db, 17)
    assert len(every) == 230 and len(set(every)) == 230 and every[0] == "si.0229@police.gov.in"  # newest first
    assert _walk(db, 4, email=" SI.001") == [f"si.{i:04d}@{'police.gov.in' if i % 2 else 'met.police.uk'}"
                                           for i in range(19, 9, -1)]
    pending = _walk(db, 6, email="si.00", state="pending")
    assert pending == [f"si.{i:04d}@{'police.gov.in' if i % 2 else 'met.police.uk'}" for i in range(99, -1, -1)
                       if i % 3 == 0]
    assert _walk(db, 50, email="si.9999") == []  # a requester without an account is not an officer account


@pytest.mark.parametrize("bad", [{"email": "x" * 321}, {"state": "bogus"}, {"cursor": "%%%"},
                                 {"cursor": "WyJ4Il0"}])
def test_bad_officer_searches_are_refused(db: Session, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        officers.officers_page(db, **bad)


def test_officers_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _officers(db, clock, 70)
    api_login(client, user_factory(Role.LEGAL), clock)
    pending = client.get("/legal/officers", params={"q": "si.00", "state": "pending"})
    assert pending.status_code == 200 and pending.text.count("data-email=") == 24  # 0, 3, .. 69
    assert "Pending approval</td>" in pending.text and "Active</td>" not in pending.text
    everyone = client.get("/legal/officers")
    assert everyone.text.count("data-email=") == 50 and 'id="officers-next"' in everyone.text
    href = everyone.text.split('id="officers-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(href)
    assert rest.text.count("data-email=") == 20 and 'data-email="si.0000@met.police.uk"' in rest.text
    bad = client.get("/legal/officers", params={"cursor": "%%%"})
    assert bad.status_code == 422 and "start again from the first page" in bad.text
