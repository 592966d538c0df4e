"""Which authorities a confirmed case must be reported to, and the packages for those without an API.

India's POCSO Rules 2020, rule 11, oblige an intermediary that learns of child sexual abuse
material to report it to the police (or the National Cyber Crime Reporting Portal), to hand over
the material and the source it may have come from, and to include the device it was noticed on,
the suspected device it came from, and the platform where it was displayed. That is what the
package holds: the material from the vault, the uploading account with its IP logs and devices
(through the platform connector), the URLs, and the hosting details. It is signed in the same
format as law-enforcement productions (so `bastion production verify` checks it), carries the
evidence certificate of the destination's jurisdiction (BSA s.63 for India) and a cover letter.

A destination gets only the datasets its entry lists (a hotline gets URLs, not account data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.authorities import JURISDICTIONS
from bastion.authorities.letter import cover_letter
from bastion.authorities.models import AuthorityReport
from bastion.cases.models import Case, CaseItem
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound
from bastion.orgsettings import get_value

REPORTABLE = ("confirmed", "actioned", "closed")
STATUSES = ("built", "delivered", "acknowledged")


@dataclass(frozen=True)
class Destination:
    key: str
    jurisdiction: str
    title: str
    recipient: str
    who: str
    contents: tuple[str, ...]
    deadline: str
    channel: str
    citation: str
    handled_by: str  # "ncmec" (the CyberTipline workflow) or "package"
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class Duty:
    """One destination a case must reach, and how far it got."""

    destination: Destination
    done: bool
    status: str
    report: AuthorityReport | None


@lru_cache(maxsize=1)
def registry() -> dict[str, Destination]:
    raw = json.loads(resources.files("bastion.authorities").joinpath("destinations.json").read_text("utf-8"))
    return {e["key"]: Destination(key=e["key"], jurisdiction=e["jurisdiction"], title=e["title"],
                                  recipient=e["recipient"], who=e["who"], contents=tuple(e["contents"]),
                                  deadline=e["deadline"], channel=e["channel"], citation=e["citation"],
                                  handled_by=e["handled_by"], datasets=tuple(e["datasets"]))
            for e in raw["destinations"]}


def destination(key: str) -> Destination:
    found = registry().get(key)
    if found is None:
        raise InvalidInput(f"No reporting destination {key!r}; known: {', '.join(registry())}.")
    return found


def required(session: Session) -> list[Destination]:
    """The destinations of the jurisdictions whose duties the platform carries (`reports.jurisdictions`)."""
    codes = str(get_value(session, JURISDICTIONS)).upper().split()
    return [d for d in registry().values() if d.jurisdiction in codes]


def reports_of(session: Session, case_id: int) -> list[AuthorityReport]:
    return list(session.scalars(select(AuthorityReport).where(AuthorityReport.case_id == case_id)
                                .order_by(AuthorityReport.id)))


def duties(session: Session, case: Case) -> list[Duty]:
    """Every destination the case's jurisdictions require, and whether each is done."""
    from bastion.ncmec.tables import NcmecReport

    mine = reports_of(session, case.id)
    out = []
    for dest in required(session):
        if dest.handled_by == "ncmec":
            states = [r.state for r in session.scalars(select(NcmecReport).where(NcmecReport.case_id == case.id))]
            done = "finished" in states
            out.append(Duty(dest, done, "filed" if done else (states[-1] if states else "not started"), None))
            continue
        latest = next((r for r in reversed(mine) if r.destination == dest.key), None)
        status = latest.status if latest else "not started"
        out.append(Duty(dest, status in ("delivered", "acknowledged"), status, latest))
    return out


def _confirmed_items(session: Session, case: Case) -> list[CaseItem]:
    if case.status not in REPORTABLE:
        raise InvalidInput(f"Case {case.id} is {case.status}; only a confirmed case is reported to authorities.")
    items = list(session.scalars(select(CaseItem).where(CaseItem.case_id == case.id,
                                                        CaseItem.decision == "confirmed").order_by(CaseItem.id)))
    if not items:
        raise InvalidInput(f"Case {case.id} has no confirmed item to report.")
    return items


def _gather(session: Session, case: Case, items: list[CaseItem], wanted: tuple[str, ...], *, connector: Any,
            vault: Any, actor: str, reason: str) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[str, bytes]]]:
    """The datasets (and the material's files) a destination is to receive."""
    from bastion.ncmec.draft import evidence_for, ip_only
    from bastion.scanning.models import Scan

    datasets: dict[str, list[dict[str, Any]]] = {name: [] for name in wanted}
    files: list[tuple[str, bytes]] = []
    scans = {s.id: s for s in session.scalars(select(Scan).where(Scan.id.in_([i.scan_id for i in items])))}
    account = case.account_id
    for item in items:
        scan = scans.get(item.scan_id)
        if "material" in wanted:
            kept = evidence_for(session, case, item, vault)
            record: dict[str, Any] = {"item": item.id, "content_id": item.content_id, "matched": item.bank_name,
                                      "classification": item.classification or case.classification}
            if kept is not None:
                blob = vault.export(session, kept.id, actor=actor, reason=reason, destination=reason)
                name = f"material/item-{item.id}.bin"
                files.append((name, blob.data))
                record.update(file=name, sha256=kept.sha256, evidence=kept.id)
            datasets["material"].append(record)
        if "urls" in wanted:
            url = (scan.url if scan is not None else "") or ""
            if not url and item.content_id:
                url = connector.get_content(item.content_id).media_url or "" if connector is not None else ""
            datasets["urls"].append({"content_id": item.content_id, "url": url,
                                     "uploaded_at": scan.uploaded_at.isoformat() if scan and scan.uploaded_at else None,
                                     "upload_ip": ip_only(scan.client_ip) if scan is not None else None})
        if "hosting" in wanted and item.content_id and connector is not None:
            datasets["hosting"].append(connector.hosting_details(item.content_id).model_dump(mode="json"))
    if connector is not None and account:
        if "account" in wanted:
            datasets["account"].append(connector.subscriber_info(account).model_dump(mode="json"))
        if "ip_logins" in wanted:
            datasets["ip_logins"] = [{"ip": str(e.ip), "port": e.port, "timestamp": e.timestamp.isoformat(),
                                      "event": e.event} for e in connector.ip_logins(account)]
        if "devices" in wanted:
            datasets["devices"] = [d.model_dump(mode="json") for d in connector.devices(account)]
    elif set(wanted) & {"account", "ip_logins", "devices", "hosting"}:
        raise InvalidInput("The platform connector is needed to collect the account, its IP logs and devices, and "
                           "the hosting details (set BASTION_PLATFORM_URL and BASTION_PLATFORM_SECRET).")
    return datasets, files


def build(session: Session, case_id: int, destination_key: str, *, connector: Any, vault: Any, signing_key: Any,
          actor: str, clock: Clock) -> AuthorityReport:
    """Build, sign and keep the package for `destination_key` from the confirmed case (audited)."""
    from bastion.legal.certificates import certificate_for_jurisdiction
    from bastion.production import build_package

    dest = destination(destination_key)
    if dest.handled_by != "package":
        raise InvalidInput(f"{dest.title} is reached through its own workflow (the CyberTipline reports), not a "
                           "package.")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    if vault is None or signing_key is None:
        raise InvalidInput("The evidence vault and the production signing key are needed to build the package.")
    items = _confirmed_items(session, case)
    reference = f"{dest.key.upper()}-CASE-{case.id}-{clock.now():%Y%m%d%H%M}"
    reason = f"report to {dest.recipient} ({dest.citation}), case {case.id}"
    datasets, files = _gather(session, case, items, dest.datasets, connector=connector, vault=vault, actor=actor,
                              reason=reason)
    organisation = str(get_value(session, "org.name"))
    certificate = certificate_for_jurisdiction(session, dest.jurisdiction, actor=actor, clock=clock)
    letter = cover_letter(
        organisation=organisation, recipient=dest.recipient, subject=f"{dest.title}: case {case.id}",
        reference=reference, citation=dest.citation, contents=dest.contents,
        paragraphs=[f"{organisation} reports child sexual abuse material found on its service, as {dest.who} "
                    f"must ({dest.deadline}).",
                    f"{len(items)} item(s) were confirmed by its reviewers; the account that uploaded them is "
                    f"{case.account_id or 'not known'}."],
        signatory=certificate.custodian_name, title=certificate.custodian_title, written_at=clock.now())
    summary = {"reference": reference, "destination": dest.key, "recipient": dest.recipient,
               "citation": dest.citation, "case": case.id, "platform": organisation}
    scope = {"categories": list(dest.datasets), "case": case.id, "items": [i.id for i in items],
             "accounts": [case.account_id] if case.account_id else []}
    data = build_package(summary, scope, datasets, [("cover-letter.pdf", letter), *files], signing_key, certificate,
                         clock=clock)
    kept = vault.preserve(session, data, kind="other", subject=f"case:{case.id}", actor=actor,
                          reason=f"package for {dest.title}", context={"destination": dest.key, "case": case.id},
                          metadata={"filename": f"{reference}.zip", "builder": f"key {signing_key.key_id}"})
    report = AuthorityReport(case_id=case.id, destination=dest.key, status="built", evidence_id=kept.id,
                             sha256=kept.sha256, size=kept.size, built_at=clock.now(), built_by=actor)
    session.add(report)
    session.flush()
    case_event(session, case, actor, "authority_report_built", clock,
               details={"report": report.id, "destination": dest.key, "sha256": kept.sha256})
    audit.record(session, actor=actor, action="authorities.report.build", subject=f"case:{case.id}", clock=clock,
                 details={"report": report.id, "destination": dest.key, "sha256": kept.sha256,
                          "datasets": list(dest.datasets)})
    return report


def get(session: Session, case_id: int, report_id: int) -> AuthorityReport:
    report = session.get(AuthorityReport, report_id)
    if report is None or report.case_id != case_id:
        raise NotFound(f"No report {report_id} on case {case_id}.")
    return report


def record_delivery(session: Session, report: AuthorityReport, *, channel: str, reference: str, actor: str,
                    clock: Clock) -> None:
    """Say how and when the package reached the authority (portal upload, letter, by hand)."""
    if not channel.strip():
        raise InvalidInput("Say how the package was delivered (e.g. 'cybercrime.gov.in upload', 'by hand to SJPU').")
    report.status, report.channel, report.delivery_reference = "delivered", channel.strip()[:100], reference.strip()
    report.delivered_at, report.delivered_by = clock.now(), actor
    audit.record(session, actor=actor, action="authorities.report.deliver", subject=f"case:{report.case_id}",
                 clock=clock, details={"report": report.id, "channel": report.channel, "reference": reference.strip()})


def record_acknowledgement(session: Session, report: AuthorityReport, *, number: str, actor: str, clock: Clock) -> None:
    """The authority's receipt (an acknowledgement or complaint number)."""
    if report.status == "built":
        raise InvalidInput("Record the delivery first: an acknowledgement answers a delivered report.")
    if not number.strip():
        raise InvalidInput("Give the acknowledgement number the authority issued.")
    report.status, report.acknowledgement, report.acknowledged_at = "acknowledged", number.strip()[:200], clock.now()
    audit.record(session, actor=actor, action="authorities.report.acknowledge", subject=f"case:{report.case_id}",
                 clock=clock, details={"report": report.id, "acknowledgement": report.acknowledgement})


def package(session: Session, report: AuthorityReport, *, vault: Any, actor: str) -> tuple[str, bytes]:
    """The signed package, read from the vault (the read is in the item's custody)."""
    data = vault.open(session, report.evidence_id, actor=actor, reason=f"authority report {report.id} download")
    return f"{report.destination}-case-{report.case_id}-{report.id}.zip", data
