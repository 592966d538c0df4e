"""A setting's type picks its form control, and its bounds and choices are checked on every save,
whatever control (or API client) sent the value."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.auth.roles import Role
from bastion.cases import classifiers, sampling
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.orgsettings import REGISTRY, OrgSetting
from tests.conftest import api_login


def test_each_type_has_its_control() -> None:
    assert REGISTRY["wellness.blur"].control == "checkbox"
    assert REGISTRY[sampling.SAMPLE_PERCENT].control == "number" and REGISTRY[sampling.SAMPLE_PERCENT].step == "1"
    assert REGISTRY[classifiers.THRESHOLD].control == "number" and REGISTRY[classifiers.THRESHOLD].step == "any"
    assert REGISTRY["org.name"].control == "text"
    assert OrgSetting("x.mode", str, "a", "", choices=("a", "b")).control == "select"


def test_bounds_are_enforced_with_a_sentence_that_says_what_to_enter() -> None:
    percent = REGISTRY[sampling.SAMPLE_PERCENT]
    assert (percent.lower_bound, percent.maximum) == (0, 100)
    assert percent.coerce("100") == 100 and percent.coerce("0") == 0
    with pytest.raises(InvalidInput, match="100 or less"):
        percent.coerce("101")
    with pytest.raises(InvalidInput, match="negative"):
        percent.coerce("-1")
    threshold = REGISTRY[classifiers.THRESHOLD]
    assert threshold.coerce("0.25") == 0.25
    with pytest.raises(InvalidInput, match="1 or less"):
        threshold.coerce("1.5")
    hours = REGISTRY["review.removal_hours"]  # a whole number with no stated bounds is still never negative
    assert hours.lower_bound == 0 and hours.maximum is None
    with pytest.raises(InvalidInput):
        hours.coerce("-3")
    floor = OrgSetting("x.floor", int, 5, "", minimum=2)
    with pytest.raises(InvalidInput, match="2 or more"):
        floor.coerce("1")


def test_a_checkbox_and_a_choice_accept_only_their_values() -> None:
    blur = REGISTRY["wellness.blur"]
    assert blur.coerce("true") is True and blur.coerce("false") is False
    with pytest.raises(InvalidInput):
        blur.coerce("maybe")
    mode = OrgSetting("x.mode", str, "a", "", choices=("a", "b"))
    assert mode.coerce("b") == "b"
    with pytest.raises(InvalidInput, match="one of a, b"):
        mode.coerce("c")


def test_the_api_is_held_to_the_same_bounds(client: TestClient, user_factory, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    csrf = api_login(client, user_factory(Role.ADMIN), clock)
    headers = {"X-CSRF-Token": csrf}
    refused = client.put(f"/api/v1/settings/{sampling.SAMPLE_PERCENT}", json={"value": 150}, headers=headers)
    assert refused.status_code == 422 and "100 or less" in refused.text
    assert client.put(f"/api/v1/settings/{sampling.SAMPLE_PERCENT}", json={"value": 30}, headers=headers).json() == \
        {"key": sampling.SAMPLE_PERCENT, "value": 30}
    assert client.get("/api/v1/settings").json()[sampling.SAMPLE_PERCENT] == 30
