"""From a scan to a filed CyberTipline report: case, review, draft, four-eyes approval, worker, stand-in."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.roles import Role
from bastion.cases.models import CaseEvent
from bastion.clock import ManualClock
from bastion.dev.ncmec import ReportState
from bastion.evidence.models import RetentionApplied
from bastion.broker.models import TaskMessage
from bastion.ncmec.tables import NcmecReport
from bastion.ncmec.tasks import SWEEP_AFTER
from bastion.ncmec.xml import validate_document
from bastion.platform import HttpPlatformConnector

from .conftest import ACCOUNT, POSTS, Ncmec, confirmed_case, run_timers


def test_scan_to_filed_report(client: TestClient, app, sessions, clock: ManualClock, db: Session,  # type: ignore[no-untyped-def]
                              platform: HttpPlatformConnector, ncmec: Ncmec, organisation, reviewer_factory) -> None:
    alice, bob = reviewer_factory(), reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, alice)
    assert [c["case_id"] for c in alice.get("/api/v1/reports/requested").json()] == [case_id]

    drafted = alice.post("/api/v1/reports", json={"case_id": case_id})
    assert drafted.status_code == 201, drafted.text
    report = drafted.json()
    assert report["state"] == "draft" and report["xml_valid"], report["xml_problem"]
    assert len(report["files"]) == 2 and all(f["evidence_item_id"] for f in report["files"])
    assert alice.post("/api/v1/reports", json={"case_id": case_id}).status_code == 409  # one report per case

    # pre-filled from the case, the organisation settings and the platform
    xml = alice.get(f"/api/v1/reports/{report['id']}/xml")
    assert xml.status_code == 200
    root = validate_document(xml.content, expected_root="report")
    assert root.findtext("reporter/reportingPerson/email") == "ncmec-reports@example.org"
    assert root.findtext("reporter/legalURL") == "https://platform.example.org/law-enforcement"
    user = root.find("personOrUserReported")
    assert user.findtext("espIdentifier") == ACCOUNT and user.findtext("screenName") == "alice"
    assert user.findtext("personOrUserReportedPerson/email") == "alice@example.com"
    events = {(e.findtext("ipAddress"), e.findtext("eventName")) for e in user.findall("ipCaptureEvent")}
    assert {("203.0.113.60", "Upload"), ("203.0.113.10", "Registration"), ("203.0.113.55", "Login")} <= events
    assert ("203.0.113.56", "Login") not in events  # a failed login is not evidence about the user
    assert {d.findtext("idValue") for d in user.findall("deviceId")} >= {"dev-3001"}
    details = {f["details"]["file_name"]: f["details"] for f in report["files"]}
    first = details[f"{POSTS[0]}.png"]
    assert first["industry_classification"] == "A1" and first["file_viewed_by_esp"] is True
    assert {h["hash_type"] for h in first["original_file_hashes"]} == {"MD5", "SHA1", "SHA256"}
    assert details[f"{POSTS[1]}.jpeg"]["file_annotations"] == {"generative_ai": True} | {
        k: False for k in details[f"{POSTS[1]}.jpeg"]["file_annotations"] if k != "generative_ai"}

    # edits by the author; four-eyes refuses the author's own approval
    edited = alice.patch(f"/api/v1/reports/{report['id']}",
                         json={"report_annotations": ["csam_solicitation"], "additional_info": "Reviewed twice."})
    assert edited.status_code == 200, edited.text
    refused = alice.post(f"/api/v1/reports/{report['id']}/approve")
    assert refused.status_code == 403 and refused.json()["code"] == "four_eyes"
    approved = bob.post(f"/api/v1/reports/{report['id']}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text

    run_timers(app, sessions, clock)

    done = alice.get(f"/api/v1/reports/{report['id']}").json()
    assert done["state"] == "finished", (done["error"], done["attention"])
    ncmec_id = done["ncmec_report_id"]
    assert ncmec.server.state.report_state(ncmec_id) is ReportState.FINISHED
    assert ncmec.reports_opened() == 1 and ncmec.network.count("upload") == 2 and ncmec.network.count("finish") == 1
    operations = [(c["operation"], c["outcome"]) for c in done["calls"]]
    assert operations == [("submit", "ok"), ("upload", "ok"), ("upload", "ok"), ("fileinfo", "ok"),
                          ("fileinfo", "ok"), ("finish", "ok")]
    assert all(c["request_id"] for c in done["calls"]) and len({c["request_id"] for c in done["calls"]}) == 6
    assert sorted(done["ncmec_file_ids"]) == sorted(f["file_id"] for f in done["files"])
    for row in done["files"]:
        assert ncmec.server.state.file_md5(ncmec_id, row["file_id"]) == row["md5"] == row["expected_md5"]
    sent = etree.fromstring(alice.get(f"/api/v1/reports/{report['id']}/xml").content)
    assert sent.find("incidentSummary/reportAnnotations/csamSolicitation") is not None

    # the filing ran as `ncmec.run` messages relayed from the task outbox (queue `ncmec`), the timer only published
    def runs() -> list[tuple[str, str]]:
        return [(r.queue, r.payload) for r in db.execute(select(TaskMessage.queue, TaskMessage.payload)
                                                         .where(TaskMessage.task == "ncmec.run"))]
    published = runs()
    assert published and {q for q, _ in published} == {"ncmec"}
    assert {json.loads(p)["report_id"] for _, p in published} == {report["id"]}
    clock.advance(SWEEP_AFTER + timedelta(minutes=1))  # the sweeper's time: a filed report needs nothing more
    run_timers(app, sessions, clock)
    assert len(runs()) == len(published)

    # the report id on the case, in each item's custody, and the one-year preservation clock
    kinds = {e.kind: json.loads(e.details) for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))}
    assert kinds["ncmec_reported"]["ncmec_report_id"] == ncmec_id and "report_drafted" in kinds
    vault = app.state.bastion.services["evidence.vault"]
    for row in done["files"]:
        custody = vault.custody(db, row["evidence_item_id"])
        disclosed = [json.loads(e.details_json) for e in custody if e.action == "disclose"]
        assert {"recipient": "NCMEC CyberTipline", "reference": str(ncmec_id)}.items() <= disclosed[-1].items()
        assert any(e.action == "view" and "upload to CyberTipline" in e.reason for e in custody)
        [retention] = db.scalars(select(RetentionApplied).where(RetentionApplied.item_id == row["evidence_item_id"],
                                                               RetentionApplied.policy_key == "cybertipline_report"))
        assert retention.deadline - retention.from_time >= timedelta(days=365)
        assert vault.get(db, row["evidence_item_id"]).retention_until >= retention.deadline

    # the pages
    page = alice.get(f"/reports/{report['id']}")
    assert page.status_code == 200 and str(ncmec_id) in page.text
    assert '<span id="report-state" data-state="finished">Filed with NCMEC</span>' in page.text  # title, not key
    assert all(c["request_id"] in page.text for c in done["calls"])
    listing = alice.get("/reports")
    assert listing.status_code == 200 and f"/reports/{report['id']}" in listing.text and ACCOUNT in listing.text
    assert alice.post(f"/api/v1/reports/{report['id']}/retract", json={"reason": "too late"}).status_code == 409
    assert db.scalar(select(NcmecReport.open_key).where(NcmecReport.id == report["id"])) == f"case:{case_id}"
    case_page = alice.get(f"/cases/{case_id}").text  # the case's duty to NCMEC shows as done
    assert 'data-destination="us_ncmec" data-done="yes"' in case_page


def test_viewing_and_changing_reports_follow_the_permission_table(  # type: ignore[no-untyped-def]
    client: TestClient, sessions, clock: ManualClock, platform: HttpPlatformConnector, ncmec: Ncmec, organisation,
    reviewer_factory,
) -> None:
    alice = reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, alice, posts=POSTS[:1])
    report = alice.post("/api/v1/reports", json={"case_id": case_id}).json()
    legal, compliance = reviewer_factory(Role.LEGAL), reviewer_factory(Role.COMPLIANCE)
    for viewer in (legal, compliance):
        assert viewer.get(f"/api/v1/reports/{report['id']}").status_code == 200
        assert viewer.get(f"/reports/{report['id']}").status_code == 200
        assert viewer.post(f"/api/v1/reports/{report['id']}/approve").status_code == 403
    auditor = reviewer_factory(Role.AUDITOR)
    assert auditor.get(f"/api/v1/reports/{report['id']}").status_code == 403


def test_four_eyes_can_be_switched_off_and_forms_work(  # type: ignore[no-untyped-def]
    client: TestClient, app, sessions, clock: ManualClock, platform: HttpPlatformConnector, ncmec: Ncmec,
    organisation, reviewer_factory,
) -> None:
    from bastion.orgsettings import set_value

    with sessions() as session:
        set_value(session, "reports.four_eyes", "false", actor="test", clock=clock)
        session.commit()
    alice = reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, alice, posts=POSTS[:1])
    drafted = alice.post("/reports/draft", data={"case_id": str(case_id), "csrf_token": alice.csrf["X-CSRF-Token"]},
                         follow_redirects=False)
    assert drafted.status_code == 303
    path = drafted.headers["location"]
    report_id = int(path.rsplit("/", 1)[1])
    file_id = alice.get(f"/api/v1/reports/{report_id}").json()["files"][0]["id"]
    saved = alice.post(f"{path}/edit", follow_redirects=False, data={
        "incident_type": "Child Pornography (possession, manufacture, and distribution)",
        "incident_date_time": "2025-12-31T20:00:00Z", "escalate_to_high_priority": "",
        "report_annotations": ["spam"], "additional_info": "Edited in the form.", f"file_class_{file_id}": "B1"})
    assert saved.status_code == 303 and "error" not in saved.headers["location"], saved.headers["location"]
    detail = alice.get(f"/api/v1/reports/{report_id}").json()
    assert detail["files"][0]["details"]["industry_classification"] == "B1"
    assert detail["document"]["additional_info"] == "Edited in the form."
    page = alice.get(path).text
    assert 'value="spam" checked' in page and "<option selected>B1</option>" in page
    assert alice.post(f"{path}/approve", follow_redirects=False).headers["location"] == path
    run_timers(app, sessions, clock)
    assert alice.get(f"/api/v1/reports/{report_id}").json()["state"] == "finished"
