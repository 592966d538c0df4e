"""Fixtures: a real stand-in on a loopback port, a controllable clock, clients, synthetic files.

All test content is synthetic: example.org addresses, documentation IP ranges,
and generated gradient images / benign byte patterns.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bastion.clock import ManualClock
from bastion.dev.ncmec import StandinServer
from bastion.ncmec.client import CyberTiplineClient
from bastion.ncmec.model import (
    Email,
    FileDetails,
    IncidentSummary,
    IncidentType,
    InternetDetails,
    Person,
    Report,
    Reporter,
    WebPageIncident,
)

USERNAME = "bastion-test"
PASSWORD = "not-a-real-secret-3f9c"


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="session")
def standin(clock: ManualClock) -> Iterator[StandinServer]:
    with StandinServer(USERNAME, PASSWORD, clock=clock) as server:
        yield server


class CountingTransport(httpx.HTTPTransport):
    """Real HTTP transport that remembers every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
def client(standin: StandinServer, transport: CountingTransport) -> Iterator[CyberTiplineClient]:
    with CyberTiplineClient(USERNAME, PASSWORD, base_url=standin.base_url, transport=transport) as c:
        yield c


def make_report(**changes: object) -> Report:
    report = Report(
        incident_summary=IncidentSummary(
            incident_type=IncidentType.CHILD_PORNOGRAPHY,
            incident_date_time=datetime(2029, 12, 31, 8, 0, tzinfo=UTC),
        ),
        internet_details=[InternetDetails(web_page_incident=WebPageIncident(urls=["https://www.example.org/p/1"]))],
        reporter=Reporter(
            reporting_person=Person(first_name="Alex", last_name="Example", emails=[Email(value="ts@example.org")])
        ),
    )
    return report.model_copy(update=changes)


def make_file_details(report_id: int, file_id: str, **fields: object) -> FileDetails:
    return FileDetails(report_id=report_id, file_id=file_id, original_file_name="gradient.png", **fields)


def synthetic_png(width: int = 16, height: int = 16) -> bytes:
    """A small RGB gradient PNG built from scratch: benign, deterministic test content."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in ((x * 16) % 256, (y * 16) % 256, 160))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
