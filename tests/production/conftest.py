"""Fixtures: one signing key per session (generating is cheap, but one is enough) and a synthetic package."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

pytest.importorskip("fpdf", reason="production packages need fpdf2")

from bastion.clock import ManualClock
from bastion.production import CertificateInfo, SigningKey, build_package

REQUEST: dict[str, Any] = {
    "reference": "LE-2026-0012", "authority": "Metropolitan Police Service", "instrument": "search_warrant",
    "legal_basis": "18 U.S.C. 2703(a)", "received_at": "2026-01-01T08:00:00Z",
}
SCOPE: dict[str, Any] = {
    "categories": ["subscriber", "posts", "ip_logins", "devices", "locations"],
    "date_range": {"start": "2025-10-01", "end": "2025-12-31"}, "accounts": ["user:48213", "@rivertown_kid"],
}
DATASETS: dict[str, list[dict[str, Any]]] = {
    "subscriber": [{"user_id": "48213", "username": "rivertown_kid", "email": "rk@mail.example",
                    "created_at": "2024-03-02T10:11:12Z", "display_name": "=HYPERLINK(\"http://evil.example\")"}],
    "posts": [{"id": 9001, "created_at": "2025-11-02T20:01:00Z", "text": "first post, with a comma"},
              {"id": 9002, "created_at": "2025-11-03T07:45:00Z", "text": "Zweiter Beitrag \u2013 \u00fcber \"Quotes\"",
               "media": ["m-1", "m-2"]}],
    "ip_logins": [{"ip": "203.0.113.7", "at": "2025-11-02T19:58:31Z", "port": 51234}],
    "devices": [],
    "locations": [{"lat": -33.8688, "lon": 151.2093, "at": "2025-11-02T20:00:00Z", "accuracy_m": 12.5}],
}
ATTACHMENTS = [("preservation-letter.txt", b"Preserved under 18 U.S.C. 2703(f) on 2025-12-01.\n"),
               ("48213/media/m-1.png", b"\x89PNG\r\n\x1a\n benign test bytes")]
CUSTODIAN = CertificateInfo(
    custodian_name="Priya Raghunathan", custodian_title="Custodian of Records", organisation="Rivertown Social Ltd",
    statement_date=date(2026, 1, 2), place="Dublin, Ireland",
    jurisdiction="the laws of the United States of America (28 U.S.C. 1746)",
)


@pytest.fixture(scope="session")
def signer() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="session")
def package(signer: SigningKey) -> bytes:
    return build_package(REQUEST, SCOPE, DATASETS, ATTACHMENTS, signer, CUSTODIAN, clock=ManualClock())
