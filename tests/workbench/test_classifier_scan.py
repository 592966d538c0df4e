"""An operator's classifier, configured by settings, sees uploads that matched nothing (over real HTTP)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr

from bastion.auth.roles import Role
from bastion.dev.classifier import MODEL, ClassifierStandinServer
from tests.conftest import api_key, api_login

KEY = "operator-classifier-key"


@pytest.fixture
def standin() -> Iterator[ClassifierStandinServer]:
    with ClassifierStandinServer(KEY) as server:
        yield server


@pytest.fixture
def settings(settings, standin: ClassifierStandinServer):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"classifier_url": standin.base_url, "classifier_key": SecretStr(KEY)})


def _png(colour: tuple[int, int, int], seed: int) -> bytes:
    image = Image.new("RGB", (96, 96), colour)
    image.putpixel((seed % 96, seed // 96), (0, 255, 0))  # distinct bytes per upload
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_unmatched_upload_scored_high_waits_for_a_person_with_the_score_kept(
        client: TestClient, sessions, clock, user_factory, standin: ClassifierStandinServer) -> None:  # type: ignore[no-untyped-def]
    headers = api_key(client, sessions, clock)
    for n, colour in enumerate(((255, 0, 0), (0, 0, 255))):
        response = client.post("/api/v1/scan", files={"file": (f"{n}.png", _png(colour, n))},
                               data={"content_id": f"post-{n}", "account_id": f"acct-{n}"}, headers=headers)
        assert response.status_code == 200 and response.json()["matches"] == [], response.text
    assert standin.calls == 2  # both went to the classifier, over HTTP
    api_login(client, user_factory(Role.REVIEWER), clock)
    cases = client.get("/api/v1/cases").json()
    assert [c["account_id"] for c in cases] == ["acct-0"]  # the blue one scored low: no case
    case = client.get(f"/api/v1/cases/{cases[0]['id']}").json()
    assert (case["source"], case["classifier_model"], case["status"]) == ("classifier", MODEL, "new")
    assert case["classifier_score"] > 0.9 and case["items"][0]["signal_type"] == "classifier"
    page = client.get(f"/cases/{case['id']}").text
    assert f"{MODEL} scored" in page and "a person decides" in page
