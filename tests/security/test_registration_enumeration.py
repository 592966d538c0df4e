"""Officer registration neither tells a stranger who has an account or which domains we know, nor sends
unlimited mail: the page answers the same for every address, the owner of a known address is told by
mail instead, and registrations are rationed per address and per client address."""

from __future__ import annotations

import re

from sqlalchemy import select

from bastion.legal import directory
from bastion.mail.models import MailMessage
from tests.legal.conftest import MUMBAI
from tests.security.conftest import form_token


def _register(http, email: str) -> object:  # type: ignore[no-untyped-def]
    page = http.get("/portal/register")
    return http.post("/portal/register", data={"csrf_token": form_token(page.text), "name": "An Officer",
                                               "email": email, "phone": "+91 22 5550 0199",
                                               "password": "a long enough passphrase 42"})


def test_the_answer_is_the_same_for_new_known_and_unknown_addresses(live, sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        directory.set_agency(session, actor="test", clock=live.clock, **MUMBAI)
        session.commit()
    first = _register(live.client("203.0.113.5"), "si.patil@mumbaipolice.gov.in")
    again = _register(live.client("203.0.113.6"), "si.patil@mumbaipolice.gov.in")
    stranger = _register(live.client("203.0.113.7"), "someone@free-mail.example")

    def visible(response) -> str:  # type: ignore[no-untyped-def]
        """The page without the address typed in and the per-client CSRF token."""
        text = response.text.replace("si.patil@mumbaipolice.gov.in", "X").replace("someone@free-mail.example", "X")
        return re.sub(r'(csrf[^"]*"\s*[:=]\s*"|value=")[\w-]{20,}"', r"\1T\"", text, flags=re.I)

    assert first.status_code == again.status_code == stranger.status_code == 200  # type: ignore[attr-defined]
    assert visible(first) == visible(again) == visible(stranger)
    assert "directory" not in visible(stranger) and "already" not in visible(again)
    with sessions() as session:
        kinds = [(m.to_addrs[0], m.kind) for m in session.scalars(select(MailMessage).order_by(MailMessage.id))]
    assert ("si.patil@mumbaipolice.gov.in", "legal.officer_confirm") in kinds
    assert ("si.patil@mumbaipolice.gov.in", "legal.officer_exists") in kinds  # the owner learns of the attempt


def test_registrations_are_rationed_per_address_and_per_client(live) -> None:  # type: ignore[no-untyped-def]
    http = live.client("203.0.113.20")
    answers = [_register(http, f"officer{n}@example.org").status_code for n in range(12)]  # type: ignore[attr-defined]
    assert 429 in answers and answers[0] == 200
    refused = _register(http, "officer99@example.org")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    same_address = [_register(live.client(f"203.0.113.{30 + n}"), "target@example.org").status_code  # type: ignore[attr-defined]
                    for n in range(4)]
    assert same_address[0] == 200 and 429 in same_address  # one address cannot be mail-bombed from many clients
