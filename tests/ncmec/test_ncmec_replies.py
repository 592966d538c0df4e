"""Reply parsing and the code -> error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.ncmec import errors as e
from bastion.ncmec.codes import ResponseCode, describe
from bastion.ncmec.xml import (
    parse_reply,
    render_report_done_response,
    render_report_response,
    validate_document,
)
from tests.ncmec.hostile import secret_file, xxe_reply


def test_report_response_round_trip() -> None:
    body = render_report_response(0, "Success", report_id=42, file_id="abc", md5="d41d8cd98f00b204e9800998ecf8427e")
    reply = parse_reply(body)
    assert (reply.root, reply.response_code, reply.report_id, reply.file_id) == ("reportResponse", 0, 42, "abc")
    assert reply.md5 == "d41d8cd98f00b204e9800998ecf8427e"


def test_report_done_response_lists_files() -> None:
    reply = parse_reply(render_report_done_response(42, ["f1", "f2"]))
    assert reply.root == "reportDoneResponse"
    assert reply.file_ids == ("f1", "f2")


def test_replies_the_standin_sends_are_schema_valid() -> None:
    validate_document(render_report_response(5001, "Report does not exist", report_id=1))
    validate_document(render_report_done_response(1, []))


def test_status_reply_without_report_id() -> None:
    reply = parse_reply(b"<reportResponse><responseCode>0</responseCode>"
                        b"<responseDescription>Remote User : u</responseDescription></reportResponse>")
    assert reply.report_id is None and reply.description == "Remote User : u"


def test_xxe_reply_is_refused(tmp_path: Path) -> None:
    with pytest.raises(e.NcmecProtocolError) as caught:
        parse_reply(xxe_reply(secret_file(tmp_path, "SECRET-MARKER-27")))
    assert "SECRET-MARKER-27" not in str(caught.value)


def test_internal_entity_reply_is_refused() -> None:
    payload = (b'<!DOCTYPE r [<!ENTITY a "x">]><reportResponse><responseCode>0</responseCode>'
               b"<responseDescription>&a;</responseDescription></reportResponse>")
    with pytest.raises(e.NcmecProtocolError, match="forbidden"):
        parse_reply(payload)


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b"not xml", b"<reportResponse/>",
     b"<reportResponse><responseCode>zero</responseCode></reportResponse>"],
)
def test_unusable_replies_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(e.NcmecProtocolError):
        parse_reply(body)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1000, e.NcmecServerError),
        (1100, e.NcmecServerError),
        (2000, e.NcmecAuthError),
        (3100, e.NcmecAuthError),
        (4000, e.NcmecRequestError),
        (4100, e.ReportValidationError),
        (4110, e.MalformedXmlError),
        (4200, e.MalformedFileError),
        (5001, e.ReportDoesNotExistError),
        (5002, e.FileDoesNotExistError),
        (5101, e.ReportAlreadyRetractedError),
        (5102, e.ReportAlreadyFinishedError),
        (5999, e.ReportStateError),  # unknown code: mapped by its band
        (9999, e.NcmecError),
    ],
)
def test_codes_map_to_typed_errors(code: int, cls: type[e.NcmecError]) -> None:
    error = e.error_for_code(code, None, request_id="rid-1")
    assert type(error) is cls
    assert error.code == code and error.request_id == "rid-1"
    assert error.description == describe(code)


def test_every_documented_code_has_a_description() -> None:
    assert all(not describe(code).startswith("Unknown") for code in ResponseCode)
