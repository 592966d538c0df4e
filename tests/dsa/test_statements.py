"""Statements of reasons in the Transparency Database's fields: built, checked, held, refused."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bastion.clock import ManualClock
from bastion.dsa import schema
from bastion.dsa.build import check, record, record_new, statement_for
from bastion.dsa.models import DsaStatement
from bastion.errors import InvalidInput
from bastion.orgsettings import set_value
from tests.dsa.seed import enforced_case, notice_for


def test_a_csam_removal_and_suspension_in_the_apis_enumerations(db: Session, clock: ManualClock) -> None:
    case = enforced_case(db, clock, posts=2)
    notice = notice_for(db, clock, case)
    payload = statement_for(db, notice)
    assert schema.validate(payload) == {}
    assert payload["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert payload["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert "decision_provision" not in payload
    assert payload["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert payload["illegal_content_legal_ground"] == notice.facts["ground"]
    assert payload["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert payload["category_specification"] == ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"]
    assert payload["content_type"] == ["CONTENT_TYPE_IMAGE"]
    assert payload["territorial_scope"] == list(schema.EEA_COUNTRIES) and len(payload["territorial_scope"]) == 30
    assert payload["content_date"] == "2025-12-30" and payload["application_date"] == "2026-01-01"
    assert payload["automated_detection"] == "Yes"
    assert payload["automated_decision"] == "AUTOMATED_DECISION_FULLY"  # no person decided the items
    assert payload["source_type"] == "SOURCE_VOLUNTARY"
    assert payload["puid"] == f"bastion-{notice.reference}"
    assert payload["decision_facts"] == notice.facts["facts"]
    text = repr(payload)
    assert case.account_id not in text and f"post-{case.id}-0" not in text  # no personal data (Art. 24(5))


def test_a_limited_account_under_the_terms_is_a_partial_suspension(db: Session, clock: ManualClock,
                                                                     user_factory) -> None:  # type: ignore[no-untyped-def]
    from bastion.auth.roles import Role

    reviewer = user_factory(Role.REVIEWER)
    case = enforced_case(db, clock, classification="", restrict="limit", decided_by=reviewer.id)
    payload = statement_for(db, notice_for(db, clock, case))
    assert schema.validate(payload) == {}
    assert payload["decision_provision"] == "DECISION_PROVISION_PARTIAL_SUSPENSION"
    assert "decision_account" not in payload
    assert payload["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert payload["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert payload["incompatible_content_ground"] and payload["incompatible_content_explanation"]
    assert payload["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"  # a person confirmed the match


def test_an_invalid_statement_is_refused_locally_saying_what_to_fix(db: Session, clock: ManualClock) -> None:
    payload = statement_for(db, notice_for(db, clock, enforced_case(db, clock)))
    payload["category"] = "STATEMENT_CATEGORY_CHILD_SAFETY"  # a v1 value the API no longer takes
    del payload["decision_facts"]
    with pytest.raises(InvalidInput) as refused:
        check(payload, what="Statement X")
    message = str(refused.value)
    assert "category: The selected category is invalid." in message
    assert "decision_facts: The decision facts field is required." in message
    assert message.startswith("Statement X would be refused by the DSA Transparency Database; fix:")


def test_a_misconfigured_puid_prefix_leaves_the_statement_refused_with_the_fix(db: Session,
                                                                                clock: ManualClock) -> None:
    set_value(db, "dsa.puid_prefix", "our platform", actor="admin", clock=clock)
    row = record(db, notice_for(db, clock, enforced_case(db, clock)), clock)
    assert row.status == "refused" and row.next_attempt_at is None
    assert "puid: The puid format is invalid" in row.last_error and "only a-z, A-Z, 0-9, '-' and '_'" in row.last_error


def test_only_eu_notices_are_recorded_once_and_a_legal_bar_holds_them(db: Session, clock: ManualClock) -> None:
    notice_for(db, clock, enforced_case(db, clock, account="in-user"), jurisdiction="IN")
    sent = notice_for(db, clock, enforced_case(db, clock, account="eu-1"))
    barred = notice_for(db, clock, enforced_case(db, clock, account="eu-2"),
                        withheld="Non-disclosure order on legal request LR-2026-000001.")
    policy = notice_for(db, clock, enforced_case(db, clock, account="eu-3"),
                        withheld="Policy: accounts actioned for child sexual abuse material are not notified "
                                 "(notices.withhold_csam).")
    rows = {r.notice_id: r for r in record_new(db, clock)}
    assert set(rows) == {sent.id, barred.id, policy.id}
    assert rows[sent.id].status == "pending" and rows[policy.id].status == "pending"
    assert rows[barred.id].status == "held" and "Non-disclosure order" in rows[barred.id].held_reason
    assert record_new(db, clock) == []  # once per notice
    assert db.query(DsaStatement).count() == 3


def test_a_case_has_one_statement_reference_and_a_second_statement_cannot_be_written(db: Session,
                                                                                      clock: ManualClock) -> None:
    """The reference comes from the case, not from a count two workers could read at once."""
    from sqlalchemy.exc import IntegrityError

    from bastion.notices import statements

    first, second = enforced_case(db, clock, account="acct-a"), enforced_case(db, clock, account="acct-b")
    assert statements.reference_for(first) != statements.reference_for(second)
    record_a = notice_for(db, clock, first)
    assert record_a.reference == f"SOR-{first.opened_at:%Y}-{first.id:06d}"
    db.commit()
    with pytest.raises(IntegrityError):  # a racing second writer for the same case is refused by the database
        notice_for(db, clock, first)
    db.rollback()
