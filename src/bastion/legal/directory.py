"""The authorities directory: known agencies, their official email domains and verified phone numbers.

Verification trusts only this directory: a sender's address must be on one of its agency's
domains, and emergency call-backs go to the number kept here, never to one in the request.
Every edit (by hand or by CSV import) is audited with before and after.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal.errors import AgencyNotFound
from bastion.legal.models import Agency

_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
CSV_COLUMNS = ("name", "country", "jurisdiction", "domains", "phone", "phone_source", "notes")

#: Mail services anyone can sign up to. Never an agency's official domain: an address there proves
#: nothing about who holds it, so such officers are approved only after a call-back and by two people.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.in", "yahoo.in", "ymail.com", "rocketmail.com",
    "outlook.com", "hotmail.com", "live.com", "msn.com", "rediffmail.com", "rediff.com", "aol.com", "icloud.com",
    "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.net", "mail.com", "zoho.com",
    "zohomail.in", "yandex.com", "yandex.ru", "tutanota.com", "tuta.io", "fastmail.com", "hushmail.com",
    "inbox.com", "mail.ru", "qq.com", "163.com", "126.com", "sify.com", "indiatimes.com",
})


def is_free_mail(domain: str) -> bool:
    """True for a public mail service's domain (or a subdomain of one)."""
    domain = domain.strip().lower()
    return any(domain == free or domain.endswith("." + free) for free in FREE_MAIL)


def email_domain(address: str) -> str:
    address = address.strip().lower()
    return address.rsplit("@", 1)[1] if "@" in address else ""


def domains_of(agency: Agency) -> list[str]:
    return agency.domains.split()


def domain_matches(domain: str, official: list[str]) -> bool:
    """`domain` is one of the official domains or a subdomain of one (label boundary, not a suffix trick)."""
    domain = domain.lower().strip(".")
    return any(domain == d or domain.endswith("." + d) for d in official)


def phone_digits(phone: str) -> str:
    return re.sub(r"[^\d+]", "", phone)


def list_agencies(session: Session, *, include_inactive: bool = False) -> list[Agency]:
    stmt = select(Agency).order_by(Agency.country, Agency.name)
    if not include_inactive:
        stmt = stmt.where(Agency.active.is_(True))
    return list(session.scalars(stmt))


def get_agency(session: Session, agency_id: int) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"No agency {agency_id} in the directory.")
    return agency


def agencies_for_email(session: Session, address: str) -> list[Agency]:
    """Active agencies whose official domains cover this address."""
    domain = email_domain(address)
    if not domain:
        return []
    return [a for a in list_agencies(session) if domain_matches(domain, domains_of(a))]


def _clean_domains(raw: str | list[str]) -> str:
    parts = raw if isinstance(raw, list) else re.split(r"[\s,;]+", raw)
    domains = []
    for part in parts:
        part = part.strip().lower().lstrip("@").strip(".")
        if not part:
            continue
        if not _DOMAIN.fullmatch(part):
            raise InvalidInput(f"{part!r} is not an email domain (like police.gov.in).")
        if is_free_mail(part):
            raise InvalidInput(f"{part} is a public mail service, not an agency's domain: anyone can have an address "
                               "there. Officers who write from it are approved one by one, after a call-back.")
        domains.append(part)
    if not domains:
        raise InvalidInput("An agency needs at least one official email domain.")
    return " ".join(sorted(set(domains)))


def _dict(agency: Agency) -> dict[str, Any]:
    return {"name": agency.name, "country": agency.country, "jurisdiction": agency.jurisdiction,
            "domains": agency.domains, "phone": agency.phone, "phone_source": agency.phone_source,
            "notes": agency.notes, "active": agency.active}


def set_agency(session: Session, *, name: str, country: str, domains: str | list[str], actor: str, clock: Clock,
               agency_id: int | None = None, jurisdiction: str = "", phone: str = "", phone_source: str = "",
               notes: str = "", active: bool = True, reason: str = "") -> Agency:
    """Add an agency, or change one (by id), audited with before and after."""
    name, country = name.strip(), country.strip().upper()
    if not name or not country:
        raise InvalidInput("An agency needs a name and a country code.")
    if phone and len(re.sub(r"\D", "", phone)) < 6:
        raise InvalidInput(f"{phone!r} is not a phone number.")
    cleaned = _clean_domains(domains)
    if agency_id is None:
        agency = session.scalar(select(Agency).where(Agency.name == name, Agency.country == country))
    else:
        agency = get_agency(session, agency_id)
    before = _dict(agency) if agency is not None else None
    if agency is None:
        agency = Agency(name=name, country=country, updated_at=clock.now(), updated_by=actor)
        session.add(agency)
    agency.name, agency.country, agency.jurisdiction = name, country, jurisdiction.strip().upper()
    agency.domains, agency.phone, agency.phone_source = cleaned, phone.strip(), phone_source.strip()
    agency.notes, agency.active = notes, active
    agency.updated_at, agency.updated_by = clock.now(), actor
    session.flush()
    if before != _dict(agency):
        audit.record(session, actor=actor, action="legal.agency.set", subject=f"legal_agency:{agency.id}",
                     details={"before": before, "after": _dict(agency), "reason": reason}, clock=clock)
    return agency


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def import_csv(session: Session, text: str, *, actor: str, clock: Clock) -> ImportReport:
    """Load agencies from CSV (header: name,country,jurisdiction,domains,phone,phone_source,notes).

    Rows are matched by name and country. Domains within a cell are separated by spaces or
    semicolons. Every bad row is reported by line number; the good rows are kept only if there
    are no bad ones, so a half-imported directory never happens.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"name", "country", "domains"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(f"The CSV needs the columns {', '.join(CSV_COLUMNS)}; missing: {', '.join(sorted(missing))}.")
    rows = list(enumerate(reader, start=2))
    errors = []
    for line, row in rows:  # everything is checked before anything is written
        try:
            if not (row.get("name") or "").strip() or not (row.get("country") or "").strip():
                raise InvalidInput("a name and a country code are needed")
            _clean_domains(row.get("domains") or "")
            phone = (row.get("phone") or "").strip()
            if phone and len(re.sub(r"\D", "", phone)) < 6:
                raise InvalidInput(f"{phone!r} is not a phone number")
        except InvalidInput as exc:
            errors.append(f"line {line}: {exc.message}")
    if errors:
        raise InvalidInput("The directory was not changed. " + " ".join(errors), errors=errors)
    report = ImportReport()
    for _line, row in rows:
        name, country = (row.get("name") or "").strip(), (row.get("country") or "").strip().upper()
        existing = session.scalar(select(Agency).where(Agency.name == name, Agency.country == country))
        before = _dict(existing) if existing is not None else None
        agency = set_agency(session, name=name, country=country, domains=row.get("domains") or "",
                            jurisdiction=row.get("jurisdiction") or "", phone=row.get("phone") or "",
                            phone_source=row.get("phone_source") or "", notes=row.get("notes") or "",
                            actor=actor, clock=clock, reason="CSV import")
        if before is None:
            report.added += 1
        elif before != _dict(agency):
            report.updated += 1
        else:
            report.unchanged += 1
    return report
