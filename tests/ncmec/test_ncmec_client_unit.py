"""Client behaviour that needs a scripted server: retries, uncertainty, integrity, logging."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bastion.config import Settings
from bastion.ncmec.client import PRODUCTION_BASE_URL, TEST_BASE_URL, CyberTiplineClient, Environment
from bastion.ncmec.config import NcmecConfig
from bastion.ncmec.errors import (
    NcmecAuthError,
    NcmecProtocolError,
    NcmecUnavailableError,
    NcmecUncertainError,
    ReportDoesNotExistError,
    UploadIntegrityError,
)
from bastion.ncmec.xml import render_report_response
from tests.ncmec.hostile import secret_file, xxe_reply

from .conftest import make_report

OK_STATUS = render_report_response(0, "Remote User : u")
BASE = "http://ncmec.invalid/ispws"

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*steps: Handler | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport that plays ``steps`` in order: raise an exception or answer."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step(request)

    return httpx.MockTransport(handle), seen


def answer(body: bytes, status: int = 200, request_id: str = "rid-x") -> Handler:
    return lambda request: httpx.Response(status, content=body, headers={"Request-ID": request_id})


def make_client(transport: httpx.MockTransport, sleeps: list[float] | None = None, **kw: object) -> CyberTiplineClient:
    sink = sleeps if sleeps is not None else []
    return CyberTiplineClient("u", "pw-unit-secret", base_url=BASE, transport=transport, sleep=sink.append, **kw)


# -- environments ---------------------------------------------------------------------------


def test_test_environment_is_the_default() -> None:
    client = CyberTiplineClient("u", "p")
    assert client.environment is Environment.TEST and client.base_url == TEST_BASE_URL


def test_production_needs_an_explicit_base_url() -> None:
    with pytest.raises(ValueError, match="explicitly"):
        CyberTiplineClient("u", "p", environment="production")
    client = CyberTiplineClient("u", "p", environment="production", base_url=PRODUCTION_BASE_URL)
    assert client.base_url == PRODUCTION_BASE_URL


def test_test_environment_refuses_the_production_url() -> None:
    with pytest.raises(ValueError, match="production URL"):
        CyberTiplineClient("u", "p", base_url="https://REPORT.cybertip.org/ispws/")


def test_production_requires_https() -> None:
    with pytest.raises(ValueError, match="https"):
        CyberTiplineClient("u", "p", environment="production", base_url="http://report.cybertip.org/ispws")


def test_repr_and_settings_hide_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_NCMEC_USERNAME", "svc")
    monkeypatch.setenv("BASTION_NCMEC_PASSWORD", "pw-env-secret")
    settings = NcmecConfig.from_settings(Settings())
    client = settings.create_client()
    assert "pw-env-secret" not in repr(settings) + repr(client)
    assert client.environment is Environment.TEST


# -- retries -----------------------------------------------------------------------------------


def test_status_is_retried_with_backoff() -> None:
    transport, seen = scripted(httpx.ConnectError("down"), answer(b"", 503), answer(OK_STATUS))
    sleeps: list[float] = []
    result = make_client(transport, sleeps).status()
    assert result.description == "Remote User : u" and result.request_id == "rid-x"
    assert len(seen) == 3 and len(sleeps) == 2
    assert all(0 <= s <= 8 for s in sleeps)


def test_status_gives_up_after_its_retries() -> None:
    transport, seen = scripted(*[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(NcmecUnavailableError):
        make_client(transport, status_retries=2).status()
    assert len(seen) == 3


def test_a_401_is_not_retried() -> None:
    transport, seen = scripted(answer(b"", 401))
    with pytest.raises(NcmecAuthError) as caught:
        make_client(transport).status()
    assert caught.value.http_status == 401 and caught.value.request_id == "rid-x"
    assert len(seen) == 1


@pytest.mark.parametrize("operation", ["submit", "upload", "finish", "retract"])
def test_state_changing_calls_are_never_retried(operation: str) -> None:
    transport, seen = scripted(httpx.ReadTimeout("lost reply"), answer(OK_STATUS))
    sleeps: list[float] = []
    client = make_client(transport, sleeps)
    call = {
        "submit": lambda: client.submit(make_report()),
        "upload": lambda: client.upload(7, io.BytesIO(b"benign bytes")),
        "finish": lambda: client.finish(7),
        "retract": lambda: client.retract(7),
    }[operation]
    with pytest.raises(NcmecUncertainError) as caught:
        call()
    assert caught.value.request_sent is True and caught.value.operation == operation
    assert len(seen) == 1 and sleeps == []


def test_connection_refused_on_submit_is_uncertain_but_marked_not_sent() -> None:
    transport, seen = scripted(httpx.ConnectError("refused"))
    with pytest.raises(NcmecUncertainError) as caught:
        make_client(transport).submit(make_report())
    assert caught.value.request_sent is False and len(seen) == 1


def test_gateway_error_page_on_finish_is_uncertain() -> None:
    transport, _ = scripted(answer(b"<html>Bad Gateway</html>", 502))
    with pytest.raises(NcmecUncertainError) as caught:
        make_client(transport).finish(7)
    assert caught.value.http_status == 502 and caught.value.report_id == 7


# -- replies ------------------------------------------------------------------------------------


def test_xxe_in_a_reply_is_refused_by_the_client(tmp_path: Path) -> None:
    transport, _ = scripted(answer(xxe_reply(secret_file(tmp_path, "SECRET-MARKER-55"))))
    with pytest.raises(NcmecProtocolError) as caught:
        make_client(transport).status()
    assert "SECRET-MARKER-55" not in str(caught.value)
    assert caught.value.request_id == "rid-x"


def test_redirects_are_not_followed() -> None:
    transport, seen = scripted(lambda r: httpx.Response(302, headers={"Location": "https://elsewhere.invalid/"}))
    with pytest.raises(NcmecProtocolError):
        make_client(transport).status()
    assert len(seen) == 1


def test_oversized_reply_is_refused() -> None:
    transport, _ = scripted(answer(b"<reportResponse>" + b" " * (5 * 1024 * 1024) + b"</reportResponse>"))
    with pytest.raises(NcmecProtocolError, match="larger"):
        make_client(transport).status()


# -- uploads ---------------------------------------------------------------------------------------


def test_upload_md5_mismatch_is_an_integrity_error() -> None:
    wrong = render_report_response(0, "Success", report_id=7, file_id="f-1", md5="0" * 32)
    transport, _ = scripted(answer(wrong))
    with pytest.raises(UploadIntegrityError) as caught:
        make_client(transport).upload(7, io.BytesIO(b"benign bytes"))
    assert caught.value.file_id == "f-1" and caught.value.received_md5 == "0" * 32


def test_upload_refuses_whole_bytes() -> None:
    transport, seen = scripted()
    with pytest.raises(TypeError, match="streams"):
        make_client(transport).upload(7, b"whole file in memory")  # type: ignore[arg-type]
    assert seen == []


def test_upload_body_is_multipart_with_id_then_file() -> None:
    import hashlib

    payload = b"benign pattern " * 100
    digest = hashlib.md5(payload).hexdigest()
    transport, seen = scripted(answer(render_report_response(0, "Success", report_id=7, file_id="f-1", md5=digest)))
    result = make_client(transport).upload(7, io.BytesIO(payload), filename='a"b\r\n.png', content_type="image/png")
    body = seen[0].content
    assert seen[0].headers["Content-Length"] == str(len(body))
    assert body.index(b'name="id"') < body.index(b'name="file"')
    assert b'filename="a\\"b  .png"' in body and b"Content-Type: image/png" in body
    assert result.md5 == digest and result.size == len(payload)


# -- logging ------------------------------------------------------------------------------------------


def test_logs_carry_request_ids_but_never_secrets_or_file_names(caplog: pytest.LogCaptureFixture) -> None:
    import hashlib

    payload = b"benign pattern for logging"
    ok_upload = render_report_response(0, "Success", report_id=7, file_id="f-1",
                                       md5=hashlib.md5(payload).hexdigest())
    transport, _ = scripted(answer(OK_STATUS, request_id="rid-status"), answer(ok_upload, request_id="rid-up"),
                            answer(render_report_response(5001, "Report does not exist", report_id=8),
                                   request_id="rid-err"))
    client = make_client(transport)
    with caplog.at_level(logging.DEBUG):
        client.status()
        client.upload(7, io.BytesIO(payload), filename="private-name.png")
        with pytest.raises(ReportDoesNotExistError):
            client.finish(8)
    records = [r for r in caplog.records if r.name.startswith("bastion.ncmec")]
    assert {getattr(r, "ncmec_request_id", None) for r in records} >= {"rid-status", "rid-up", "rid-err"}
    dumped = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for forbidden in ("pw-unit-secret", "private-name", payload.decode()):
        assert forbidden not in dumped
