"""Pydantic models of the CyberTipline ``report`` and ``fileDetails`` documents.

The models mirror the XSD section by section, and **field declaration order is
the schema's element order**: :mod:`bastion.ncmec.xml` renders fields in the
order they are declared here, so reordering fields changes the XML. Python
names are snake_case (plural for repeated elements); the XML name is the
field's alias.

The models check types and cheap invariants. Enumerations that are long or
volatile (country and state codes) and all structure are left to the XSD,
which every rendered document must pass before it leaves the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "AccountPermanentlyDisabled",
    "AccountTemporarilyDisabled",
    "Address",
    "AddressKind",
    "AssociatedAccount",
    "AssociatedAccountKind",
    "BatchedReport",
    "BatchedReportReason",
    "CellPhoneIncident",
    "ChatImIncident",
    "ContactPerson",
    "Details",
    "DeviceId",
    "Email",
    "EmailIncident",
    "EmailKind",
    "EstimatedLocation",
    "EventName",
    "FileAnnotations",
    "FileDetails",
    "FileRelevance",
    "IncidentSummary",
    "IncidentType",
    "IndustryClassification",
    "IntendedRecipient",
    "InternetDetails",
    "IpCaptureEvent",
    "LawEnforcement",
    "MetadataKind",
    "NameValuePair",
    "NewsgroupIncident",
    "NonInternetIncident",
    "OnlineGamingIncident",
    "OriginalFileHash",
    "Peer2PeerIncident",
    "Person",
    "PersonOrUserReported",
    "Phone",
    "PhoneKind",
    "Platform",
    "Report",
    "ReportAnnotations",
    "Reporter",
    "SchemaNode",
    "ServedLegalProcessInternational",
    "Victim",
    "WebPageIncident",
    "XmlAttr",
]


# -- rendering markers ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XmlAttr:
    """Marks a field rendered as an XML attribute called ``name``."""

    name: str


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Marks the field holding an element's text content (simpleContent types).
XML_TEXT = _Marker("XML_TEXT")
#: Marks a presence flag: True renders an empty element, False renders nothing.
XML_FLAG = _Marker("XML_FLAG")

Flag = Annotated[bool, XML_FLAG]


def _many(alias: str) -> Any:
    """A repeated element: a list field whose XML name is the singular ``alias``."""
    return Field(default_factory=list, alias=alias)


class SchemaNode(BaseModel):
    """Base of every schema section: camelCase XML names, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        validate_assignment=True,
    )


# -- enumerations ----------------------------------------------------------------


class IncidentType(StrEnum):
    """``incidentType`` values."""

    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"


class EventName(StrEnum):
    """The action during which an IP address or device id was captured."""

    LOGIN = "Login"
    REGISTRATION = "Registration"
    PURCHASE = "Purchase"
    UPLOAD = "Upload"
    OTHER = "Other"
    UNKNOWN = "Unknown"


class FileRelevance(StrEnum):
    REPORTED = "Reported"
    SUPPLEMENTAL_REPORTED = "Supplemental Reported"


class IndustryClassification(StrEnum):
    """Industry scale: letter = apparent age group (A younger), digit = content rank."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


class MetadataKind(StrEnum):
    EXIF = "EXIF"
    HASH = "HASH"


class BatchedReportReason(StrEnum):
    VIRAL_POTENTIAL_MEME = "VIRAL_POTENTIAL_MEME"


class AddressKind(StrEnum):
    HOME = "Home"
    BUSINESS = "Business"
    BILLING = "Billing"
    SHIPPING = "Shipping"
    TECHNICAL = "Technical"


class EmailKind(StrEnum):
    HOME = "Home"
    WORK = "Work"
    BUSINESS = "Business"
    RECOVERY = "Recovery"


class PhoneKind(StrEnum):
    MOBILE = "Mobile"
    HOME = "Home"
    BUSINESS = "Business"
    WORK = "Work"
    FAX = "Fax"
    INTERNET = "Internet"
    RECOVERY = "Recovery"


class AssociatedAccountKind(StrEnum):
    BILLING = "Billing"
    LINKED = "Linked"
    BUSINESS = "Business"
    CREATOR = "Creator"
    PARENT_GUARDIAN = "Parent/Guardian"
    OTHER = "Other"


# -- shared building blocks --------------------------------------------------------


class Email(SchemaNode):
    value: Annotated[str, XML_TEXT]
    kind: Annotated[EmailKind | None, XmlAttr("type")] = None
    verified: Annotated[bool | None, XmlAttr("verified")] = None
    verification_date: Annotated[AwareDatetime | None, XmlAttr("verificationDate")] = None


class Phone(SchemaNode):
    value: Annotated[str, XML_TEXT]
    kind: Annotated[PhoneKind | None, XmlAttr("type")] = None
    verified: Annotated[bool | None, XmlAttr("verified")] = None
    verification_date: Annotated[AwareDatetime | None, XmlAttr("verificationDate")] = None
    country_calling_code: Annotated[str | None, XmlAttr("countryCallingCode")] = None
    extension: Annotated[str | None, XmlAttr("extension")] = None


class Address(SchemaNode):
    address: str | None = None
    city: str | None = None
    zip_code: str | None = None
    state: str | None = Field(None, description="Two-letter US state/territory code (XSD-enforced).")
    non_usa_state: str | None = None
    country: str | None = Field(None, description="ISO 3166 alpha-2 code (XSD-enforced).")
    kind: Annotated[AddressKind | None, XmlAttr("type")] = None


class ContactPerson(SchemaNode):
    first_name: str | None = None
    last_name: str | None = None
    phones: list[Phone] = _many("phone")
    emails: list[Email] = _many("email")
    addresses: list[Address] = _many("address")


class Person(ContactPerson):
    """A contact person plus age data; inherits fields so the order stays the schema's."""

    age: int | None = Field(None, ge=0)
    date_of_birth: date | None = None


class IpCaptureEvent(SchemaNode):
    ip_address: str
    event_name: EventName | None = None
    date_time: AwareDatetime | None = None
    possible_proxy: bool | None = None
    port: int | None = Field(None, ge=0, le=65535)


class DeviceId(SchemaNode):
    id_type: str
    id_value: str
    event_name: EventName | None = None
    date_time: AwareDatetime | None = None


class EstimatedLocation(SchemaNode):
    city: str | None = None
    region: str | None = None
    country_code: str | None = None
    verified: Annotated[bool | None, XmlAttr("verified")] = None
    timestamp: Annotated[AwareDatetime | None, XmlAttr("timestamp")] = None


class AccountTemporarilyDisabled(SchemaNode):
    value: Annotated[bool, XML_TEXT] = True
    disabled_date: Annotated[AwareDatetime | None, XmlAttr("disabledDate")] = None
    user_notified: Annotated[bool | None, XmlAttr("userNotified")] = None
    user_notified_date: Annotated[AwareDatetime | None, XmlAttr("userNotifiedDate")] = None
    reenabled_date: Annotated[AwareDatetime | None, XmlAttr("reenabledDate")] = None


class AccountPermanentlyDisabled(SchemaNode):
    value: Annotated[bool, XML_TEXT] = True
    disabled_date: Annotated[AwareDatetime | None, XmlAttr("disabledDate")] = None
    user_notified: Annotated[bool | None, XmlAttr("userNotified")] = None
    user_notified_date: Annotated[AwareDatetime | None, XmlAttr("userNotifiedDate")] = None


class Platform(SchemaNode):
    value: Annotated[str, XML_TEXT]
    third_party_user: Annotated[bool | None, XmlAttr("thirdPartyUser")] = None


class AssociatedAccount(SchemaNode):
    platform: Platform | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    approximate_age: int | None = Field(None, ge=0)
    date_of_birth: date | None = None
    phones: list[Phone] = _many("phone")
    emails: list[Email] = _many("email")
    all_emails_reported: bool | None = None
    addresses: list[Address] = _many("address")
    esp_service: str | None = None
    esp_identifier: str | None = None
    profile_urls: list[str] = _many("profileUrl")
    screen_name: str | None = None
    display_names: list[str] = _many("displayName")
    profile_bio: str | None = None
    group_identifier: str | None = None
    compromised_account: bool | None = None
    account_temporarily_disabled: AccountTemporarilyDisabled | None = None
    account_permanently_disabled: AccountPermanentlyDisabled | None = None
    ip_capture_events: list[IpCaptureEvent] = _many("ipCaptureEvent")
    device_ids: list[DeviceId] = _many("deviceId")
    # Singular in the public schema, unlike the other sections' priorCTReports.
    prior_ct_reports: list[int] = _many("priorCTReport")
    additional_info: str | None = None
    kind: Annotated[AssociatedAccountKind | None, XmlAttr("type")] = None


# -- incidentSummary -------------------------------------------------------------------


class ReportAnnotations(SchemaNode):
    sextortion: Flag = False
    csam_solicitation: Flag = False
    minor_to_minor_interaction: Flag = False
    spam: Flag = False
    sadistic_online_exploitation: Flag = False


class IncidentSummary(SchemaNode):
    incident_type: IncidentType
    platform: str | None = None
    escalate_to_high_priority: str | None = Field(
        None,
        min_length=1,
        description="Reason for escalation; set only when a child is at immediate risk.",
    )
    report_annotations: ReportAnnotations | None = None
    incident_date_time: AwareDatetime
    incident_date_time_description: str | None = None


# -- internetDetails --------------------------------------------------------------------


class WebPageIncident(SchemaNode):
    urls: list[str] = _many("url")
    additional_info: str | None = None
    third_party_hosted_content: Annotated[bool | None, XmlAttr("thirdPartyHostedContent")] = None


class EmailIncident(SchemaNode):
    email_addresses: list[Email] = _many("emailAddress")
    content: str | None = None
    additional_info: str | None = None


class NewsgroupIncident(SchemaNode):
    name: str | None = None
    email_addresses: list[Email] = _many("emailAddress")
    content: str | None = None
    additional_info: str | None = None


class ChatImIncident(SchemaNode):
    chat_client: str | None = None
    chat_room_name: str | None = None
    content: str | None = None
    additional_info: str | None = None


class OnlineGamingIncident(SchemaNode):
    game_name: str | None = None
    console: str | None = None
    content: str | None = None
    additional_info: str | None = None


class CellPhoneIncident(SchemaNode):
    phone_number: Phone | None = None
    latitude: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    additional_info: str | None = None


class NonInternetIncident(SchemaNode):
    location_name: str | None = None
    incident_addresses: list[Address] = _many("incidentAddress")
    additional_info: str | None = None


class Peer2PeerIncident(SchemaNode):
    client: str | None = None
    ip_capture_events: list[IpCaptureEvent] = _many("ipCaptureEvent")
    file_names: str | None = None
    additional_info: str | None = None


class InternetDetails(SchemaNode):
    """One incident medium. The schema makes this a choice: exactly one field is set."""

    web_page_incident: WebPageIncident | None = None
    email_incident: EmailIncident | None = None
    newsgroup_incident: NewsgroupIncident | None = None
    chat_im_incident: ChatImIncident | None = None
    online_gaming_incident: OnlineGamingIncident | None = None
    cell_phone_incident: CellPhoneIncident | None = None
    non_internet_incident: NonInternetIncident | None = None
    # Explicit: to_camel would capitalise after the digit (peer2PeerIncident).
    peer2peer_incident: Peer2PeerIncident | None = Field(None, alias="peer2peerIncident")

    @model_validator(mode="after")
    def _exactly_one(self) -> InternetDetails:
        chosen = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(f"internetDetails needs exactly one incident, got {chosen or 'none'}")
        return self


# -- other report sections --------------------------------------------------------------


class ServedLegalProcessInternational(SchemaNode):
    value: Annotated[bool, XML_TEXT] = True
    flea_country: Annotated[str | None, XmlAttr("fleaCountry")] = None


class LawEnforcement(SchemaNode):
    agency_name: str
    case_number: str | None = None
    officer_contact: ContactPerson | None = None
    reported_to_le: bool | None = None
    served_legal_process_domestic: bool | None = None
    served_legal_process_international: ServedLegalProcessInternational | None = None


class Reporter(SchemaNode):
    reporting_person: Person
    contact_person: ContactPerson | None = None
    company_template: str | None = None
    terms_of_service: str | None = None
    legal_url: str | None = Field(None, alias="legalURL")


class PersonOrUserReported(SchemaNode):
    person: Person | None = Field(None, alias="personOrUserReportedPerson")
    vehicle_description: str | None = None
    esp_identifier: str | None = None
    esp_service: str | None = None
    compromised_account: bool | None = None
    screen_name: str | None = None
    display_names: list[str] = _many("displayName")
    profile_urls: list[str] = _many("profileUrl")
    profile_bio: str | None = None
    ip_capture_events: list[IpCaptureEvent] = _many("ipCaptureEvent")
    device_ids: list[DeviceId] = _many("deviceId")
    third_party_user_reported: bool | None = None
    prior_ct_reports: list[int] = _many("priorCTReports")
    group_identifier: str | None = None
    account_temporarily_disabled: AccountTemporarilyDisabled | None = None
    account_permanently_disabled: AccountPermanentlyDisabled | None = None
    estimated_location: EstimatedLocation | None = None
    all_emails_reported: bool | None = None
    associated_accounts: list[AssociatedAccount] = _many("associatedAccount")
    additional_info: str | None = None


class IntendedRecipient(SchemaNode):
    person: Person | None = Field(None, alias="intendedRecipientPerson")
    esp_identifier: str | None = None
    esp_service: str | None = None
    compromised_account: bool | None = None
    screen_name: str | None = None
    display_names: list[str] = _many("displayName")
    profile_urls: list[str] = _many("profileUrl")
    profile_bio: str | None = None
    ip_capture_events: list[IpCaptureEvent] = _many("ipCaptureEvent")
    device_ids: list[DeviceId] = _many("deviceId")
    prior_ct_reports: list[int] = _many("priorCTReports")
    group_identifier: str | None = None
    account_temporarily_disabled: AccountTemporarilyDisabled | None = None
    account_permanently_disabled: AccountPermanentlyDisabled | None = None
    estimated_location: EstimatedLocation | None = None
    all_emails_reported: bool | None = None
    # Repeatable here, unlike in the other person sections.
    additional_info: list[str] = _many("additionalInfo")


class Victim(SchemaNode):
    person: Person | None = Field(None, alias="victimPerson")
    esp_identifier: str | None = None
    esp_service: str | None = None
    compromised_account: bool | None = None
    screen_name: str | None = None
    display_names: list[str] = _many("displayName")
    profile_urls: list[str] = _many("profileUrl")
    profile_bio: str | None = None
    ip_capture_events: list[IpCaptureEvent] = _many("ipCaptureEvent")
    device_ids: list[DeviceId] = _many("deviceId")
    school_name: str | None = None
    prior_ct_reports: list[int] = _many("priorCTReports")
    account_temporarily_disabled: AccountTemporarilyDisabled | None = None
    account_permanently_disabled: AccountPermanentlyDisabled | None = None
    estimated_location: EstimatedLocation | None = None
    all_emails_reported: bool | None = None
    associated_accounts: list[AssociatedAccount] = _many("associatedAccount")
    additional_info: str | None = None


class BatchedReport(SchemaNode):
    reason: Annotated[BatchedReportReason, XmlAttr("reason")] = BatchedReportReason.VIRAL_POTENTIAL_MEME


class Report(SchemaNode):
    """The ``<report>`` document that opens a CyberTipline report."""

    xml_tag: ClassVar[str] = "report"

    batched_report: BatchedReport | None = None
    incident_summary: IncidentSummary
    internet_details: list[InternetDetails] = _many("internetDetails")
    law_enforcement: LawEnforcement | None = None
    reporter: Reporter
    person_or_user_reported: PersonOrUserReported | None = None
    intended_recipients: list[IntendedRecipient] = _many("intendedRecipient")
    victims: list[Victim] = _many("victim")
    additional_info: str | None = None


# -- fileDetails ---------------------------------------------------------------------------


class FileAnnotations(SchemaNode):
    anime_drawing_virtual_hentai: Flag = False
    potential_meme: Flag = False
    viral: Flag = False
    possible_self_production: Flag = False
    physical_harm: Flag = False
    violence_gore: Flag = False
    bestiality: Flag = False
    live_streaming: Flag = False
    infant: Flag = False
    generative_ai: Flag = False


class OriginalFileHash(SchemaNode):
    """A hash of the file as the user uploaded it, before any change by the ESP."""

    value: Annotated[str, XML_TEXT]
    hash_type: Annotated[str, XmlAttr("hashType")] = Field(min_length=1)


class NameValuePair(SchemaNode):
    name: str
    value: str


class Details(SchemaNode):
    pairs: list[NameValuePair] = Field(alias="nameValuePair", min_length=1)
    kind: Annotated[MetadataKind | None, XmlAttr("type")] = None


class FileDetails(SchemaNode):
    """The ``<fileDetails>`` document describing one uploaded file."""

    xml_tag: ClassVar[str] = "fileDetails"

    report_id: int = Field(gt=0)
    file_id: str = Field(min_length=1)
    file_name: str | None = None
    original_file_name: str | None = None
    uploaded_to_esp_timestamp: AwareDatetime | None = None
    location_of_file: str | None = None
    file_viewed_by_esp: bool | None = None
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    file_relevance: FileRelevance | None = None
    potential_meme: bool | None = Field(None, description="Legacy; prefer file_annotations.potential_meme.")
    file_annotations: FileAnnotations | None = None
    industry_classification: IndustryClassification | None = None
    original_file_hashes: list[OriginalFileHash] = _many("originalFileHash")
    ip_capture_event: IpCaptureEvent | None = None
    device_ids: list[DeviceId] = _many("deviceId")
    details: list[Details] = _many("details")
    additional_info: list[str] = _many("additionalInfo")

    @model_validator(mode="after")
    def _supplemental_files_are_not_classified(self) -> FileDetails:
        # Documented rule the XSD cannot express: only "Reported" files may be
        # classified or flagged as a potential meme.
        if self.file_relevance is not FileRelevance.SUPPLEMENTAL_REPORTED:
            return self
        if self.industry_classification is not None:
            raise ValueError("industry_classification is not allowed on a 'Supplemental Reported' file")
        if self.potential_meme or (self.file_annotations and self.file_annotations.potential_meme):
            raise ValueError("potential_meme is not allowed on a 'Supplemental Reported' file")
        return self
