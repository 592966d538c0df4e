"""The evidence certificate a production carries: the catalogue's form for the request's jurisdiction,
signed by the organisation's real custodian (and expert, where the form has a Part B).

The form (India: BSA 2023 s.63 in the Schedule's form, Part A and Part B; US: FRE 902(11), (13),
(14); elsewhere a general business-records certificate) is a `certificate` rule of the legal
catalogue. Who signs is the organisation's configuration (org settings, audited like every
setting): the custodian's name, designation and address, the expert who signs Part B, and the
system the records come from. Until the custodian's name is configured, the staff member who
builds the package signs; until an expert is configured, Part B prints blank name and
designation lines for the expert to complete by hand, and the package says so on the timeline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.legal import rules
from bastion.legal.models import LegalRequest
from bastion.legal.settings import CUSTODIAN_TITLE
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register

CUSTODIAN_NAME = "legal.custodian_name"
ORGANISATION_ADDRESS = "legal.organisation_address"
EXPERT_NAME = "legal.certificate_expert_name"
EXPERT_TITLE = "legal.certificate_expert_title"
SYSTEM = "legal.certificate_system"
SYSTEM_ID = "legal.certificate_system_id"
PLACE = "legal.certificate_place"

register(CUSTODIAN_NAME, str, "",
         "Name of the custodian of records who signs production certificates (Part A of India's BSA s.63 "
         "certificate). Empty: the staff member who builds the package.")
register(ORGANISATION_ADDRESS, str, "", "Postal address of the organisation, printed on production certificates.")
register(EXPERT_NAME, str, "",
         "Name of the expert who signs Part B of India's BSA s.63 certificate (e.g. the head of infrastructure "
         "security). Empty: Part B is left for the expert to complete by hand.")
register(EXPERT_TITLE, str, "", "Designation of the expert who signs Part B of India's BSA s.63 certificate.")
register(SYSTEM, str, "the platform's production servers and cloud storage (databases and media store)",
         "The computer system the produced records come from, as production certificates identify it.")
register(SYSTEM_ID, str, "",
         "An identifier of that system for production certificates (cloud account or project id, server names).")
register(PLACE, str, "", "Place where production certificates are signed (city).")


def form_for(session: Session, jurisdiction: str) -> Any:
    """The catalogue's certificate form for a jurisdiction, as `bastion.production.CertificateForm`."""
    from bastion.production import CertificateForm

    row = rules.certificate_rule(session, jurisdiction)
    return CertificateForm.from_catalogue(row.key, row.citation, row.as_of, rules.body_of(row))


def certificate_for(session: Session, request: LegalRequest, *, actor: str, clock: Clock) -> Any:
    """The `CertificateInfo` of a production for this request: form, custodian, expert, system."""
    return certificate_for_jurisdiction(session, request.jurisdiction, actor=actor, clock=clock)


def certificate_for_jurisdiction(session: Session, jurisdiction: str, *, actor: str, clock: Clock) -> Any:
    """The `CertificateInfo` for records given to an authority of `jurisdiction` (its catalogue form)."""
    from bastion.production import CertificateInfo

    def setting(key: str) -> str:
        return str(get_value(session, key)).strip()

    return CertificateInfo(
        custodian_name=setting(CUSTODIAN_NAME) or actor, custodian_title=setting(CUSTODIAN_TITLE),
        organisation=str(get_value(session, "org.name")), statement_date=clock.now().date(),
        organisation_address=setting(ORGANISATION_ADDRESS), place=setting(PLACE),
        form=form_for(session, jurisdiction), expert_name=setting(EXPERT_NAME),
        expert_title=setting(EXPERT_TITLE), system=setting(SYSTEM), system_id=setting(SYSTEM_ID),
    )


def gaps(certificate: Any) -> list[str]:
    """What a person must still complete by hand on this certificate (said on the timeline when it is built)."""
    missing = []
    form = certificate.form
    if form is not None and any(p.signatory == "expert" for p in form.parts) and not certificate.expert_name:
        missing.append(f"the expert's name and designation ({EXPERT_NAME}, {EXPERT_TITLE})")
    if not certificate.place:
        missing.append(f"the place of signing ({PLACE})")
    if not certificate.system_id and form is not None and form.device_fields:
        missing.append(f"the system's identifier ({SYSTEM_ID})")
    return missing
