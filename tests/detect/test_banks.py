"""Banks and entries through the JSON API: lifecycle, validation, dedupe, audit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.media import hash_media
from tests.detect.images import jpeg

PDQ_A = "f" * 64


def _create(client: TestClient, headers: dict[str, str], name: str, **extra: object) -> dict:
    response = client.post("/api/v1/banks", json={"name": name, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_bank_lifecycle(client: TestClient, platform_headers: dict[str, str], db: Session) -> None:
    created = _create(client, platform_headers, "OWN_CONFIRMED", source="own", pdq_threshold=20)
    assert created["kind"] == "match" and created["pdq_threshold"] == 20
    renamed = client.patch("/api/v1/banks/OWN_CONFIRMED", json={"name": "OWN_BANK", "enabled": False},
                           headers=platform_headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "OWN_BANK" and not renamed.json()["enabled"]
    assert [b["name"] for b in client.get("/api/v1/banks", headers=platform_headers).json()] == ["OWN_BANK"]
    assert client.delete("/api/v1/banks/OWN_BANK", headers=platform_headers).status_code == 200
    assert client.get("/api/v1/banks", headers=platform_headers).json() == []
    assert client.get("/api/v1/banks/OWN_BANK", headers=platform_headers).status_code == 404
    _create(client, platform_headers, "OWN_BANK")  # the name is free again after a soft delete
    actions = set(db.scalars(select(AuditRecord.action)))
    assert {"bank.create", "bank.update", "bank.delete"} <= actions


def test_bank_validation(client: TestClient, platform_headers: dict[str, str]) -> None:
    bad = client.post("/api/v1/banks", json={"name": "lower case"}, headers=platform_headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_bank_name"
    _create(client, platform_headers, "DUP")
    dup = client.post("/api/v1/banks", json={"name": "DUP"}, headers=platform_headers)
    assert dup.status_code == 409
    too_far = client.post("/api/v1/banks", json={"name": "X", "pdq_threshold": 65}, headers=platform_headers)
    assert too_far.status_code == 422


def test_entries_validate_values_and_dedupe(client: TestClient, platform_headers: dict[str, str]) -> None:
    _create(client, platform_headers, "B")
    hashes = hash_media(jpeg(1))
    body = {"signals": {"pdq": hashes.pdq, "md5": hashes.md5.upper()}, "external_id": "x-1", "classification": "A1"}
    first = client.post("/api/v1/banks/B/entries", json=body, headers=platform_headers).json()
    again = client.post("/api/v1/banks/B/entries", json=body, headers=platform_headers).json()
    assert first["created"] and not again["created"] and first["entry"]["id"] == again["entry"]["id"]
    assert first["entry"]["signals"]["md5"] == hashes.md5  # normalised to lower case
    bad = client.post("/api/v1/banks/B/entries", json={"signals": {"pdq": "abc123"}}, headers=platform_headers)
    assert bad.status_code == 422 and "'abc123'" in bad.json()["detail"]
    unknown = client.post("/api/v1/banks/B/entries", json={"signals": {"tmk": PDQ_A}}, headers=platform_headers)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_signal_type"
    listed = client.get("/api/v1/banks/B/entries", headers=platform_headers).json()
    assert len(listed) == 1 and listed[0]["external_id"] == "x-1"


def test_reviewers_read_but_cannot_change_banks(client: TestClient, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    from bastion.auth.roles import Role
    from tests.conftest import api_key

    reviewer = api_key(client, sessions, clock, Role.REVIEWER)
    assert client.get("/api/v1/banks", headers=reviewer).status_code == 200
    assert client.post("/api/v1/banks", json={"name": "NOPE"}, headers=reviewer).status_code == 403
