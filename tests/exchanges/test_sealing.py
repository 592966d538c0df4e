"""Exchange credentials at rest: ciphertext only, readable with the instance secret alone, redacted from text."""

from __future__ import annotations

import pytest

from bastion.exchanges import sealing


def test_credentials_are_sealed_and_read_back_only_with_the_same_instance_secret() -> None:
    token = sealing.seal({"user": "ops", "password": "sealed-password-1"}, b"instance-a")
    assert "sealed-password-1" not in token and "ops" not in token
    assert sealing.unseal(token, b"instance-a") == {"user": "ops", "password": "sealed-password-1"}
    with pytest.raises(sealing.CredentialsUnreadable, match="BASTION_SECRET_KEY"):
        sealing.unseal(token, b"instance-b")
    assert sealing.seal({}, b"instance-a") == "" and sealing.unseal("", b"instance-a") == {}


def test_redact_removes_every_credential_value_from_a_message() -> None:
    text = "401 for ops with sealed-password-1 (token abcd1234)"
    assert sealing.redact(text, {"user": "ops", "password": "sealed-password-1", "token": "abcd1234"}) == \
        "401 for ops with *** (token ***)"
