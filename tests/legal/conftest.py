"""Legal desk fixtures: a vault, the catalogue (PostgreSQL tests truncate it), a directory, and a request builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.evidence import FsspecBlobStore, MasterKey, Vault
from bastion.legal import catalogue, directory, intake
from bastion.legal.models import LegalRequest
from bastion.legal.schemas import RequestInput

#: A minimal signed "PDF": the desk checks the type, not the law in it.
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
MUMBAI = {"name": "Mumbai Police Cyber Cell", "country": "IN", "jurisdiction": "IN",
          "domains": "mumbaipolice.gov.in", "phone": "+91 22 5550 0100", "phone_source": "state police website, 2025"}
FBI = {"name": "FBI Field Office (demo)", "country": "US", "jurisdiction": "US", "domains": "ic.fbi.gov",
       "phone": "+1 202 555 0199", "phone_source": "agency switchboard, verified by phone"}


@pytest.fixture
def vault(tmp_path: Path, clock: ManualClock) -> Vault:
    return Vault(FsspecBlobStore(str(tmp_path / "legal-vault")), MasterKey.generate(), clock)


@pytest.fixture
def desk(sessions: sessionmaker[Session], clock: ManualClock) -> sessionmaker[Session]:
    """The catalogue installed (a no-op after migrations) and two agencies in the directory."""
    with sessions() as session:
        catalogue.install_catalogue(session, actor="test", clock=clock)
        for agency in (MUMBAI, FBI):
            directory.set_agency(session, actor="test", clock=clock, **agency)
        session.commit()
    return sessions


def bnss_notice(**overrides: Any) -> RequestInput:
    """A complete BNSS s.94 notice under an FIR for demo posts (accounts, links, locations, server details)."""
    fields: dict[str, Any] = {
        "instrument": "in_bnss_94", "source": "email", "requester_email": "si.patil@mumbaipolice.gov.in",
        "requester_phone": "+91 22 5550 0123", "issuing_authority": "Mumbai Police Cyber Cell",
        "issuing_officer": "SI A. Patil", "case_number": "FIR 112/2026, Cyber PS Mumbai",
        "due_date": date(2026, 1, 20),
        "accounts": [{"kind": "url", "value": "https://demo.example/posts/post-2001"},
                     {"kind": "url", "value": "https://demo.example/posts/post-2002"}],
        "categories": ["subscriber", "content", "location", "hosting"],
        "date_from": date(2024, 2, 1), "date_to": date(2024, 3, 31),
    }
    fields.update(overrides)
    return RequestInput(**fields)


SubmitFn = Callable[..., LegalRequest]


@pytest.fixture
def submit(desk: sessionmaker[Session], clock: ManualClock, vault: Vault) -> SubmitFn:
    """Submit a request (with the signed PDF unless told otherwise) and commit; returns the request id holder."""

    def run(data: RequestInput, *, document: bytes | None = PDF, session: Session | None = None) -> LegalRequest:
        own = session is None
        session = session or desk()
        try:
            request = intake.submit(session, data, actor="intake-clerk", clock=clock, vault=vault,
                                    document=("notice.pdf", document) if document is not None else None)
            session.commit()
            return request
        finally:
            if own:
                session.close()

    return run
