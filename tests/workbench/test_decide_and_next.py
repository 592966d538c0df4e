"""Decide and next (the `c` key, Enter in a reject reason): the next pending item, or conclude and the next case.

The keys are JavaScript; what they send is plain form fields, so the server's side is tested here:
`and_next` on the last pending item concludes the case through the Submit & Next path and opens the
next case of the queue being worked; otherwise the case page opens at the next pending item. The
rules still hold: an unrevealed near match is refused, and an item decided first elsewhere is not
decided again.
"""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.cases import routing, service
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.scanning.models import Scan
from tests.conftest import api_login

#: What the page's Conclude form shows by default, as the keys copy it into the item form.
CHOICE = {"remove": "true", "restrict": "suspend", "preserve": "true", "report": "true", "add_to_bank": "true",
          "conclude_choice": "true"}


def _case(db: Session, clock: ManualClock, account: str, *, items: int, queue: int | None, priority: int) -> int:
    """A case of `items` PDQ near matches (distance 6: never confirmable unseen) in `queue`."""
    case_id = 0
    for n in range(items):
        scan = Scan(created_at=clock.now(), source="upload", content_id=f"{account}-{n}", account_id=account,
                    metadata_json="{}", md5=f"{n:02d}" * 16, sha1="0" * 40, sha256="0" * 64, pdq="f" * 64)
        db.add(scan)
        db.flush()
        match = SimpleNamespace(bank_id=1, bank_name="KNOWN_PDQ", source="industry", entry_id=7 + n,
                                signal_type="pdq", distance=6, classification="A1")
        case_id = service.open_or_extend(db, account_id=account, scan_id=scan.id, content_id=scan.content_id,
                                         matches=[match], media_ref="", clock=clock).id
    case = db.get(Case, case_id)
    assert case is not None
    case.queue_id, case.priority = queue, priority
    return case_id


def _world(sessions: sessionmaker[Session], clock: ManualClock, member: int) -> dict[str, int]:
    """Queue 'Near' with two cases (one of two items), queue 'Urgent' with a more urgent one; both worked by `member`."""
    with sessions() as db:
        near = routing.create_queue(db, name="Near", actor="lead", clock=clock)
        urgent = routing.create_queue(db, name="Urgent", actor="lead", clock=clock)
        for queue in (near, urgent):
            routing.set_members(db, queue, [member], actor="lead", clock=clock)
        ids = {"near": near.id, "urgent": urgent.id,
               "first": _case(db, clock, "acct-first", items=1, queue=near.id, priority=90),
               "pair": _case(db, clock, "acct-pair", items=2, queue=near.id, priority=50),
               "elsewhere": _case(db, clock, "acct-elsewhere", items=1, queue=urgent.id, priority=500)}
        db.commit()
        return ids


def _items(sessions: sessionmaker[Session], case_id: int) -> list[CaseItem]:
    with sessions() as db:
        return service.items_of(db, case_id)


def _case_row(sessions: sessionmaker[Session], case_id: int) -> Case:
    with sessions() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case


def test_decide_and_next_concludes_the_last_item_and_opens_the_next_case_of_the_same_queue(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    ids = _world(sessions, clock, reviewer.id)
    csrf = api_login(client, reviewer, clock)
    taken = client.post("/review/next", data={"csrf_token": csrf, "queue": str(ids["near"])}, follow_redirects=False)
    assert taken.headers["location"] == f"/cases/{ids['first']}?queue={ids['near']}"  # not the more urgent case
    page = client.get(taken.headers["location"]).text
    assert 'id="key-hints"' in page and f'/confirm?queue={ids["near"]}"' in page
    assert 'data-known="A1"' in page and '<option value="A1" selected>' in page  # the bank's classification shown
    item = _items(sessions, ids["first"])[0]
    base = f"/cases/{ids['first']}/items/{item.id}"
    decide = {"csrf_token": csrf, "classification": "A1", "and_next": "true", **CHOICE}

    refused = client.post(f"{base}/confirm?queue={ids['near']}", data=decide, follow_redirects=False)
    assert "error=" in refused.headers["location"] and f"queue={ids['near']}" in refused.headers["location"]
    assert "Open+(reveal)" in refused.headers["location"] or "Open%20%28reveal%29" in refused.headers["location"]
    assert _items(sessions, ids["first"])[0].decision == "pending"
    assert _case_row(sessions, ids["first"]).status == "in_review"

    client.post(f"{base}/reveal?queue={ids['near']}", data={"csrf_token": csrf})
    done = client.post(f"{base}/confirm?queue={ids['near']}", data=decide, follow_redirects=False)
    assert done.headers["location"] == f"/cases/{ids['pair']}?queue={ids['near']}"
    concluded = _case_row(sessions, ids["first"])
    assert concluded.status == "confirmed" and concluded.classification == "A1"
    assert _case_row(sessions, ids["pair"]).claimed_by == reviewer.id  # the next case, already claimed
    assert _case_row(sessions, ids["elsewhere"]).claimed_by is None
    with sessions() as db:
        actions = set(db.scalars(select(AuditRecord.action).where(AuditRecord.subject == f"case:{ids['first']}")))
        decided = db.scalars(select(AuditRecord.action).where(AuditRecord.action == "case.item_confirmed")).all()
    assert {"case.item_confirmed", "case.confirmed"} <= actions and len(decided) == 1
    assert client.get(f"/cases/{ids['first']}").status_code == 200


def test_decide_and_next_returns_to_the_next_pending_item_and_rejects_with_enter(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    ids = _world(sessions, clock, reviewer.id)
    csrf = api_login(client, reviewer, clock)
    client.post(f"/cases/{ids['pair']}/claim", data={"csrf_token": csrf})
    first, second = _items(sessions, ids["pair"])
    keep = f"?queue={ids['near']}"
    rejected = client.post(f"/cases/{ids['pair']}/items/{first.id}/reject{keep}", follow_redirects=False,
                           data={"csrf_token": csrf, "reason": "a landscape", "and_next": "true", **CHOICE})
    assert rejected.headers["location"] == f"/cases/{ids['pair']}{keep}#item-{second.id}"
    assert _case_row(sessions, ids["pair"]).status == "in_review"
    last = client.post(f"/cases/{ids['pair']}/items/{second.id}/reject{keep}", follow_redirects=False,
                       data={"csrf_token": csrf, "reason": "a beach", "and_next": "true", **CHOICE})
    assert last.headers["location"] == f"/cases/{ids['first']}{keep}"
    assert _case_row(sessions, ids["pair"]).status == "dismissed"
    assert [i.decision for i in _items(sessions, ids["pair"])] == ["not_match", "not_match"]


def test_without_and_next_or_the_conclude_choices_the_case_is_not_concluded(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    ids = _world(sessions, clock, reviewer.id)
    csrf = api_login(client, reviewer, clock)
    client.post(f"/cases/{ids['first']}/claim", data={"csrf_token": csrf})
    item = _items(sessions, ids["first"])[0]
    plain = client.post(f"/cases/{ids['first']}/items/{item.id}/reject", follow_redirects=False,
                        data={"csrf_token": csrf, "reason": "a landscape"})  # a mouse click: back to the case
    assert plain.headers["location"] == f"/cases/{ids['first']}#item-{item.id}"
    assert _case_row(sessions, ids["first"]).status == "in_review"

    client.post(f"/cases/{ids['pair']}/claim", data={"csrf_token": csrf})
    one, _ = _items(sessions, ids["pair"])
    client.post(f"/cases/{ids['pair']}/items/{one.id}/reject", data={"csrf_token": csrf, "reason": "x"})
    _, two = _items(sessions, ids["pair"])
    bare = client.post(f"/cases/{ids['pair']}/items/{two.id}/reject", follow_redirects=False,
                       data={"csrf_token": csrf, "reason": "a beach", "and_next": "true"})
    assert bare.headers["location"] == f"/cases/{ids['pair']}#conclude"  # no choices carried: conclude by hand
    assert _case_row(sessions, ids["pair"]).status == "in_review"


def test_submit_and_next_keeps_to_the_queue_being_worked(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    ids = _world(sessions, clock, reviewer.id)
    csrf = api_login(client, reviewer, clock)
    client.post(f"/cases/{ids['first']}/claim", data={"csrf_token": csrf})
    item = _items(sessions, ids["first"])[0]
    client.post(f"/cases/{ids['first']}/items/{item.id}/reject", data={"csrf_token": csrf, "reason": "a landscape"})
    keep = f"?queue={ids['near']}"
    following = client.post(f"/cases/{ids['first']}/conclude{keep}", follow_redirects=False,
                            data={"csrf_token": csrf, "next": "true", "remove": "true", "restrict": "suspend"})
    assert following.headers["location"] == f"/cases/{ids['pair']}{keep}"  # not the more urgent case elsewhere
    assert _case_row(sessions, ids["first"]).status == "dismissed"


def test_an_item_decided_first_elsewhere_is_not_decided_again_and_nothing_concludes(
        client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    ids = _world(sessions, clock, reviewer.id)
    csrf = api_login(client, reviewer, clock)
    client.post(f"/cases/{ids['first']}/claim", data={"csrf_token": csrf})
    item = _items(sessions, ids["first"])[0]
    client.post(f"/cases/{ids['first']}/items/{item.id}/reveal", data={"csrf_token": csrf})
    assert 'class="inline confirm"' in client.get(f"/cases/{ids['first']}").text  # the page offers the decision
    with sessions() as other_tab:  # the same reviewer's other tab gets there first
        case = other_tab.get(Case, ids["first"])
        user = other_tab.get(User, reviewer.id)
        assert case is not None and user is not None
        service.reject_item(other_tab, case, service.get_item(other_tab, case, item.id), user,
                            reason="a landscape", disable_entry=False, clock=clock)
        other_tab.commit()
    late = client.post(f"/cases/{ids['first']}/items/{item.id}/confirm", follow_redirects=False,
                       data={"csrf_token": csrf, "classification": "A1", "and_next": "true", **CHOICE})
    assert "error=" in late.headers["location"] and "decided+by+someone+else" in late.headers["location"].replace(
        "%20", "+")
    assert _items(sessions, ids["first"])[0].decision == "not_match"
    assert _case_row(sessions, ids["first"]).status == "in_review"  # nothing concluded on the loser's behalf
    with sessions() as db:
        decisions = db.scalars(select(AuditRecord.action).where(
            AuditRecord.action.in_(("case.item_confirmed", "case.item_not_match")),
            AuditRecord.subject == f"case:{ids['first']}")).all()
    assert decisions == ["case.item_not_match"]  # the winner's decision, audited once
