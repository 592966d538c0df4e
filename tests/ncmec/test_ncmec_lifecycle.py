"""The client driving the stand-in over real HTTP on a loopback port."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bastion.clock import ManualClock
from bastion.dev.ncmec import ReportState, StandinServer
from bastion.dev.serving import BackgroundServer
from bastion.ncmec.client import CyberTiplineClient
from bastion.ncmec.errors import (
    FileDoesNotExistError,
    MalformedFileError,
    NcmecAuthError,
    NcmecProtocolError,
    ReportAlreadyFinishedError,
    ReportAlreadyRetractedError,
    ReportDoesNotExistError,
    ReportValidationError,
)
from bastion.ncmec.model import Address, FileAnnotations, FileRelevance
from bastion.ncmec.xml import parse_reply, render, schema_bytes, validate_document
from tests.ncmec.hostile import secret_file, xxe_reply

from .conftest import PASSWORD, USERNAME, CountingTransport, make_file_details, make_report, synthetic_png


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_full_lifecycle(client: CyberTiplineClient, standin: StandinServer) -> None:
    image = synthetic_png(64, 64)
    status = client.status()
    submitted = client.submit(make_report())
    from_file = client.upload(submitted.report_id, io.BytesIO(image), filename="gradient.png", content_type="image/png")
    from_iterator = client.upload(submitted.report_id, chunks(image * 3), filename="gradient-3.bin")
    described = client.fileinfo(make_file_details(
        submitted.report_id, from_file.file_id,
        file_relevance=FileRelevance.REPORTED, file_annotations=FileAnnotations(generative_ai=True),
    ))
    finished = client.finish(submitted.report_id)

    assert from_file.md5 == hashlib.md5(image).hexdigest() and from_file.size == len(image)
    assert from_iterator.md5 == hashlib.md5(image * 3).hexdigest()
    assert standin.state.file_md5(submitted.report_id, from_file.file_id) == from_file.md5
    assert (described.report_id, described.file_id) == (submitted.report_id, from_file.file_id)
    assert finished.report_id == submitted.report_id
    assert set(finished.file_ids) == {from_file.file_id, from_iterator.file_id}
    assert standin.state.report_state(submitted.report_id) is ReportState.FINISHED
    results = [status, submitted, from_file, from_iterator, described, finished]
    request_ids = [r.request_id for r in results]
    assert all(request_ids) and len(set(request_ids)) == len(results)


def test_retract_path(client: CyberTiplineClient, standin: StandinServer) -> None:
    report_id = client.submit(make_report()).report_id
    client.upload(report_id, io.BytesIO(b"benign bytes"))
    retracted = client.retract(report_id)
    assert retracted.report_id == report_id and retracted.request_id
    assert standin.state.report_state(report_id) is ReportState.RETRACTED
    with pytest.raises(ReportAlreadyRetractedError) as caught:
        client.finish(report_id)
    assert caught.value.code == 5101 and caught.value.request_id
    with pytest.raises(ReportAlreadyRetractedError):
        client.upload(report_id, io.BytesIO(b"more benign bytes"))
    with pytest.raises(ReportAlreadyRetractedError):
        client.retract(report_id)


def test_a_finished_report_is_closed(client: CyberTiplineClient) -> None:
    report_id = client.submit(make_report()).report_id
    file_id = client.upload(report_id, io.BytesIO(b"benign bytes")).file_id
    client.finish(report_id)
    with pytest.raises(ReportAlreadyFinishedError):
        client.upload(report_id, io.BytesIO(b"late benign bytes"))
    with pytest.raises(ReportAlreadyFinishedError):
        client.fileinfo(make_file_details(report_id, file_id))
    with pytest.raises(ReportAlreadyFinishedError):
        client.retract(report_id)
    with pytest.raises(ReportAlreadyFinishedError, match="5102"):
        client.finish(report_id)  # a repeated finish confirms the first one


def test_calls_on_an_unknown_report(client: CyberTiplineClient) -> None:
    for call in (
        lambda: client.upload(99_999_999, io.BytesIO(b"benign bytes")),
        lambda: client.fileinfo(make_file_details(99_999_999, "nope")),
        lambda: client.finish(99_999_999),
        lambda: client.retract(99_999_999),
    ):
        with pytest.raises(ReportDoesNotExistError) as caught:
            call()
        assert caught.value.code == 5001 and caught.value.request_id


def test_fileinfo_for_an_unknown_file_is_refused(client: CyberTiplineClient) -> None:
    report_id = client.submit(make_report()).report_id
    with pytest.raises(FileDoesNotExistError) as caught:
        client.fileinfo(make_file_details(report_id, "0" * 32))
    assert caught.value.code == 5002


def test_empty_upload_is_a_malformed_file(client: CyberTiplineClient) -> None:
    report_id = client.submit(make_report()).report_id
    with pytest.raises(MalformedFileError) as caught:
        client.upload(report_id, io.BytesIO(b""))
    assert caught.value.code == 4200


def test_wrong_credentials(standin: StandinServer) -> None:
    with CyberTiplineClient(USERNAME, "wrong-password", base_url=standin.base_url, sleep=lambda _: None) as bad:
        with pytest.raises(NcmecAuthError) as caught:
            bad.status()
        assert caught.value.http_status == 401 and caught.value.request_id
        with pytest.raises(NcmecAuthError):
            bad.submit(make_report())


def test_invalid_documents_never_leave_the_client(client: CyberTiplineClient, transport: CountingTransport) -> None:
    report = make_report()
    report.reporter.reporting_person.addresses = [Address(city="Springfield", state="XX")]
    with pytest.raises(ReportValidationError) as caught:
        client.submit(report)
    assert caught.value.element == "state" and caught.value.line
    with pytest.raises(ReportValidationError):
        client.submit(b"<report><additionalInfo>no summary</additionalInfo></report>")
    assert transport.requests == []


def _raw_post(standin: StandinServer, path: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{standin.base_url}{path}", content=body, auth=(USERNAME, PASSWORD),
                      headers={"Content-Type": "text/xml; charset=utf-8"})


def test_standin_rejects_an_invalid_document_with_4100(standin: StandinServer) -> None:
    body = render(make_report()).replace(b"<incidentType>Child Pornography", b"<incidentType>Not A Type")
    response = _raw_post(standin, "/submit", body)
    reply = parse_reply(response.content)
    assert reply.response_code == 4100
    assert "incidentType" in (reply.description or "") and "enumeration" in (reply.description or "")
    assert response.headers["Request-ID"]


def test_standin_rejects_malformed_xml_and_xxe_with_4110(standin: StandinServer) -> None:
    assert parse_reply(_raw_post(standin, "/submit", b"<report><oops></report>").content).response_code == 4110
    xxe = (b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
           b"<report><additionalInfo>&x;</additionalInfo></report>")
    reply = parse_reply(_raw_post(standin, "/fileinfo", xxe).content)
    assert reply.response_code == 4110


def test_every_standin_reply_has_a_request_id_and_valid_xml(standin: StandinServer) -> None:
    responses = [
        httpx.get(f"{standin.base_url}/status", auth=(USERNAME, PASSWORD)),
        httpx.get(f"{standin.base_url}/status"),  # 401
        httpx.post(f"{standin.base_url}/finish", data={"id": "not-a-number"}, auth=(USERNAME, PASSWORD)),
        httpx.get(f"{standin.base_url}/no-such-endpoint", auth=(USERNAME, PASSWORD)),
    ]
    assert all(r.headers.get("Request-ID") for r in responses)
    assert responses[1].status_code == 401 and responses[1].content == b""
    assert parse_reply(responses[2].content).response_code == 4000
    for response in (responses[0], responses[2]):
        validate_document(response.content)


def test_standin_serves_bastions_xsd(standin: StandinServer) -> None:
    with CyberTiplineClient(USERNAME, PASSWORD, base_url=standin.base_url) as c:
        assert c.xsd() == schema_bytes()


# -- expiry of unfinished reports -------------------------------------------------------------------


def test_unfinished_report_expires_24h_after_opening(client: CyberTiplineClient, clock: ManualClock) -> None:
    report_id = client.submit(make_report()).report_id
    clock.advance(timedelta(hours=23, minutes=59))
    client.upload(report_id, io.BytesIO(b"benign bytes"))  # alive; this change extends life by an hour
    clock.advance(timedelta(minutes=59))
    client.upload(report_id, io.BytesIO(b"benign bytes"))  # 24h58m after opening, 59m after last change
    clock.advance(timedelta(hours=1))
    with pytest.raises(ReportDoesNotExistError):
        client.finish(report_id)


def test_expiry_is_24h_when_idle_even_after_early_changes(client: CyberTiplineClient, clock: ManualClock) -> None:
    report_id = client.submit(make_report()).report_id
    clock.advance(timedelta(hours=2))
    client.upload(report_id, io.BytesIO(b"benign bytes"))
    clock.advance(timedelta(hours=22))  # exactly 24h after opening, 22h idle
    with pytest.raises(ReportDoesNotExistError):
        client.retract(report_id)


def test_finished_and_retracted_reports_do_not_expire(client: CyberTiplineClient, clock: ManualClock) -> None:
    finished = client.submit(make_report()).report_id
    client.finish(finished)
    retracted = client.submit(make_report()).report_id
    client.retract(retracted)
    clock.advance(timedelta(days=30))
    with pytest.raises(ReportAlreadyFinishedError):
        client.finish(finished)
    with pytest.raises(ReportAlreadyRetractedError):
        client.finish(retracted)


# -- a hostile server ---------------------------------------------------------------------------------


def test_xxe_in_a_real_http_reply_is_refused(tmp_path: Path) -> None:
    payload = xxe_reply(secret_file(tmp_path, "SECRET-MARKER-83"), report_id=1)

    async def hostile(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/xml"), (b"request-id", b"hostile-1")]})
        await send({"type": "http.response.body", "body": payload})

    with (
        BackgroundServer(hostile) as server,
        CyberTiplineClient(USERNAME, PASSWORD, base_url=server.origin + "/ispws") as victim,
        pytest.raises(NcmecProtocolError) as caught,
    ):
        victim.submit(make_report())
    assert "SECRET-MARKER-83" not in str(caught.value)
    assert caught.value.request_id == "hostile-1"
