"""Admin and portal lists: bounded searches, filters, keyset pages with no cap, clear refusals."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth import apikeys, keylist, userlist
from bastion.auth.models import ApiKey, User
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.db import keyset
from bastion.db.keyset import Page
from bastion.errors import InvalidInput
from bastion.jobs import service as jobs
from bastion.jobs.models import KINDS, FanoutJob
from bastion.jobs.models import STATES as JOB_STATES
from bastion.legal import portal
from bastion.legal.models import LegalRequest, Requester
from bastion.reports import versions
from bastion.reports.models import ReportVersion
from bastion.reports.period import KINDS as REPORT_KINDS
from tests.conftest import api_login


def _walk(fetch: Callable[[str | None], Page[Any]]) -> list[Any]:
    """Every row of a list, page by page, following each page's cursor to the end."""
    rows, cursor = [], None
    while True:
        page = fetch(cursor)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def _next_href(html: str, anchor: str) -> str | None:
    if f'id="{anchor}"' not in html:
        return None
    return html.split(f'id="{anchor}"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&").split("#")[0]


def _users(db: Session, clock: ManualClock, n: int) -> None:
    """n accounts in one bulk insert: every third disabled, every fifth a legal officer, some capitalised."""
    now = clock.now()
    db.execute(insert(User), [
        {"username": f"{'Bulk' if i % 7 == 0 else 'bulk'}-{i:05d}", "email": "", "disabled": i % 3 == 0,
         "role": Role.LEGAL.value if i % 5 == 0 else Role.REVIEWER.value, "password_hash": "",
         "totp_secret": "", "totp_enabled": False, "totp_last_step": 0, "failed_logins": 0, "created_at": now}
        for i in range(n)])
    db.commit()


def test_users_walk_past_ten_thousand_in_username_order(db: Session, clock: ManualClock) -> None:
    _users(db, clock, 10_050)
    seen = _walk(lambda c: userlist.users_page(db, q="BULK-", cursor=c, limit=500))
    names = [u.username.lower() for u in seen]
    assert len(names) == 10_050 == len(set(names)) and names == sorted(names)
    disabled = _walk(lambda c: userlist.users_page(db, q="bulk", state="disabled", role="legal", cursor=c, limit=97))
    assert len(disabled) == len([i for i in range(10_050) if i % 15 == 0])
    assert {(u.disabled, u.role) for u in disabled} == {(True, "legal")}
    assert [u.username for u in userlist.users_page(db, q="bulk-0004").rows][:3] == [
        "bulk-00040", "bulk-00041", "Bulk-00042"]
    assert userlist.users_page(db, q="bulk-1").rows[0].username == "bulk-10000"
    assert userlist.users_page(db, q="bulk_").rows == [] and userlist.users_page(db, q="%").rows == []


@pytest.mark.parametrize("bad", [{"q": "x" * 151}, {"role": "boss"}, {"state": "asleep"}, {"cursor": "%%%"},
                                 {"cursor": "WzFd"}, {"limit": 501}])
def test_bad_user_searches_are_refused(db: Session, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        userlist.users_page(db, **bad)


def test_users_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _users(db, clock, 120)
    api_login(client, user_factory(Role.ADMIN), clock)
    first = client.get("/admin/users", params={"q": "bulk", "state": "active"})
    assert first.status_code == 200 and first.text.count("data-username=") == 50
    names, href = [], "/admin/users?q=bulk&state=active"
    while href:
        html = client.get(href).text
        names += [part.split('"')[0] for part in html.split('data-username="')[1:]]
        href = _next_href(html, "users-next")
    assert names == [f"{'Bulk' if i % 7 == 0 else 'bulk'}-{i:05d}" for i in range(120) if i % 3]
    assert client.get("/admin/users", params={"cursor": "not-a-cursor"}).status_code == 422
    assert client.get("/admin/users", params={"role": "boss"}).status_code == 422


def _keys(db: Session, clock: ManualClock, owner_id: int, n: int, tag: str) -> None:
    """n keys for one owner: every fourth revoked, every third of the rest already expired."""
    now = clock.now()
    db.execute(insert(ApiKey), [
        {"user_id": owner_id, "name": f"{tag}-{i % 10}", "prefix": f"{tag[:4]}{i:04d}", "key_hash": "0" * 64,
         "scopes": "", "created_at": now, "created_by": "test", "revoked_at": now if i % 4 == 0 else None,
         "last_used_ip": "", "expires_at": now + timedelta(days=-1 if i % 3 == 0 else 30), "step_up": False}
        for i in range(n)])
    db.commit()


def test_keys_search_filter_and_walk(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    alice, bob = user_factory(Role.PLATFORM), user_factory(Role.PLATFORM)
    _keys(db, clock, alice.id, 230, "alfa")
    _keys(db, clock, bob.id, 40, "brav")
    every = _walk(lambda c: keylist.keys_page(db, clock, cursor=c, limit=33))
    ids = [key.id for key, _ in every]
    assert len(ids) == 270 == len(set(ids)) and ids == sorted(ids, reverse=True)
    mine = _walk(lambda c: keylist.keys_page(db, clock, owner_id=bob.id, cursor=c, limit=7))
    assert len(mine) == 40 and {owner for _, owner in mine} == {bob.username}
    for status in keylist.STATUSES:
        found = _walk(lambda c: keylist.keys_page(db, clock, status=status, owner_id=alice.id, cursor=c, limit=50))
        assert found and {apikeys.status_of(key, clock) for key, _ in found} == {status}
    revoked = [i for i in range(230) if i % 4 == 0]
    assert len(_walk(lambda c: keylist.keys_page(db, clock, status="revoked", owner_id=alice.id, cursor=c))) == len(revoked)
    named = _walk(lambda c: keylist.keys_page(db, clock, q=" alfa-3 ", cursor=c, limit=5))
    assert len(named) == 23 and {key.name for key, _ in named} == {"alfa-3"}
    assert [key.prefix for key, _ in keylist.keys_page(db, clock, q="brav0007").rows] == ["brav0007"]
    assert keylist.keys_page(db, clock, q="brav0007", owner_id=alice.id).rows == []


@pytest.mark.parametrize("bad", [{"q": "x" * 201}, {"status": "lost"}, {"cursor": "!!"}, {"cursor": "WyJhIl0"}])
def test_bad_key_searches_are_refused(db: Session, clock: ManualClock, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        keylist.keys_page(db, clock, **bad)


def test_key_pages_search_and_page(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    machine, reviewer = user_factory(Role.PLATFORM), user_factory(Role.REVIEWER)
    with sessions() as db:
        _keys(db, clock, machine.id, 60, "mach")
        _keys(db, clock, reviewer.id, 55, "revw")
    api_login(client, user_factory(Role.ADMIN), clock)
    prefixes, href = [], "/admin/apikeys"
    while href:
        html = client.get(href).text
        prefixes += [part.split('"')[0] for part in html.split('data-key="')[1:]]
        href = _next_href(html, "keys-next")
    assert len(prefixes) == 115 == len(set(prefixes))
    revoked = client.get("/admin/apikeys", params={"status": "revoked", "q": "mach-0"}).text
    assert revoked.count('data-key="') == 3 and all(f'data-key="mach00{i}0"' in revoked for i in (0, 2, 4))
    assert client.get("/admin/apikeys", params={"cursor": "zzz"}).status_code == 422
    own = TestClient(client.app)
    api_login(own, reviewer, clock)
    mine, href = [], "/account/apikeys?status=active"
    while href:
        html = own.get(href).text
        mine += [part.split('"')[0] for part in html.split('data-key="')[1:]]
        href = _next_href(html, "keys-next")
    assert sorted(mine) == [f"revw{i:04d}" for i in range(55) if i % 4 and i % 3]
    assert "mach" not in own.get("/account/apikeys", params={"q": "mach0001"}).text.split('id="keys-list"')[1]
    assert own.get("/account/apikeys", params={"status": "lost"}).status_code == 422


def _jobs(db: Session, clock: ManualClock, n: int) -> None:
    """n jobs: kinds alternate, states cycle through every state."""
    db.execute(insert(FanoutJob), [
        {"kind": KINDS[i % 2], "state": JOB_STATES[i % 5], "title": f"job {i}", "created_at": clock.now(),
         "params_json": "{}", "created_by": "test"} for i in range(n)])
    db.commit()


def test_jobs_filter_by_kind_and_state_and_walk(db: Session, clock: ManualClock) -> None:
    _jobs(db, clock, 230)
    every = _walk(lambda c: jobs.page(db, cursor=c, limit=31))
    ids = [j.id for j in every]
    assert len(ids) == 230 == len(set(ids)) and ids == sorted(ids, reverse=True)
    failed_imports = _walk(lambda c: jobs.page(db, kind="import", state="failed", cursor=c, limit=4))
    assert len(failed_imports) == len([i for i in range(230) if i % 2 == 1 and i % 5 == 4])
    assert {(j.kind, j.state) for j in failed_imports} == {("import", "failed")}
    with pytest.raises(InvalidInput):
        jobs.page(db, state="asleep")


def test_jobs_page_filters_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _jobs(db, clock, 260)
    api_login(client, user_factory(Role.ADMIN), clock)
    seen, href = [], "/operations/jobs?state=done"
    while href:
        html = client.get(href).text
        seen += re.findall(r'class="job-row" data-id="(\d+)" data-state="(\w+)"', html)
        href = _next_href(html, "jobs-next")
    assert len(seen) == 52 == len({i for i, _ in seen}) and {s for _, s in seen} == {"done"}
    rescans = client.get("/operations/jobs", params={"kind": "rescan", "state": "queued"}).text
    assert rescans.count('class="job-row"') == 26 and "Rescan" in rescans and ">Queued<" in rescans
    assert client.get("/operations/jobs", params={"state": "asleep"}).status_code == 422
    assert client.get("/operations/jobs", params={"cursor": "%%"}).status_code == 422


def _officer(db: Session, user_id: int, email: str, now: Any) -> Requester:
    requester = Requester(email=email, name=email.split("@")[0], user_id=user_id, confirmed_at=now, created_at=now)
    db.add(requester)
    db.commit()
    return requester


def _own_requests(db: Session, requester: Requester, n: int, tag: str, now: Any) -> None:
    """n requests: cycling open, closed, needs_information; every ninth flagged fraudulent (shown as received)."""
    statuses = ("open", "closed", "needs_information")
    db.execute(insert(LegalRequest), [
        {"reference": f"{tag}-{i:05d}", "status": statuses[i % 3], "source": "portal", "jurisdiction": "IN",
         "instrument_key": "in_bnss_94", "received_at": now, "requester_email": requester.email,
         "requester_id": requester.id, "created_by": "test", "updated_at": now, "fraudulent": i % 9 == 4}
        for i in range(n)])
    db.commit()


def test_officer_sees_only_own_requests_whatever_the_query(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    mine_user, theirs_user = user_factory(Role.OFFICER), user_factory(Role.OFFICER)
    with sessions() as db:
        mine = _officer(db, mine_user.id, "si.one@police.example.in", clock.now())
        theirs = _officer(db, theirs_user.id, "si.two@police.example.in", clock.now())
        _own_requests(db, theirs, 40, "THEIRS", clock.now())
        _own_requests(db, mine, 75, "MINE", clock.now())
        _own_requests(db, theirs, 40, "LATER", clock.now())
        walked = _walk(lambda c: portal.own_requests_page(db, mine, cursor=c, limit=8))
        assert [r.reference for r in walked] == [f"MINE-{i:05d}" for i in reversed(range(75))]
        in_review = _walk(lambda c: portal.own_requests_page(db, mine, status="in review", cursor=c, limit=6))
        assert {r.status for r in in_review} == {"in review"}
        assert len(in_review) == len([i for i in range(75) if i % 3 == 0 and i % 9 != 4])
        received = portal.own_requests_page(db, mine, status="received").rows
        assert sorted(r.reference for r in received) == [f"MINE-{i:05d}" for i in range(75) if i % 9 == 4]
        assert portal.own_requests_page(db, mine, reference="THEIRS-00001").rows == []
        with pytest.raises(InvalidInput):
            portal.own_requests_page(db, mine, status="fraudulent")
    api_login(client, mine_user, clock)
    seen, href = [], "/portal"
    while href:
        html = client.get(href).text
        seen += [part.split('"')[0] for part in html.split('data-reference="')[1:]]
        assert "THEIRS" not in html and "LATER" not in html
        href = _next_href(html, "own-next")
    assert len(seen) == 75 == len(set(seen))
    waiting = client.get("/portal", params={"status": "needs information"}).text
    assert waiting.count('data-reference="') == 25 - len([i for i in range(75) if i % 3 == 2 and i % 9 == 4])
    assert ">We need more information from you<" in waiting and ">needs information<" not in waiting
    assert client.get("/portal", params={"q": "LATER-00003"}).text.count('data-reference="') == 0
    assert client.get("/portal", params={"q": "MINE-00003"}).text.count('data-reference="') == 1
    forged = client.get("/portal", params={"cursor": keyset.encode([10**12])}).text  # moves the start, not the scope
    assert 'data-reference="MINE-00074"' in forged and "THEIRS" not in forged and "LATER" not in forged
    assert client.get("/portal", params={"cursor": "bm90LWpzb24"}).status_code == 422
    assert client.get("/portal", params={"status": "held"}).status_code == 422


def _versions(db: Session, clock: ManualClock, n: int) -> None:
    """n report versions: kinds cycle, each (kind, period) its own version 1."""
    db.execute(insert(ReportVersion), [
        {"kind": REPORT_KINDS[i % 3], "period": f"{2000 + i // 36}-{i % 12 + 1:02d}-{i}", "version": 1,
         "status": "draft", "figures_json": "{}", "drafted_by": "timer", "drafted_at": clock.now()}
        for i in range(n)])
    db.commit()


def test_report_versions_filter_by_kind_and_walk(db: Session, clock: ManualClock) -> None:
    _versions(db, clock, 310)
    every = _walk(lambda c: versions.versions_page(db, cursor=c, limit=45))
    ids = [v.id for v in every]
    assert len(ids) == 310 == len(set(ids)) and ids == sorted(ids, reverse=True)
    dsa = _walk(lambda c: versions.versions_page(db, kind="dsa-transparency", cursor=c, limit=11))
    assert len(dsa) == len(range(2, 310, 3)) and {v.kind for v in dsa} == {"dsa-transparency"}
    with pytest.raises(InvalidInput):
        versions.versions_page(db, kind="weekly")


def test_transparency_page_lists_every_version(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _versions(db, clock, 230)
    api_login(client, user_factory(Role.ADMIN), clock)
    seen, href = [], "/transparency?kind=india-monthly"
    while href:
        html = client.get(href).text
        seen += re.findall(r'<tr data-version="(\d+)">', html)
        href = _next_href(html, "versions-next")
    assert len(seen) == len(range(0, 230, 3)) == len(set(seen)) and len(seen) > 50  # more than the old cap allowed
    assert client.get("/transparency", params={"kind": "weekly"}).status_code == 422
    assert client.get("/transparency", params={"cursor": "e30"}).status_code == 422
