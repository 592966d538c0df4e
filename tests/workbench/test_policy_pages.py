"""The policies page over HTTP: admins change policies and bank marks, others read and dry-run; the case page
marks automatic actions as such."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.banks.models import Bank
from bastion.cases import autoaction, service
from bastion.cases.models import AutoPolicy
from bastion.clock import ManualClock
from bastion.matching.banked import BankMatch
from bastion.scanning.models import Scan, ScanMatch
from tests.conftest import api_login


def test_admin_sets_a_policy_and_a_reviewer_sees_it_act(client: TestClient, app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                        user_factory) -> None:
    with sessions() as db:
        bank = banks.create_bank(db, name="NCMEC", actor="test", clock=clock)
        db.commit()
        bank_id = bank.id
    admin = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(admin, user_factory(Role.ADMIN), clock)}
    saved = admin.post("/review/policies", data={"name": "exact", "enabled": "true", "md5": "true", "remove": "true",
                                                 "suspend": "true"}, headers=csrf, follow_redirects=False)
    assert saved.status_code == 303
    assert admin.post(f"/review/policies/banks/{bank_id}", data={"high_confidence": "true"}, headers=csrf,
                      follow_redirects=False).status_code == 303
    with sessions() as db:
        policy = db.scalar(select(AutoPolicy))
        assert policy is not None and policy.signal_types == "md5" and policy.enabled and not policy.preserve
        assert db.get(Bank, bank_id).high_confidence  # type: ignore[union-attr]
        scan = Scan(created_at=clock.now(), source="upload", content_id="post-5", account_id="acct-5", md5="5" * 32,
                    sha1="0" * 40, sha256="6" * 64)
        db.add(scan)
        db.flush()
        db.add(ScanMatch(scan_id=scan.id, bank_id=bank_id, bank_name="NCMEC", entry_id=1, signal_id=1,
                         signal_type="md5", distance=0, classification="A1", found_at=clock.now()))
        match = BankMatch(bank_id, "NCMEC", "match", 1, 1, "md5", "5" * 32, 0, "A1", "industry", "x")
        case = service.open_or_extend(db, account_id="acct-5", scan_id=scan.id, content_id="post-5",
                                      matches=[match], media_ref="", clock=clock)
        autoaction.apply(db, case, scan, [match], clock=clock)
        db.commit()
        case_id = case.id

    reviewer = TestClient(app)
    rcsrf = {"X-CSRF-Token": api_login(reviewer, user_factory(Role.REVIEWER), clock)}
    listing = reviewer.get("/review/policies")
    assert listing.status_code == 200 and "exact" in listing.text and 'id="policy-form"' not in listing.text
    assert reviewer.post("/review/policies", data={"name": "mine", "md5": "true", "remove": "true"}, headers=rcsrf,
                         follow_redirects=False).status_code == 403
    dry = reviewer.get("/review/policies", params={"dry_run": policy.id, "days": 7})
    assert "dry-run-result" in dry.text and "1 scan(s)" in dry.text
    page = reviewer.get(f"/cases/{case_id}").text
    assert 'id="auto-actioned"' in page and "automatic" in page.split('id="case-actions"')[1]
    assert "exact MD5 match (the same file)" in page
    refused = admin.post("/review/policies", data={"name": "fuzzy", "remove": "true"}, headers=csrf)
    assert refused.status_code == 422 and "exact hashes" in refused.text


def test_admin_sets_a_pdq_distance_and_the_page_shows_it(client: TestClient, app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                          user_factory) -> None:
    with sessions() as db:
        bank = banks.create_bank(db, name="NCMEC", actor="test", clock=clock)
        db.commit()
        bank_id = bank.id
    admin = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(admin, user_factory(Role.ADMIN), clock)}
    form = admin.get("/review/policies").text
    assert 'name="pdq_max_distance"' in form and 'type="number"' in form.split('name="pdq_max_distance"')[1][:80]
    assert f'max="{autoaction.PDQ_CEILING}"' in form.split('id="policy-form"')[1]
    for distance, says in (("", "needs a maximum distance"), ("40", "Enter a smaller distance"),
                           ("near", "whole number")):
        refused = admin.post("/review/policies", data={"name": "near", "pdq": "true", "pdq_max_distance": distance,
                                                        "remove": "true"}, headers=csrf)
        assert refused.status_code == 422 and says in refused.text
    saved = admin.post("/review/policies", data={"name": "near", "pdq": "true", "pdq_max_distance": "12",
                                                 "remove": "true"}, headers=csrf, follow_redirects=False)
    assert saved.status_code == 303
    admin.post(f"/review/policies/banks/{bank_id}", data={"high_confidence": "true"}, headers=csrf)
    with sessions() as db:
        policy = db.scalar(select(AutoPolicy))
        assert policy is not None and policy.signal_types == "pdq" and policy.pdq_max_distance == 12
        policy_id = policy.id
        scan = Scan(created_at=clock.now(), source="upload", content_id="post-7", account_id="acct-7", md5="7" * 32,
                    sha1="0" * 40, sha256="8" * 64)
        db.add(scan)
        db.flush()
        db.add(ScanMatch(scan_id=scan.id, bank_id=bank_id, bank_name="NCMEC", entry_id=1, signal_id=1,
                         signal_type="pdq", distance=11, classification="A1", found_at=clock.now()))
        db.commit()
    listing = admin.get("/review/policies", params={"dry_run": policy_id, "days": 7}).text
    row = listing.split('id="policies"')[1].split("</table>")[0]
    assert '<td class="policy-pdq-distance">12</td>' in row
    assert "1 scan(s)" in listing and '<td class="dry-distance">PDQ 11</td>' in listing
