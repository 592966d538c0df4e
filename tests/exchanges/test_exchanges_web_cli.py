"""Managing exchanges: the JSON API, HMA's curation endpoints in HMA's shapes, the page, and the command line.

Credentials are write-only everywhere: no response, page or command output carries them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.config import Settings, get_settings
from bastion.dev.exchanges import UrlListStandin
from bastion.executor import TaskContext
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.conftest import api_key, api_login, make_user
from tests.exchanges.conftest import pdq_values

LIST_PASSWORD = "web-list-password-0e9f"


@pytest.fixture
def app(settings: Settings, clock: ManualClock, engine):  # type: ignore[no-untyped-def]
    from bastion.web.app import create_app

    allowed = settings.model_copy(update={"exchange_allowed_networks": "127.0.0.0/8"})
    return create_app(allowed, clock=clock, engine=engine)


def test_admins_manage_exchanges_over_the_api_and_others_only_read_them(
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin) -> None:
    values = pdq_values(3, seed=21)
    url = url_lists.publish("web", "".join(f"pdq {v}\n" for v in values), auth="basic", user="ops",
                            secret=LIST_PASSWORD)
    admin = make_user(sessions, clock, Role.ADMIN)
    csrf = api_login(client, admin, clock)
    headers = {"X-CSRF-Token": csrf}
    created = client.post("/api/v1/exchanges", headers=headers, json={
        "name": "WEB_LIST", "api": "url_list", "settings": {"url": url, "format": "te", "auth": "basic"},
        "banks": ["WEB_BANK"], "create_banks": True, "credentials": {"user": "ops", "password": LIST_PASSWORD},
        "fetch_every_minutes": 30})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_credentials"] is True and body["banks"] == ["WEB_BANK"] and body["status"] == "idle"
    assert body["next_fetch_at"] is not None

    bad = client.post("/api/v1/exchanges", headers=headers, json={
        "name": "NO_TYPE", "api": "carrier_pigeon", "settings": {}, "banks": ["WEB_BANK"]})
    assert bad.status_code == 422 and "carrier_pigeon" in bad.json()["detail"]

    state = client.app.state.bastion  # type: ignore[attr-defined]
    Ticker(TaskContext(sessions=state.sessions, clock=clock, services=state.services)).tick()
    fetched = client.get("/api/v1/exchanges/WEB_LIST").json()
    assert (fetched["status"], fetched["live_items"], fetched["items_added"]) == ("ok", 3, 3)
    assert fetched["last_success_at"] is not None

    assert client.post("/api/v1/exchanges/WEB_LIST/pause", headers=headers).json()["paused"] is True
    assert client.post("/api/v1/exchanges/WEB_LIST/fetch", headers=headers).status_code == 422  # paused
    assert client.post("/api/v1/exchanges/WEB_LIST/resume", headers=headers).json()["next_fetch_at"] is not None
    replaced = client.put("/api/v1/exchanges/WEB_LIST/credentials", headers=headers,
                          json={"credentials": {"user": "ops", "password": "second-web-password-77"}})
    assert replaced.status_code == 200
    page = client.get("/exchanges")
    assert page.status_code == 200 and "WEB_LIST" in page.text and "Fetch now" in page.text
    texts = [created.text, fetched and str(fetched), replaced.text, page.text,
             client.get("/api/v1/exchanges").text]
    assert not any(LIST_PASSWORD in t or "second-web-password-77" in t for t in texts)

    auditor = TestClient(client.app)
    api_login(auditor, make_user(sessions, clock, Role.AUDITOR), clock)
    assert auditor.get("/api/v1/exchanges").status_code == 200
    reviewer = TestClient(client.app)
    reviewer_csrf = api_login(reviewer, make_user(sessions, clock, Role.REVIEWER), clock)
    assert reviewer.get("/api/v1/exchanges").status_code == 403
    compliance = TestClient(client.app)
    compliance_csrf = api_login(compliance, make_user(sessions, clock, Role.COMPLIANCE), clock)
    assert compliance.post("/api/v1/exchanges/WEB_LIST/pause", headers={"X-CSRF-Token": compliance_csrf}).status_code == 403
    assert reviewer_csrf

    assert client.delete("/api/v1/exchanges/WEB_LIST", headers=headers).json() == {"deleted": "WEB_LIST"}
    assert client.get("/api/v1/exchanges/WEB_LIST").status_code == 404
    with sessions() as session:
        assert not session.scalars(select(Timer).where(Timer.kind == "exchanges.fetch",
                                                       Timer.status == "pending")).all()


def test_hma_exchange_curation_answers_in_hmas_shapes(
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin) -> None:
    url = url_lists.publish("hma", f"pdq {pdq_values(1, seed=22)[0]}\n")
    admin = api_key(client, sessions, clock, role=Role.ADMIN)
    platform = api_key(client, sessions, clock)

    assert client.get("/c/exchanges/apis", headers=platform).json() == ["ncmec", "url_list", "stop_ncii",
                                                                         "fb_threatexchange", "tat"]
    assert client.get("/c/exchanges/api/ncmec", headers=platform).json() == {
        "has_set_authentification": False, "supports_authentification": True}
    assert client.post("/c/exchanges/api/ncmec", headers=admin,
                       json={"credential_json": {"user": "u", "password": "per-type-secret-1"}}).json() == {
        "has_set_authentification": True, "supports_authentification": True}
    assert client.get("/c/exchanges/api/nope", headers=admin).json() == {"message": "no such Exchange API 'nope'"}
    schema = client.get("/c/exchanges/api/url_list/schema", headers=platform).json()
    assert [f["name"] for f in schema["config_schema"]["fields"]] == ["url", "format", "auth"]
    assert schema["config_schema"]["fields"][1] == {"name": "format", "type": "enum", "required": False,
                                                    "default": "te", "help": "csv or te (`pdq <hex>` lines)",
                                                    "choices": ["csv", "te"]}
    assert {f["name"] for f in schema["credentials_schema"]["fields"]} == {"user", "password", "token"}
    bad_json = client.post("/c/exchanges", headers=admin, json={"bank": "NO_URL", "api": "url_list", "api_json": {}})
    assert bad_json.status_code == 400
    assert bad_json.json()["message"].startswith("Failed to parse `api_json` - verify all fields are supplied.")

    created = client.post("/c/exchanges", headers=admin,
                          json={"bank": "HMA_LIST", "api": "url_list", "api_json": {"url": url, "format": "te"}})
    assert (created.status_code, created.json()) == (201, {"message": "Created successfully"})
    assert client.post("/c/exchanges", headers=platform, json={"bank": "X", "api": "url_list"}).status_code == 403
    lower = client.post("/c/exchanges", headers=admin, json={"bank": "lower", "api": "url_list", "api_json": {}})
    assert (lower.status_code, lower.json()) == (400, {"message": "Field `bank` must match /^[A-Z0-9_]+$/"})
    unknown = client.post("/c/exchanges", headers=admin, json={"bank": "Y", "api": "nope"})
    assert (unknown.status_code, unknown.json()) == (400, {"message": "No such exchange type 'nope'"})

    assert client.get("/c/exchanges", headers=platform).json() == ["HMA_LIST"]
    assert client.get("/c/bank/HMA_LIST", headers=platform).status_code == 200  # HMA's exchange fills its own bank
    shown = client.get("/c/exchange/HMA_LIST", headers=platform)
    assert shown.json() == {"api": "url_list", "auth": "none", "enabled": True, "format": "te", "name": "HMA_LIST",
                            "url": url}
    status = client.get("/c/exchange/HMA_LIST/status", headers=platform).json()
    assert set(status) == {"checkpoint_ts", "running_fetch_start_ts", "last_fetch_complete_ts",
                           "last_fetch_succeeded", "up_to_date", "fetched_items"}
    assert status["last_fetch_succeeded"] is None and status["fetched_items"] == 0
    missing = client.get("/c/exchange/NOPE", headers=platform)
    assert (missing.status_code, missing.json()) == (404, {"message": "Exchange 'NOPE' not found"})

    ncmec = client.post("/c/exchanges", headers=admin, json={
        "bank": "NCMEC_TEST", "api": "ncmec",
        "api_json": {"environment": "https://exttest.cybertip.org/hashsharing", "only_esp_ids": [7, 42]}})
    assert ncmec.status_code == 201, ncmec.text
    assert client.get("/c/exchange/NCMEC_TEST", headers=platform).json() == {
        "api": "ncmec", "enabled": True, "environment": "https://exttest.cybertip.org/hashsharing",
        "name": "NCMEC_TEST", "only_esp_ids": [7, 42]}
    assert client.delete("/c/exchange/NCMEC_TEST", headers=admin).status_code == 200

    paused = client.put("/c/exchange/HMA_LIST", headers=admin, json={"enabled": False})
    assert paused.json()["enabled"] is False
    assert client.delete("/c/exchange/HMA_LIST", headers=admin).json() == {"message": "Exchange deleted"}
    assert client.delete("/c/exchange/HMA_LIST", headers=admin).json() == {"message": "Exchange deleted"}
    assert client.get("/c/exchanges", headers=platform).json() == []


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BASTION_SECRET_KEY", "cli-exchange-test-secret")
    monkeypatch.setenv("BASTION_EXCHANGE_ALLOWED_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_command_line_adds_fetches_pauses_and_deletes_without_echoing_the_secret(
        cli_env: None, url_lists: UrlListStandin) -> None:
    from bastion.cli.main import app as cli

    values = pdq_values(2, seed=23)
    url = url_lists.publish("cli", "".join(f"pdq {v}\n" for v in values), auth="bearer", secret="cli-token-4455")
    runner = CliRunner()
    added = runner.invoke(cli, ["exchanges", "add", "CLI_LIST", "--type", "url_list", "--bank", "CLI_BANK",
                                "--create-banks", "--set", f"url={url}", "--set", "format=te", "--set", "auth=bearer"],
                          input="cli-token-4455\n")
    assert added.exit_code == 0, added.output
    fetched = runner.invoke(cli, ["exchanges", "fetch", "CLI_LIST"])
    assert fetched.exit_code == 0 and "added 2" in fetched.output, fetched.output
    listing = runner.invoke(cli, ["exchanges", "list"])
    assert "CLI_LIST  url_list  banks=CLI_BANK  status=ok" in listing.output and "items=2" in listing.output
    refused = runner.invoke(cli, ["exchanges", "sharing", "CLI_LIST", "--confirmed"])
    assert refused.exit_code == 1 and "url_list does not take confirmed" in refused.output
    assert "shares back: nothing" in runner.invoke(cli, ["exchanges", "sharing", "CLI_LIST"]).output
    assert runner.invoke(cli, ["exchanges", "pause", "CLI_LIST"]).exit_code == 0
    assert "status=paused" in runner.invoke(cli, ["exchanges", "list"]).output
    assert runner.invoke(cli, ["exchanges", "resume", "CLI_LIST"]).exit_code == 0
    missing = runner.invoke(cli, ["exchanges", "fetch", "NOPE"])
    assert missing.exit_code == 1 and "No exchange named 'NOPE'" in missing.output
    assert runner.invoke(cli, ["exchanges", "delete", "CLI_LIST", "--yes"]).exit_code == 0
    assert "cli-token-4455" not in added.output + fetched.output + listing.output  # the prompt is hidden
