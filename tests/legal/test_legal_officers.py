"""Officer accounts: registered disabled, approved by legal staff only once the address is confirmed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.legal import officers, portal
from bastion.mail.models import MailMessage


def test_register_confirm_approve(desk: sessionmaker[Session], clock: ManualClock) -> None:
    with desk() as db:
        user = officers.register(db, name="SI A. Patil", email=" SI.Patil@MumbaiPolice.gov.in ",
                                 phone="+91 22 5550 0123", password="a long enough passphrase 42",
                                 clock=clock, base_url="https://bastion.example")
        db.commit()
        assert user is not None and user.disabled and user.role == Role.OFFICER.value
        assert user.username == "si.patil@mumbaipolice.gov.in"
        with pytest.raises(InvalidInput, match="confirmed their address"):
            officers.approve_officer(db, user.id, actor="legal:lee", clock=clock)
        db.rollback()
        mail = db.scalars(select(MailMessage).where(MailMessage.kind == "legal.officer_confirm")).one()
        token = re.search(r"token=([\w-]+)", mail.text_body)
        assert token is not None and mail.to_addrs == ["si.patil@mumbaipolice.gov.in"]
        portal.confirm_email(db, token.group(1), clock=clock)
        officers.approve_officer(db, user.id, actor="legal:lee", clock=clock)
        db.commit()
        assert not user.disabled
        assert [(u.id, r.email) for u, r in officers.list_officers(db)] == [(user.id, "si.patil@mumbaipolice.gov.in")]
        told = db.scalars(select(MailMessage).where(MailMessage.kind == "legal.officer_approved")).one()
        assert told.to_addrs == ["si.patil@mumbaipolice.gov.in"]  # the officer is told by mail
        approval = db.scalars(select(AuditRecord).where(AuditRecord.action == "legal.officer.approve")).one()
        assert approval.actor == "legal:lee" and approval.subject == f"user:{user.id}"


def test_only_officers_are_approved(desk: sessionmaker[Session], clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = user_factory(Role.REVIEWER)
    with desk() as db, pytest.raises(Exception, match="not registered as an officer"):
        officers.approve_officer(db, reviewer.id, actor="legal:lee", clock=clock)
