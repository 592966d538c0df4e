"""Usernames, emails and phone numbers resolve through the connector to candidates; staff confirm them.

The demo platform answers over real HTTP. An unconfirmed match is never one of the request's accounts."""

from __future__ import annotations

import pytest

from bastion.legal import intake, preservation, resolution
from bastion.legal.errors import WrongState
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import events_of
from bastion.platform import HttpPlatformConnector
from tests.conftest import PLATFORM_SECRET
from tests.legal.conftest import bnss_notice

NAMED = [{"kind": "username", "value": "@Bob"}, {"kind": "email", "value": "ALICE@example.com"},
         {"kind": "phone", "value": "+1 (202) 555-0103"}, {"kind": "username", "value": "nobody-here"}]


def test_identifiers_become_candidates_and_only_confirmed_ones_count(desk, submit, clock, vault,
                                                                     platform_url: str) -> None:
    request = submit(bnss_notice(accounts=NAMED))
    with desk() as session, HttpPlatformConnector(platform_url, PLATFORM_SECRET) as connector:
        legal_request = session.get(LegalRequest, request.id)
        found = resolution.find_candidates(session, legal_request, connector, actor="legal-a", clock=clock)
        session.commit()
        by_value = {intake_row.value: intake_row for intake_row in intake.accounts_of(session, request.id)}
        got = {(by_value_key, c.account_id, c.matched_on)
               for c in found for by_value_key, row in by_value.items() if row.id == c.entry_id}
        assert got == {("@Bob", "acct-1002", "username"), ("ALICE@example.com", "acct-1001", "email"),
                       ("+1 (202) 555-0103", "acct-1003", "phone")}
        assert {c.state for c in found} == {"proposed"} and found[0].username and found[0].display_name
        assert intake.resolved_accounts(session, request.id) == []  # nothing counts before a person confirms
        texts = [e.text for e in events_of(session, request.id) if e.kind == "candidates_found"]
        assert any("nobody-here: no account on the platform matches" in t for t in texts)

        # asking again adds no duplicates
        assert resolution.find_candidates(session, legal_request, connector, actor="legal-a", clock=clock) == []
        bob = next(c for c in found if c.account_id == "acct-1002")
        alice = next(c for c in found if c.account_id == "acct-1001")
        resolution.confirm(session, legal_request, bob.id, actor="legal-b", clock=clock)
        resolution.reject(session, legal_request, alice.id, actor="legal-b", clock=clock)
        session.commit()
        assert intake.resolved_accounts(session, request.id) == ["acct-1002"]
        assert by_value["@Bob"].resolved_by == "legal-b confirmed the platform's match on username"
        assert by_value["ALICE@example.com"].account_id == ""
        with pytest.raises(WrongState, match="already confirmed"):
            resolution.confirm(session, legal_request, bob.id, actor="legal-b", clock=clock)
        kinds = [e.kind for e in events_of(session, request.id)]
        assert "account_confirmed" in kinds and "account_rejected" in kinds

        # a preserved request takes in accounts confirmed later
        preservation.preserve_now(session, legal_request, actor="legal-a", clock=clock, vault=vault)
        carol = next(c for c in found if c.account_id == "acct-1003")
        resolution.confirm(session, legal_request, carol.id, actor="legal-b", clock=clock)
        session.commit()
        assert {p.account_id for p in preservation.preservations_of(session, request.id)} == {"acct-1002",
                                                                                            "acct-1003"}
