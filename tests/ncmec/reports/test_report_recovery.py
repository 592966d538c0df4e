"""The worker under failure: killed mid-way, lost replies, refusals, NCMEC's codes, expiry, retraction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from bastion.clock import ManualClock
from bastion.dev.ncmec import API_PREFIX, ReportState
from bastion.dev.serving import BackgroundServer
from bastion.executor import TaskContext
from bastion.ncmec.lifecycle import CLIENT_FACTORY, LEASE, ORPHAN_GRACE, Worker
from bastion.ncmec.tables import FILE_DETAILS_SENT, NcmecApiCall, NcmecReport
from bastion.ncmec.xml import render_report_response
from bastion.timers import Ticker

from .conftest import POSTS, Ncmec, ProcessKilled, Reviewer, run_timers

Make = Callable[..., tuple[int, Reviewer]]


def _report(reviewer: Reviewer, report_id: int) -> dict[str, Any]:
    return reviewer.get(f"/api/v1/reports/{report_id}").json()


def _restart(app, sessions, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    """A new process, after the dead worker's leases (report and timer) ran out."""
    clock.advance(LEASE + timedelta(minutes=1))
    run_timers(app, sessions, clock)


def test_killed_around_file_details_retracts_the_unfinished_report_and_refiles(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    """Whether the details reached NCMEC cannot be known, and NCMEC lists no files: sending them again
    could describe a file twice, not sending could leave it undescribed. The unfinished report is
    retracted and the report filed afresh: one filed report, every file described once."""
    report_id, reviewer = approved_report()
    ncmec.kill["fileinfo"] = "before"  # dies once both uploads' results are recorded
    with pytest.raises(ProcessKilled):
        Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services)).tick()
    stopped = _report(reviewer, report_id)
    assert stopped["state"] == "files_uploaded" and all(f["file_id"] for f in stopped["files"])
    assert [c["outcome"] for c in stopped["calls"]][-1] == "pending"  # the intent survived the crash

    _restart(app, sessions, clock)

    done = _report(reviewer, report_id)
    assert done["state"] == "finished", (done["error"], done["attention"])
    assert done["ncmec_report_id"] != stopped["ncmec_report_id"] and ncmec.reports_opened() == 2
    assert ncmec.server.state.report_state(stopped["ncmec_report_id"]) is ReportState.RETRACTED
    assert ncmec.server.state.report_state(done["ncmec_report_id"]) is ReportState.FINISHED
    assert sorted(done["ncmec_file_ids"]) == sorted(f["file_id"] for f in done["files"])  # each described once
    outcomes = [(c["operation"], c["outcome"]) for c in done["calls"]]
    assert ("fileinfo", "interrupted") in outcomes and ("retract", "ok") in outcomes
    assert outcomes[-1] == ("finish", "ok")
    assert "fileinfo_uncertain" in [e["kind"] for e in done["events"]]


def test_killed_after_an_upload_reached_ncmec_is_refiled_without_a_second_copy(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.kill["upload"] = "after"  # NCMEC attached the file; the reply died with the worker
    with pytest.raises(ProcessKilled):
        run_timers(app, sessions, clock, rounds=1)
    first = _report(reviewer, report_id)["ncmec_report_id"]
    _restart(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and ncmec.reports_opened() == 2
    assert ncmec.server.state.report_state(first) is ReportState.RETRACTED  # the orphan copy went with it
    assert len(done["ncmec_file_ids"]) == 1 and "did not describe" not in (done["attention"] or "")


def test_killed_after_finish_reached_ncmec_is_confirmed_by_5102(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make, db: Session
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.kill["finish"] = "after"
    with pytest.raises(ProcessKilled):
        run_timers(app, sessions, clock, rounds=1)
    _restart(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and ncmec.network.count("finish") == 2
    assert done["calls"][-1]["response_code"] == 5102
    assert any(e["kind"] == "finished" and "5102" in e["details"]["confirmed_by"] for e in done["events"])
    case_events = reviewer.get(f"/api/v1/cases/{done['case_id']}").json()["events"]
    assert [e["kind"] for e in case_events].count("ncmec_reported") == 1


def test_a_lost_reply_to_submit_never_files_twice(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.network.faults["submit"] = ["connect", "drop"]  # refused (nothing sent), then a lost reply
    run_timers(app, sessions, clock, rounds=1)
    assert ncmec.reports_opened() == 0 and _report(reviewer, report_id)["calls"][-1]["outcome"] == "not_sent"
    clock.advance(timedelta(minutes=1))
    run_timers(app, sessions, clock, rounds=1)
    waiting = _report(reviewer, report_id)
    assert ncmec.reports_opened() == 1 and waiting["state"] == "approved"
    assert waiting["calls"][-1]["outcome"] == "uncertain" and "unknown" in waiting["attention"]

    clock.advance(timedelta(hours=2))  # not resubmitted before NCMEC has certainly dropped the orphan
    run_timers(app, sessions, clock)
    assert ncmec.reports_opened() == 1
    refused = reviewer.post(f"/api/v1/reports/{report_id}/submit", json={})
    assert refused.status_code == 409 and "unknown outcome" in refused.json()["detail"]

    clock.advance(ORPHAN_GRACE)
    run_timers(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and ncmec.reports_opened() == 2
    orphan = done["ncmec_report_id"] - 1  # the stand-in numbers reports in sequence
    states = [ncmec.server.state.report_state(i) for i in (orphan, done["ncmec_report_id"])]
    assert states == [None, ReportState.FINISHED]  # the orphan expired unfinished; one report is filed


def test_a_reviewer_may_resubmit_at_once_after_an_uncertain_submit(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.network.faults["submit"] = ["drop"]
    run_timers(app, sessions, clock, rounds=1)
    assert reviewer.post(f"/api/v1/reports/{report_id}/submit", json={"confirm_resubmit": True}).status_code == 200
    run_timers(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and ncmec.reports_opened() == 2
    assert "resubmit_confirmed" in [e["kind"] for e in done["events"]]


class AnswersWith:
    """NCMEC's stricter schema, played in front of the stand-in: /submit answers `code`."""

    def __init__(self, app: Any, code: int, text: str) -> None:
        self.app, self.code, self.text = app, code, text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/submit"):
            body = render_report_response(self.code, self.text)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/xml"), (b"request-id", b"ncmec-req-4100")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@pytest.mark.parametrize("code", [4100, 4110])
def test_ncmec_refusing_the_document_is_shown_with_its_code_and_text(  # type: ignore[no-untyped-def]
    code: int, app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    text = "cvc-complex-type.2.4.a: Invalid content was found starting with element 'screenName'."
    report_id, reviewer = approved_report(posts=POSTS[:1])
    with BackgroundServer(AnswersWith(ncmec.server.app, code, text)) as stricter:
        ncmec.base_url = stricter.origin + API_PREFIX
        run_timers(app, sessions, clock)
    failed = _report(reviewer, report_id)
    assert failed["state"] == "error" and failed["error"]["code"] == code and failed["error"]["text"] == text
    assert failed["error"]["request_id"] == "ncmec-req-4100" and failed["error"]["step"] == "submit"
    page = reviewer.get(f"/reports/{report_id}").text
    assert str(code) in page and "Invalid content was found starting with element" in page and "ncmec-req-4100" in page
    assert ncmec.network.count("upload") == 0


def test_a_report_failing_the_schema_is_never_sent_and_the_element_is_named(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make, db: Session
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1], approve=False)
    document = _report(reviewer, report_id)["document"]
    document["reporter"]["reporting_person"]["addresses"] = [{"city": "Springfield", "state": "XX"}]
    assert reviewer.patch(f"/api/v1/reports/{report_id}", json={"document": document}).status_code == 200
    detail = _report(reviewer, report_id)
    assert detail["xml_valid"] is False and detail["xml_element"] == "state"
    assert reviewer.get(f"/api/v1/reports/{report_id}/xml").status_code == 422
    page = reviewer.get(f"/reports/{report_id}").text
    assert "fails the schema" in page and "&lt;state&gt;" in page

    second = _second_reviewer(app, reviewer)
    refused = second.post(f"/api/v1/reports/{report_id}/approve")
    assert refused.status_code == 422 and refused.json()["code"] == "report_incomplete" and "state" in refused.text

    # approved under an older schema: the worker re-validates and stops before sending anything
    db.execute(update(NcmecReport).where(NcmecReport.id == report_id).values(state="approved"))
    db.commit()
    reviewer.post(f"/api/v1/reports/{report_id}/submit", json={})
    run_timers(app, sessions, clock)
    stopped = _report(reviewer, report_id)
    assert stopped["state"] == "error" and stopped["error"]["element"] == "state" and stopped["calls"] == []
    assert ncmec.network.delivered == []


def _second_reviewer(app, first: Reviewer) -> Reviewer:  # type: ignore[no-untyped-def]
    # the approved_report fixture's factory is not at hand here; four-eyes needs anyone but the author
    from bastion.orgsettings import set_value

    with app.state.bastion.sessions() as session:
        set_value(session, "reports.four_eyes", "false", actor="test", clock=app.state.bastion.clock)
        session.commit()
    return first


def test_finishing_without_required_content_is_refused_before_any_call(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make, db: Session
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    db.execute(update(NcmecReport).where(NcmecReport.id == report_id)
               .values(state=FILE_DETAILS_SENT, ncmec_report_id=424242, submitted_at=clock.now(),
                       last_change_at=clock.now()))
    db.commit()
    run_timers(app, sessions, clock)
    stopped = _report(reviewer, report_id)
    assert stopped["state"] == "error" and stopped["error"]["step"] == "finish"
    assert "not uploaded" in stopped["error"]["text"] and stopped["calls"] == []
    assert ncmec.network.delivered == []


def test_retracting(app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make) -> None:  # type: ignore[no-untyped-def]
    # a draft: withdrawn at once, nothing sent; the case may be reported again
    draft_id, reviewer = approved_report(posts=POSTS[:1], approve=False)
    assert reviewer.post(f"/api/v1/reports/{draft_id}/retract", json={"reason": ""}).status_code == 422
    assert reviewer.post(f"/api/v1/reports/{draft_id}/retract", json={"reason": "wrong account"}).json()["state"] \
        == "retracted"
    case_id = _report(reviewer, draft_id)["case_id"]
    assert case_id in [c["case_id"] for c in reviewer.get("/api/v1/reports/requested").json()]
    again = reviewer.post("/api/v1/reports", json={"case_id": case_id})
    assert again.status_code == 201

    # open at NCMEC (uploads failing): the worker retracts it there
    ncmec.network.faults["upload"] = ["connect"] * 3
    second = _second_reviewer(app, reviewer)
    assert second.post(f"/api/v1/reports/{again.json()['id']}/approve").status_code == 200
    run_timers(app, sessions, clock, rounds=1)
    opened = _report(reviewer, again.json()["id"])
    assert opened["state"] == "submitted" and opened["ncmec_report_id"]
    asked = reviewer.post(f"/api/v1/reports/{opened['id']}/retract", json={"reason": "duplicate of an earlier tip"})
    assert asked.status_code == 200 and asked.json()["state"] == "submitted"
    run_timers(app, sessions, clock)
    done = _report(reviewer, opened["id"])
    assert done["state"] == "retracted" and done["calls"][-1]["operation"] == "retract"
    assert ncmec.server.state.report_state(opened["ncmec_report_id"]) is ReportState.RETRACTED
    assert ncmec.network.count("finish") == 0 and ncmec.network.count("upload") == 0
    assert "report_retracted" in [e["kind"] for e in reviewer.get(f"/api/v1/cases/{case_id}").json()["events"]]


def test_a_stalled_report_is_flagged_then_recreated_once_ncmec_deleted_it(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.network.faults["upload"] = ["connect"] * 1000  # NCMEC is reachable for submit, then not
    run_timers(app, sessions, clock, rounds=1)
    first = _report(reviewer, report_id)
    assert first["state"] == "submitted" and first["expires_at"]
    lost_id = first["ncmec_report_id"]

    clock.advance(timedelta(hours=23, minutes=35))
    run_timers(app, sessions, clock)
    stalled = _report(reviewer, report_id)
    assert stalled["state"] == "submitted" and stalled["attention"].startswith("Stalled")
    assert "stalled" in [e["kind"] for e in stalled["events"]]
    assert "Stalled" in reviewer.get("/reports").text

    ncmec.network.faults["upload"] = []  # the network is back, but too late: NCMEC deleted the report
    clock.advance(timedelta(hours=1))
    assert ncmec.server.state.report_state(lost_id) is None
    run_timers(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and done["lost_report_ids"] == [lost_id]
    assert done["ncmec_report_id"] != lost_id
    assert ncmec.server.state.report_state(done["ncmec_report_id"]) is ReportState.FINISHED
    assert "lost" in [e["kind"] for e in done["events"]] and ncmec.reports_opened() == 2


def test_ncmec_saying_the_report_does_not_exist_recreates_it(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make, db: Session
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.kill["upload"] = "before"
    with pytest.raises(ProcessKilled):
        run_timers(app, sessions, clock, rounds=1)
    lost_id = _report(reviewer, report_id)["ncmec_report_id"]
    ncmec.server.state._reports.pop(lost_id)  # NCMEC lost it early, for its own reasons
    _restart(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and done["lost_report_ids"] == [lost_id]
    assert any(c["response_code"] == 5001 for c in done["calls"])
    assert db.scalar(select(NcmecApiCall.id).where(NcmecApiCall.outcome == "pending")) is None


def test_without_ncmec_configured_the_report_waits(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    del app.state.bastion.services[CLIENT_FACTORY]
    run_timers(app, sessions, clock)
    waiting = _report(reviewer, report_id)
    assert waiting["state"] == "approved" and "BASTION_NCMEC_USERNAME" in waiting["attention"]
    app.state.bastion.services[CLIENT_FACTORY] = ncmec.client
    clock.advance(timedelta(minutes=16))
    run_timers(app, sessions, clock)
    assert _report(reviewer, report_id)["state"] == "finished"


def test_an_interrupted_finish_is_never_filed_twice_even_after_expiry(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.kill["finish"] = "after"  # filed at NCMEC; the worker died before recording it
    with pytest.raises(ProcessKilled):
        run_timers(app, sessions, clock, rounds=1)
    clock.advance(timedelta(days=2))  # long past the moment NCMEC would delete an *unfinished* report
    run_timers(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and done["lost_report_ids"] == [] and ncmec.reports_opened() == 1
    assert done["calls"][-1]["response_code"] == 5102 and not done["attention"]


@pytest.mark.parametrize("operation", ["submit", "upload", "fileinfo", "finish"])
def test_a_reply_arriving_after_another_worker_took_the_report_is_recorded_not_acted_on(  # type: ignore[no-untyped-def]
    operation: str, app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    before = {"submit": "approved", "upload": "submitted", "fileinfo": "files_uploaded",
              "finish": "file_details_sent"}[operation]

    def taken_over() -> None:  # this worker's lease ran out mid-call and another worker holds the report
        with sessions() as session, session.begin():
            session.execute(update(NcmecReport).where(NcmecReport.id == report_id)
                            .values(lease_owner="another-worker", lease_until=clock.now() + LEASE))

    ncmec.meanwhile[operation] = taken_over
    run_timers(app, sessions, clock, rounds=1)
    late = _report(reviewer, report_id)
    call = late["calls"][-1]
    assert late["state"] == before and call["operation"] == operation
    assert call["outcome"] == "ok" and call["request_id"] and call["finished_at"]  # the reply is on record ...
    assert "late_result" in [e["kind"] for e in late["events"]]  # ... and nothing was done with it
    if operation == "upload":
        assert not late["files"][0]["file_id"] and call["file_id"]

    clock.advance(LEASE + timedelta(minutes=1))  # the other worker dies too; whoever runs next carries on
    Worker(sessions, clock, app.state.bastion.services).advance(report_id)
    run_timers(app, sessions, clock)
    done = _report(reviewer, report_id)
    assert done["state"] == "finished", (done["error"], done["attention"])
    assert ncmec.server.state.report_state(done["ncmec_report_id"]) is ReportState.FINISHED
    if operation == "submit":  # the unrecorded report stays unfinished at NCMEC and expires by itself
        assert ncmec.reports_opened() == 2 and done["ncmec_report_id"] != call["ncmec_report_id"]
    if operation == "finish":  # a second finish confirms the first with 5102
        assert done["calls"][-1]["response_code"] == 5102


@pytest.mark.parametrize("operation", ["upload", "fileinfo"])
def test_a_lost_reply_on_the_wire_sends_no_second_copy_and_leaves_no_file_undescribed(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make, operation: str
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.network.faults[operation] = ["drop"]  # delivered, then the reply is lost (a read timeout)
    for _ in range(6):
        run_timers(app, sessions, clock, rounds=2)
        clock.advance(timedelta(minutes=10))
    done = _report(reviewer, report_id)
    assert done["state"] == "finished", (done["error"], done["attention"])
    first_id = next(c["ncmec_report_id"] for c in done["calls"] if c["operation"] == "submit")
    assert ncmec.server.state.report_state(first_id) is ReportState.RETRACTED
    assert len(done["ncmec_file_ids"]) == 1 and done["files"][0]["file_id"] == done["ncmec_file_ids"][0]
    assert ncmec.network.count(operation) == 2  # once into the discarded report, once into the filed one


def test_a_lost_finish_receipt_keeps_the_files_from_bastions_own_record(  # type: ignore[no-untyped-def]
    app, sessions, clock: ManualClock, ncmec: Ncmec, approved_report: Make
) -> None:
    report_id, reviewer = approved_report(posts=POSTS[:1])
    ncmec.network.faults["finish"] = ["drop"]
    for _ in range(6):
        run_timers(app, sessions, clock, rounds=2)
        clock.advance(timedelta(minutes=10))
    done = _report(reviewer, report_id)
    assert done["state"] == "finished" and done["calls"][-1]["response_code"] == 5102
    assert done["ncmec_file_ids"] == [done["files"][0]["file_id"]]  # not empty
    assert "files_from_own_record" in [e["kind"] for e in done["events"]]


def test_upload_timeouts_grow_with_the_file() -> None:
    from bastion.ncmec.client import DEFAULT_TIMEOUT, upload_timeout

    small, video = upload_timeout(1024), upload_timeout(2 * 1024 ** 3)
    assert small.read == 60.0 + 1024 / (4 * 1024 * 1024) and upload_timeout(None) == DEFAULT_TIMEOUT
    assert video.read is not None and video.read > 500 and video.write is not None and video.write >= 2048
