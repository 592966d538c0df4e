"""The production download token: mailed to the requester and nowhere else (not in the timeline, not in the
audit log: every text column is searched), stored as a hash, compared in constant time, revocable; and the
tokens earlier versions wrote into the timeline are redacted and revoked by migration 0007_lprod."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import String, Text, create_engine, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bastion import audit
from bastion.db import make_engine, migrate
from bastion.db.base import Base
from bastion.db.engine import normalise_url
from bastion.legal import portal, produce
from bastion.legal.errors import TokenInvalid
from bastion.legal.models import LegalRequest, Production, RequestEvent, Requester
from bastion.mail import mail_for
from bastion.mail.models import MailMessage
from bastion.production import SigningKey
from tests.conftest import PG_ENV
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_certificate import produced


def _tables_holding(session: Session, needle: str, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Every (table.column) whose text contains `needle`, across the whole schema."""
    hits = []
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if columns and session.execute(select(text("1")).select_from(table)
                                       .where(or_(*(c.contains(needle) for c in columns))).limit(1)).first():
            hits.append(table.name)
    return hits


def test_the_token_is_mailed_hashed_and_never_recorded(desk, submit, clock, vault, platform_url, user_factory) -> None:
    key = SigningKey.generate()
    request_id, _, token = produced(desk, submit, clock, vault, platform_url, user_factory,
                                    bnss_notice(accounts=[{"kind": "user_id", "value": "acct-1001"}],
                                                categories=["subscriber"], child_safety=True), [], key,
                                    delivery="portal")
    assert token is not None
    production_id, _, secret = token.partition(".")
    with desk() as session:
        [ready] = [m for m in mail_for(session, f"legal_request:{request_id}") if m.kind == "legal.production_ready"]
        assert f"Download token: {token}" in session.get(MailMessage, ready.id).text_body  # the one place it goes
        for needle in (token, secret, secret[:16]):
            assert _tables_holding(session, needle, skip=("mail_messages",)) == [], needle
        stored = session.get(Production, int(production_id))
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
        [event] = [e for e in session.scalars(select(RequestEvent).where(RequestEvent.request_id == request_id,
                                                                         RequestEvent.kind == "production_ready"))]
        assert "sent by mail" in event.text and event.requester_visible

        request = session.get(LegalRequest, request_id)
        requester = session.get(Requester, request.requester_id)
        for wrong in (f"{production_id}.{secret[:-1]}x", f"{int(production_id) + 1}.{secret}", secret, "", "1."):
            with pytest.raises(TokenInvalid):
                portal.download_production(session, requester, wrong, clock=clock, vault=vault)
        name, reader = portal.download_production(session, requester, token, clock=clock, vault=vault)
        with reader:  # streamed from the vault
            data = reader.read()
        assert name == f"{request.reference}.zip" and data[:2] == b"PK"

        fresh = produce.reissue_token(session, request, int(production_id), actor="legal-a", clock=clock)
        session.commit()
        with pytest.raises(TokenInvalid):
            portal.download_production(session, requester, token, clock=clock, vault=vault)
        with portal.download_production(session, requester, fresh, clock=clock, vault=vault)[1] as again:
            assert again.read() == data
        for needle in (fresh, fresh.partition(".")[2]):
            assert _tables_holding(session, needle, skip=("mail_messages",)) == [], needle
        assert audit.verify(session).ok


# -- migration 0007_lprod: the timeline is redacted, live tokens revoked, the audit log left whole -------------


@pytest.fixture(params=["sqlite", "postgres"])
def at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated only to 0006_merge_legal, the schema before this branch."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'before.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine, "0006_merge_legal")
        engine.dispose()
        yield url
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set")
        pytest.skip(f"{PG_ENV} is not set")
    name = f"bastion_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine, "0006_merge_legal")
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _insert_as_of(session: Session, model: Any, **values: Any) -> None:
    """Insert a row into the table as this older schema has it (the model has columns added since)."""
    reflected = sa.Table(model.__tablename__, sa.MetaData(), autoload_with=session.connection())
    current = model.__table__.c
    row = dict(values)
    for column in reflected.columns:
        default = current[column.name].default if column.name in current else None
        if column.name not in row and not column.primary_key and default is not None and default.is_scalar:
            row[column.name] = default.arg
    session.execute(sa.insert(reflected).values(**row))


def test_migration_redacts_old_tokens_and_revokes_them(at_0006: str, clock: Any) -> None:
    old = "Qm9ndXNfdG9rZW5fZm9yX3Rlc3RzX29ubHlfMTIzNDU2Nzg5MA"
    engine = make_engine(at_0006)
    with Session(engine) as session:  # rows as the earlier version wrote them
        _insert_as_of(session, Requester, email="si.patil@mumbaipolice.gov.in", created_at=clock.now())
        requester_id = session.scalar(select(Requester.id))
        _insert_as_of(session, LegalRequest, reference="LR-2026-00001", status="produced", source="email",
                      jurisdiction="IN", instrument_key="in_bnss_94", received_at=clock.now(),
                      requester_id=requester_id, requester_email="si.patil@mumbaipolice.gov.in", created_by="test",
                      updated_at=clock.now())
        request_id = session.scalar(select(LegalRequest.id))
        mailed = f"The production for LR-2026-00001 is ready in the portal until 2026-01-04 09:00 UTC. Download token: {old}"
        session.add_all([
            RequestEvent(request_id=request_id, at=clock.now(), actor="legal-a", kind="production_ready", text=mailed,
                         details="{}", requester_visible=True),
            RequestEvent(request_id=request_id, at=clock.now(), actor="legal-a", kind="production_ready",
                         text=f"A new download token for LR-2026-00001, valid until 2026-01-05 09:00 UTC: {old}x",
                         details="{}", requester_visible=True),
            Production(request_id=request_id, evidence_id=1, sha256="0" * 64, size=1, delivery="portal",
                       token_hash=hashlib.sha256(old.encode()).hexdigest(), created_at=clock.now(), created_by="x"),
        ])
        audit.record(session, actor="legal-a", action="legal.production_ready", subject="legal_request:1",
                     details={"text": mailed}, clock=clock)
        session.commit()
    migrate.upgrade(engine)
    with Session(engine) as session:
        texts = list(session.scalars(select(RequestEvent.text)))
        assert all(old not in t for t in texts) and all("[redacted]" in t for t in texts)
        assert session.scalar(select(Production.token_hash)) == ""
        result = audit.verify(session)
        assert result.ok, result.reason  # the chain is whole: nothing in it was edited
        from bastion.audit.models import AuditRecord

        actions = list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
        assert actions[-1] == "legal.production.tokens_revoked"
        requester = session.scalar(select(Requester))
        with pytest.raises(TokenInvalid):
            produce.download(session, old, requester=requester, vault=None, clock=clock)
    engine.dispose()
