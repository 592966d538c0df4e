"""Drafting tolerates a missing or failing platform; configuration comes from BASTION_NCMEC_*."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.ncmec.client import Environment
from bastion.ncmec.config import NcmecConfig
from bastion.ncmec.lifecycle import CONNECTOR_FACTORY
from bastion.platform import HttpPlatformConnector

from .conftest import ACCOUNT, POSTS, Ncmec, confirmed_case


def test_drafting_without_a_platform_connector_keeps_what_bastion_knows(  # type: ignore[no-untyped-def]
    client: TestClient, app, sessions, clock: ManualClock, platform: HttpPlatformConnector, ncmec: Ncmec,
    organisation, reviewer_factory,
) -> None:
    alice = reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, alice, posts=POSTS[:1])
    del app.state.bastion.services[CONNECTOR_FACTORY]
    report = alice.post("/api/v1/reports", json={"case_id": case_id}).json()
    user = report["document"]["person_or_user_reported"]
    assert user["esp_identifier"] == ACCOUNT and "screen_name" not in user and "person" not in user
    assert [e["event_name"] for e in user["ip_capture_events"]] == ["Upload"]
    assert report["xml_valid"] and "No platform connector" in str(report["events"][0]["details"]["notes"])


def test_drafting_with_the_platform_down_still_drafts(  # type: ignore[no-untyped-def]
    client: TestClient, app, sessions, clock: ManualClock, platform: HttpPlatformConnector, ncmec: Ncmec,
    organisation, reviewer_factory,
) -> None:
    alice = reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, alice, posts=POSTS[:1])
    app.state.bastion.services[CONNECTOR_FACTORY] = lambda: HttpPlatformConnector("http://127.0.0.1:9", "x" * 32)
    drafted = alice.post("/api/v1/reports", json={"case_id": case_id})
    assert drafted.status_code == 201 and drafted.json()["xml_valid"]
    notes = " ".join(drafted.json()["events"][0]["details"]["notes"])
    assert "did not provide the account" in notes and "did not provide login IPs" in notes


def test_a_report_needs_a_reporter_contact_before_approval(  # type: ignore[no-untyped-def]
    client: TestClient, sessions, clock: ManualClock, platform: HttpPlatformConnector, ncmec: Ncmec,
    reviewer_factory,
) -> None:
    alice, bob = reviewer_factory(), reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, alice, posts=POSTS[:1])
    report = alice.post("/api/v1/reports", json={"case_id": case_id}).json()
    refused = bob.post(f"/api/v1/reports/{report['id']}/approve")
    assert refused.status_code == 422 and "reports.reporter_email" in refused.json()["detail"]
    assert "reports.reporter_email" in alice.get(f"/reports/{report['id']}").text


def test_drafting_needs_a_confirmed_case(  # type: ignore[no-untyped-def]
    client: TestClient, sessions, clock: ManualClock, platform: HttpPlatformConnector, reviewer_factory,
) -> None:
    alice = reviewer_factory()
    assert alice.post("/api/v1/reports", json={"case_id": 424242}).status_code == 404
    assert alice.post("/api/v1/reports/draft-is-not-an-id/approve").status_code == 422


def ncmec_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> NcmecConfig:
    """The typed NCMEC configuration of a process started with exactly these ``BASTION_NCMEC_*`` variables."""
    for name in ("USERNAME", "PASSWORD", "ENVIRONMENT", "BASE_URL"):
        monkeypatch.delenv(f"BASTION_NCMEC_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"BASTION_NCMEC_{name.upper()}", value)
    return NcmecConfig.from_settings(Settings())


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ncmec_config(monkeypatch).client_factory() is None
    factory = ncmec_config(monkeypatch, username="esp", password="secret").client_factory()
    assert factory is not None
    with factory() as c:
        assert c.environment is Environment.TEST and "secret" not in repr(c)
    with pytest.raises(ValueError, match="production"):
        ncmec_config(monkeypatch, username="esp", password="secret", environment="production").client_factory()
    with pytest.raises(Exception, match="password"):
        ncmec_config(monkeypatch, username="esp").client_factory()
