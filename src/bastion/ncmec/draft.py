"""Drafting a CyberTipline report from a confirmed case.

The draft is pre-filled from what Bastion already knows, so a reviewer only checks
and completes it: the incident (earliest upload of a confirmed file), the reporter
(organisation settings ``reports.*``), the reported account (through the platform
connector when one is configured: profile, subscriber contact, registration and
login IPs, devices; its absence or failure only leaves those parts out), and one
file per confirmed item (industry classification and annotations from the review,
the original upload's hashes, the upload IP, the bank match).

Nothing here talks to NCMEC or writes to the database.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from bastion.cases.models import Case, CaseItem
from bastion.cases.service import items_of
from bastion.ncmec.model import (
    Details,
    DeviceId,
    Email,
    EventName,
    FileAnnotations,
    FileDetails,
    FileRelevance,
    IncidentSummary,
    IncidentType,
    IndustryClassification,
    InternetDetails,
    IpCaptureEvent,
    MetadataKind,
    NameValuePair,
    OriginalFileHash,
    Person,
    PersonOrUserReported,
    Phone,
    Report,
    Reporter,
    WebPageIncident,
)
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register
from bastion.scanning.models import Scan

log = logging.getLogger(__name__)

register("reports.four_eyes", bool, True,
         "CyberTipline reports need a second reviewer: the approver may be neither the author nor the last editor.")
register("reports.platform_name", str, "",
         "The service named in CyberTipline reports (incident platform, ESP service); empty means org.name.")
register("reports.reporter_first_name", str, "", "Reporting person's first name in CyberTipline reports.")
register("reports.reporter_last_name", str, "", "Reporting person's last name in CyberTipline reports.")
register("reports.reporter_email", str, "",
         "Contact email NCMEC uses for CyberTipline reports; a report needs an email or a phone to be approved.")
register("reports.reporter_phone", str, "", "Contact phone NCMEC uses for CyberTipline reports.")
register("reports.terms_of_service_url", str, "", "Terms of service URL sent with CyberTipline reports.")
register("reports.legal_url", str, "", "Law-enforcement guidelines URL sent with CyberTipline reports (legalURL).")
register("reports.profile_url_template", str, "",
         "Profile URL of a reported account, e.g. https://platform.example/u/{account_id}; empty: none sent.")
register("reports.content_url_template", str, "",
         "URL of a reported upload, e.g. https://platform.example/p/{content_id}; empty: none sent.")
register("reports.stall_warning_minutes", int, 30,
         "Minutes before NCMEC would delete an unfinished report that it is flagged as stalled.")

#: How far back login IPs are taken from the platform, counted from the earliest upload.
LOGIN_WINDOW = timedelta(days=90)
MAX_IP_EVENTS = 50
_LOGIN_EVENTS = {"login": EventName.LOGIN, "registration": EventName.REGISTRATION,
                 "purchase": EventName.PURCHASE, "upload": EventName.UPLOAD}
_PLACEHOLDER_REPORT_ID = 1
_PLACEHOLDER_FILE_ID = "not-yet-uploaded"


@dataclass
class FilePlan:
    """One file of the report: which evidence to upload and how to describe it."""

    case_item_id: int
    scan_id: int | None
    evidence_item_id: int | None
    file_name: str
    content_type: str
    expected_md5: str
    details: dict[str, Any]


@dataclass
class Draft:
    report: Report
    files: list[FilePlan]
    notes: list[str] = field(default_factory=list)


def platform_name(session: Session) -> str:
    return str(get_value(session, "reports.platform_name") or get_value(session, "org.name"))


def _url(template: str, key: str, value: str) -> str | None:
    template = template.strip()
    if not template or not value:
        return None
    return template.replace("{" + key + "}", quote(value, safe=""))


def file_details(details: dict[str, Any], *, report_id: int | None = None, file_id: str | None = None) -> FileDetails:
    """The fileDetails document of a stored file row (placeholders until NCMEC gave the ids)."""
    return FileDetails(report_id=report_id or _PLACEHOLDER_REPORT_ID, file_id=file_id or _PLACEHOLDER_FILE_ID,
                       **details)


def details_json(details: FileDetails) -> str:
    return json.dumps(details.model_dump(mode="json", exclude_none=True, exclude={"report_id", "file_id"}))


def report_json(report: Report) -> str:
    return report.model_dump_json(exclude_none=True)


def load_report(document_json: str) -> Report:
    return Report.model_validate_json(document_json)


def build(session: Session, case: Case, *, vault: Any, connector_factory: Callable[[], Any] | None) -> Draft:
    """The pre-filled report and files for `case` (its confirmed items only)."""
    items = [i for i in items_of(session, case.id) if i.decision == "confirmed"]
    scans = {i.scan_id: session.get(Scan, i.scan_id) for i in items}
    notes: list[str] = []
    account_id = "" if case.account_id.startswith("content:") else case.account_id
    platform = platform_name(session)
    times = [t for t in ((s.uploaded_at or s.created_at) for s in scans.values() if s is not None) if t]
    incident_at = min(times) if times else case.opened_at

    files = [_file_plan(session, case, item, scans.get(item.scan_id), vault, notes) for item in items]
    content_urls = [u for u in (_url(str(get_value(session, "reports.content_url_template")), "content_id",
                                     i.content_id) for i in items) if u]
    reported = _reported(session, account_id, platform, scans, incident_at, connector_factory, notes)
    report = Report(
        incident_summary=IncidentSummary(
            incident_type=IncidentType.CHILD_PORNOGRAPHY,
            platform=platform or None,
            incident_date_time=incident_at,
            incident_date_time_description="Upload time of the earliest reported file",
        ),
        internet_details=[InternetDetails(web_page_incident=WebPageIncident(urls=content_urls))] if content_urls else [],
        reporter=_reporter(session),
        person_or_user_reported=reported,
        additional_info=(f"{len(items)} file(s) matched known material by hash and were confirmed by human review "
                         f"on {platform or 'the platform'} (Bastion case {case.id})."),
    )
    return Draft(report, files, notes)


def _reporter(session: Session) -> Reporter:
    def setting(key: str) -> str | None:
        return str(get_value(session, f"reports.{key}")).strip() or None

    email, phone = setting("reporter_email"), setting("reporter_phone")
    return Reporter(
        reporting_person=Person(first_name=setting("reporter_first_name"), last_name=setting("reporter_last_name"),
                                phones=[Phone(value=phone)] if phone else [],
                                emails=[Email(value=email)] if email else []),
        terms_of_service=setting("terms_of_service_url"),
        legal_url=setting("legal_url"),
    )


def evidence_for(session: Session, case: Case, item: CaseItem, vault: Any) -> Any | None:
    """The media preserved for this case item, else the copy kept at scan time."""
    if vault is None:
        return None
    for kept in reversed(vault.items_about(session, f"case:{case.id}")):
        if kept.kind == "media" and kept.status == "preserved" and json.loads(kept.context_json).get("item") == item.id:
            return kept
    if item.media_ref.startswith("evidence:"):
        try:
            kept = vault.get(session, int(item.media_ref.split(":", 1)[1]))
        except Exception:  # noqa: BLE001 - a dangling reference only means no media
            return None
        return kept if kept.status == "preserved" else None
    return None


def _annotations(text: str) -> tuple[FileAnnotations | None, list[str]]:
    known = {name.replace("_", ""): name for name in FileAnnotations.model_fields}
    flags, unknown = {}, []
    for token in text.split():
        name = known.get(re.sub(r"[^a-z0-9]", "", token.lower()))
        if name:
            flags[name] = True
        else:
            unknown.append(token)
    return (FileAnnotations(**flags) if flags else None), unknown


def _file_plan(session: Session, case: Case, item: CaseItem, scan: Scan | None, vault: Any,
               notes: list[str]) -> FilePlan:
    evidence = evidence_for(session, case, item, vault)
    if evidence is None:
        notes.append(f"Item {item.id} has no preserved media in the evidence vault; it cannot be uploaded.")
    metadata = json.loads(scan.metadata_json) if scan is not None else {}
    extension = (scan.media_format if scan is not None else "").lower() or "bin"
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", item.content_id or f"scan-{item.scan_id}")[:200]
    original = metadata.get("filename") or metadata.get("file_name")
    annotations, unknown = _annotations(item.annotations)
    hashes = []
    if scan is not None:
        hashes = [OriginalFileHash(value=scan.md5, hash_type="MD5"), OriginalFileHash(value=scan.sha1, hash_type="SHA1"),
                  OriginalFileHash(value=scan.sha256, hash_type="SHA256")]
    source = f" ({item.bank_source})" if item.bank_source else ""
    extra = [f"Matched {item.bank_name}{source} entry {item.entry_id}: {item.signal_type} distance {item.distance}."]
    if case.auto_actioned_at is not None:
        extra.append(f"Actioned automatically on an exact hash match (policy {case.auto_policy}) before human review; "
                     f"a reviewer then confirmed it{'' if item.viewed else ' without viewing the file'}.")
    if unknown:
        extra.append("Reviewer annotations: " + " ".join(unknown))
    upload_ip = None
    address = ip_only(scan.client_ip) if scan is not None else None
    if scan is not None and address:
        upload_ip = IpCaptureEvent(ip_address=address, event_name=EventName.UPLOAD,
                                   date_time=scan.uploaded_at or None)
    classification = item.classification if item.classification in IndustryClassification.__members__ else None
    details = FileDetails(
        report_id=_PLACEHOLDER_REPORT_ID, file_id=_PLACEHOLDER_FILE_ID,
        file_name=f"{stem}.{extension}",
        original_file_name=str(original) if original else None,
        uploaded_to_esp_timestamp=scan.uploaded_at if scan is not None else None,
        location_of_file=_url(str(get_value(session, "reports.content_url_template")), "content_id", item.content_id),
        file_viewed_by_esp=item.viewed,
        file_relevance=FileRelevance.REPORTED,
        file_annotations=annotations,
        industry_classification=IndustryClassification(classification) if classification else None,
        original_file_hashes=hashes,
        ip_capture_event=upload_ip,
        details=[Details(kind=MetadataKind.HASH, pairs=[NameValuePair(name="PDQ", value=scan.pdq)])]
        if scan is not None and scan.pdq else [],
        additional_info=extra,
    )
    return FilePlan(
        case_item_id=item.id, scan_id=item.scan_id, evidence_item_id=evidence.id if evidence is not None else None,
        file_name=details.file_name or "file",
        content_type=evidence.content_type if evidence is not None else "application/octet-stream",
        expected_md5=evidence.md5 if evidence is not None else "",
        details=json.loads(details_json(details)),
    )


def ip_only(value: str | None) -> str | None:
    """The IP address in what a platform sent as the client address ("203.0.113.7:51234",
    "[2001:db8::1]:443", " 192.0.2.1 "), or None when there is none: NCMEC takes the address alone."""
    text = (value or "").strip()
    candidates = [text]
    if text.startswith("[") and "]" in text:
        candidates.append(text[1:text.index("]")])
    elif text.count(":") == 1:
        candidates.append(text.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _reported(session: Session, account_id: str, platform: str, scans: dict[int, Scan | None],
              incident_at: datetime, connector_factory: Callable[[], Any] | None,
              notes: list[str]) -> PersonOrUserReported | None:
    """The uploading account: always its id and upload IPs; the rest if the platform can tell."""
    events: list[IpCaptureEvent] = []
    for scan in scans.values():
        address = ip_only(scan.client_ip) if scan is not None else None
        if scan is not None and scan.client_ip and not address:
            notes.append(f"Scan {scan.id}: the upload address {scan.client_ip!r} is not an IP address; left out.")
        if scan is not None and address:
            events.append(IpCaptureEvent(ip_address=address, event_name=EventName.UPLOAD,
                                         date_time=scan.uploaded_at or scan.created_at))
    if not account_id:
        notes.append("The uploads carry no account id: no reported person or user.")
        return None
    fields: dict[str, Any] = {}
    devices: list[DeviceId] = []
    connector = None
    if connector_factory is None:
        notes.append("No platform connector is configured: account details, logins and devices are not included.")
    else:
        try:
            connector = connector_factory()
        except Exception as exc:  # noqa: BLE001 - the draft is still useful without the platform
            notes.append(f"The platform connector could not be created ({type(exc).__name__}).")
    if connector is not None:
        try:
            fields, more_events, devices = _from_platform(connector, account_id, incident_at, notes)
            events.extend(more_events)
        finally:
            close = getattr(connector, "close", None)
            if callable(close):
                close()
    unique: dict[tuple[str, str, str], IpCaptureEvent] = {}
    for event in sorted(events, key=lambda e: e.date_time.timestamp() if e.date_time else 0.0):
        unique.setdefault((event.ip_address, str(event.event_name), str(event.date_time)), event)
    profile = _url(str(get_value(session, "reports.profile_url_template")), "account_id", account_id)
    return PersonOrUserReported(
        esp_identifier=account_id, esp_service=platform or None, profile_urls=[profile] if profile else [],
        ip_capture_events=list(unique.values())[-MAX_IP_EVENTS:], device_ids=devices, **fields,
    )


def _from_platform(connector: Any, account_id: str, incident_at: datetime,
                   notes: list[str]) -> tuple[dict[str, Any], list[IpCaptureEvent], list[DeviceId]]:
    fields: dict[str, Any] = {}
    events: list[IpCaptureEvent] = []
    devices: list[DeviceId] = []

    def ask(what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - PlatformError or transport trouble: leave this part out
            notes.append(f"The platform did not provide {what} ({type(exc).__name__}).")
            log.warning("ncmec draft: platform call failed", extra={"what": what, "error": type(exc).__name__})
            return None

    account = ask("the account", lambda: connector.get_account(account_id))
    if account is not None:
        fields["screen_name"] = account.username
        if account.display_name:
            fields["display_names"] = [account.display_name]
    subscriber = ask("subscriber information", lambda: connector.subscriber_info(account_id))
    if subscriber is not None:
        person = Person(emails=[Email(value=subscriber.email)] if subscriber.email else [],
                        phones=[Phone(value=subscriber.phone)] if subscriber.phone else [])
        if person.emails or person.phones:
            fields["person"] = person
        if subscriber.registration_ip is not None:
            events.append(IpCaptureEvent(ip_address=str(subscriber.registration_ip),
                                         event_name=EventName.REGISTRATION, date_time=subscriber.created_at))
    logins = ask("login IPs", lambda: connector.ip_logins(account_id, since=incident_at - LOGIN_WINDOW))
    for login in logins or ():
        name = _LOGIN_EVENTS.get(login.event.lower())
        if name is not None:  # failed attempts and logouts are left out: they may not be the user
            events.append(IpCaptureEvent(ip_address=str(login.ip), event_name=name, date_time=login.timestamp,
                                         port=login.port))
    for device in ask("devices", lambda: connector.devices(account_id)) or ():
        devices.append(DeviceId(id_type=f"{device.platform} device id", id_value=device.device_id,
                                date_time=device.last_seen_at))
    return fields, events, devices
