"""A bank's entries: search by one whole hash, keyset pages past 10,000 entries (no OFFSET)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.banks import service
from bastion.banks.models import Bank, BankEntry, EntrySignal
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from tests.conftest import api_login


def _bank(db: Session, clock: ManualClock, n: int) -> Bank:
    bank = service.create_bank(db, name="SEARCH_BANK", actor="test", clock=clock)
    db.execute(insert(BankEntry), [{"bank_id": bank.id, "external_id": f"x-{i}", "added_at": clock.now()}
                                   for i in range(n)])
    entries = list(db.scalars(select(BankEntry.id).where(BankEntry.bank_id == bank.id).order_by(BankEntry.id)))
    db.execute(insert(EntrySignal), [{"entry_id": e, "bank_id": bank.id, "signal_type": "md5", "value": f"{i:032x}"}
                                     for i, e in enumerate(entries)])
    db.commit()
    return bank


def test_entries_page_past_ten_thousand_and_search_by_hash(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock, 10_040)
    seen, cursor = [], None
    while True:
        page = service.entry_page(db, bank, cursor=cursor, limit=500)
        seen += [e.id for e, _ in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 10_040 and seen == sorted(seen)
    found = service.entry_page(db, bank, hash_value=f" {10_007:032X} ")
    assert [(e.external_id, s["md5"]) for e, s in found.rows] == [("x-10007", f"{10_007:032x}")]
    assert found.next_cursor is None and service.entry_page(db, bank, hash_value="f" * 64).rows == []


@pytest.mark.parametrize("bad", [{"hash_value": "abc"}, {"hash_value": "z" * 32}, {"cursor": "%%%"}])
def test_bad_bank_searches_are_refused(db: Session, clock: ManualClock, bad: dict[str, str]) -> None:
    bank = service.create_bank(db, name="TINY", actor="test", clock=clock)
    with pytest.raises(InvalidInput):
        service.entry_page(db, bank, **bad)


def test_bank_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _bank(db, clock, 130)
    api_login(client, user_factory(Role.ADMIN), clock)
    first = client.get("/banks/SEARCH_BANK")
    assert first.status_code == 200 and first.text.count("<code>") == 100 and 'id="entries-next"' in first.text
    href = first.text.split('id="entries-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(href)
    assert rest.text.count("<code>") == 30 and 'id="entries-next"' not in rest.text
    one = client.get("/banks/SEARCH_BANK", params={"hash": f"{42:032x}"})
    assert one.text.count("<code>") == 1 and "x-42<" in one.text and "<img" not in one.text
    assert client.get("/banks/SEARCH_BANK", params={"hash": "nothex"}).status_code == 422
