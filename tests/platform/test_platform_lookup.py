"""Contract 6.13: `POST /v1/accounts/lookup` resolves a username, email or phone number to accounts.

Against the demo platform over real HTTP: matching rules, no contact details in the answer, a read
that needs no idempotency key, and the contract's errors for bad input."""

from __future__ import annotations

import httpx
import pytest

from bastion.platform import AccountMatch, HttpPlatformConnector, PlatformConnector, SigningAuth


def test_identifiers_match_accounts_and_the_answer_has_no_contact_details(connector: HttpPlatformConnector) -> None:
    assert isinstance(connector, PlatformConnector)
    [bob] = connector.lookup_accounts("username", "@BOB")
    assert isinstance(bob, AccountMatch) and (bob.account_id, bob.matched_on) == ("acct-1002", "username")
    assert not hasattr(bob, "email") and not hasattr(bob, "phone")
    assert [m.account_id for m in connector.lookup_accounts("email", " Alice@Example.com ")] == ["acct-1001"]
    assert [m.account_id for m in connector.lookup_accounts("phone", "+1 (202) 555-0104")] == ["acct-1004"]
    assert [m.account_id for m in connector.lookup_accounts("phone", "001 202 555 0104")] == ["acct-1004"]
    assert connector.lookup_accounts("username", "nobody") == ()
    assert connector.lookup_accounts("email", "bob@example.com") == ()  # bob's address is at example.net


def test_lookup_is_a_read_without_an_idempotency_key_and_refuses_bad_input(base_url: str, secret: str, clock,  # type: ignore[no-untyped-def]
                                                                           connector: HttpPlatformConnector,
                                                                           controls) -> None:
    with httpx.Client(base_url=base_url, auth=SigningAuth(secret, clock=clock)) as client:
        ok = client.post("/v1/accounts/lookup", json={"kind": "username", "value": "carol"})
        assert ok.status_code == 200 and ok.json()["items"][0]["account_id"] == "acct-1003"
        assert set(ok.json()["items"][0]) == {"account_id", "username", "display_name", "status", "created_at",
                                              "matched_on"}
        for body in ({"kind": "ssn", "value": "123"}, {"kind": "email", "value": "x" * 321}, {"kind": "email"}):
            bad = client.post("/v1/accounts/lookup", json=body)
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request", body
    unsigned = httpx.post(f"{base_url}/v1/accounts/lookup", json={"kind": "username", "value": "carol"})
    assert unsigned.status_code == 401
    assert controls.received_actions() == []  # a lookup is not an action
    with pytest.raises(ValueError):
        connector.lookup_accounts("ssn", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        connector.lookup_accounts("email", " ")
    with pytest.raises(ValueError):
        connector.lookup_accounts("email", "x" * 321)
