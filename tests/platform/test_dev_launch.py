"""`bastion serve --demo`: every stand-in starts and Bastion's settings point at it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bastion.config import Settings
from bastion.dev import launch
from bastion.platform import HttpPlatformConnector


@pytest.fixture
def any_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "DEMO_PLATFORM_PORT", 0)
    monkeypatch.setattr(launch, "DEMO_NCMEC_PORT", 0)
    monkeypatch.setattr(launch, "DEMO_DSA_PORT", 0)
    monkeypatch.setattr(launch, "DEMO_LIST_PORT", 0)


def test_demo_services_start_and_settings_name_them(tmp_path: Path, any_ports: None) -> None:
    said: list[str] = []
    running = launch.start_demo_services(Settings(data_dir=tmp_path), said.append)
    try:
        settings = running.settings
        assert len(running.servers) == 4 and len(said) == 4
        secret = settings.platform_secret.get_secret_value() if settings.platform_secret else ""
        assert secret == (tmp_path / "demo" / "platform.secret").read_text().strip()
        connector = HttpPlatformConnector(settings.platform_url, secret)
        assert connector.get_content("post-2001").content_id == "post-2001"  # seeded and signed
        status = httpx.get(settings.ncmec_base_url + "/status", auth=(settings.ncmec_username,
                           settings.ncmec_password.get_secret_value() if settings.ncmec_password else ""))
        assert status.status_code == 200 and settings.ncmec_environment == "test"
        assert httpx.get(settings.ncmec_base_url + "/status").status_code == 401
        token = settings.dsa_tdb_token.get_secret_value() if settings.dsa_tdb_token else ""
        lookup = settings.dsa_tdb_url + "/api/v1/statement/existing-puid/none"
        assert httpx.get(lookup, headers={"Authorization": f"Bearer {token}"}).status_code == 404
        assert httpx.get(lookup).status_code == 401
    finally:
        running.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(settings.platform_url + "/healthz")


def test_a_configured_cybertipline_is_left_alone(tmp_path: Path, any_ports: None) -> None:
    running = launch.start_demo_services(Settings(data_dir=tmp_path, ncmec_username="real-user"), lambda _: None)
    try:
        assert len(running.servers) == 3
        assert running.settings.ncmec_username == "real-user" and running.settings.ncmec_base_url == ""
    finally:
        running.stop()


def test_a_configured_dsa_database_is_left_alone(tmp_path: Path, any_ports: None) -> None:
    settings = Settings(data_dir=tmp_path, ncmec_username="real-user", dsa_tdb_url="https://sandbox.example")
    running = launch.start_demo_services(settings, lambda _: None)
    try:
        assert len(running.servers) == 2 and running.settings.dsa_tdb_url == "https://sandbox.example"
    finally:
        running.stop()


def test_no_two_stand_in_services_share_a_default_port() -> None:
    """`bastion serve --demo` beside `bastion dev exchanges` once collided on 8030 (DSA and NCMEC hash sharing)."""
    from bastion.dev.ports import PORTS

    clashes = {port for port in PORTS.values() if list(PORTS.values()).count(port) > 1}
    assert not clashes, f"ports used by two services: {sorted(clashes)}"
    assert (launch.DEMO_DSA_PORT, launch.DEMO_NCMEC_PORT) == (PORTS["dsa_tdb"], PORTS["cybertipline"])
