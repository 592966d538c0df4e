"""What a request carries when it comes in (portal, email or post), and what an update may change.

Dates may be given as a day or a moment. A bare day is read in the issuer's time zone where the
jurisdiction has one (India: IST): a `due_date` day means the end of that day there, as the notice
means it ("reply by 20 January" leaves all of the 20th), a `date_from` day its start and a `date_to`
day its end. Where the zone is unknown (a jurisdiction spanning several), a day is read
conservatively in UTC: the start of a `due_date` day (never later than stated), the whole of a
`date_to` day. Everything is stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from collections.abc import Iterator
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from bastion.errors import InvalidInput

AccountKind = Literal["username", "url", "user_id", "email", "phone"]
ACCOUNT_KINDS: tuple[str, ...] = get_args(AccountKind)
Source = Literal["portal", "email", "post"]


class AccountIn(BaseModel):
    kind: AccountKind
    value: str = Field(min_length=1, max_length=500)


class SectionIn(BaseModel):
    """One provision a notice invokes: the Act (BNS, IPC, POCSO Act, IT Act …) and its section."""

    act: str = Field(min_length=1, max_length=100)
    section: str = Field(min_length=1, max_length=40)


def _keyed_lines(text: str, *, last: bool = False) -> Iterator[tuple[int, str, str]]:
    """(line number, key, value) of each non-empty `key: value` line, split at the first (or last) colon."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            key, _, value = line.rpartition(":") if last else line.partition(":")
            yield number, key.strip(), value.strip()


def parse_sections(text: str) -> list[SectionIn]:
    """Sections typed one per line as `Act: section` (e.g. `POCSO Act, 2012: 14`, `BNS: 294`)."""
    found = []
    for number, act, section in _keyed_lines(text, last=True):  # an Act's name may hold a colon; a section not
        if not act or not section:
            raise InvalidInput(f"Section line {number}: write it as 'Act: section', e.g. 'POCSO Act, 2012: 14'.")
        found.append(SectionIn(act=act, section=section))
    return found


def parse_accounts(text: str) -> list[AccountIn]:
    """Accounts typed one per line as `kind: value` (username, url, user_id, email or phone): nothing guessed."""
    found = []
    for number, kind, value in _keyed_lines(text):
        if kind not in ACCOUNT_KINDS or not value:
            raise InvalidInput(f"Account line {number}: write it as 'username: …', 'url: …', 'user_id: …', "
                               "'email: …' or 'phone: …'.")
        found.append(AccountIn(kind=kind, value=value))  # type: ignore[arg-type]
    return found


class RequestUpdate(BaseModel):
    """Fields a requester (follow-up) or staff (intake correction) may supply; None leaves a field alone."""

    issuing_authority: str | None = None
    issuing_officer: str | None = None
    requester_phone: str | None = None
    agency_id: int | None = None
    case_number: str | None = None
    fir_number: str | None = Field(default=None, max_length=100)
    police_station: str | None = Field(default=None, max_length=200)
    district: str | None = Field(default=None, max_length=200)
    sections: list[SectionIn] | None = None
    officer_rank: str | None = Field(default=None, max_length=100)
    notice_date: date | None = None
    court: str | None = None
    purpose: str | None = None
    offence: str | None = None
    offence_max_years: int | None = Field(default=None, ge=0, le=200)
    due_date: datetime | date | None = None
    accounts: list[AccountIn] | None = None
    categories: list[str] | None = None
    date_from: datetime | date | None = None
    date_to: datetime | date | None = None
    emergency: bool | None = None
    emergency_person: str | None = None
    emergency_nature: str | None = None
    emergency_why: str | None = None
    ndo: bool | None = None
    ndo_expires_at: datetime | date | None = None
    child_safety: bool | None = None

    @field_validator("due_date", "date_from", "date_to", "ndo_expires_at", "notice_date", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class RequestInput(RequestUpdate):
    """A new request. `reminder_of` (a reference) makes it a reminder that lands on the original instead."""

    instrument: str
    jurisdiction: str = ""
    source: Source = "email"
    received_at: datetime | None = None
    requester_email: str = ""
    reminder_of: str | None = None
    note: str = ""


#: The zone a jurisdiction's notices are dated in, where it has one zone.
ISSUER_ZONES = {"IN": "Asia/Kolkata"}


def issuer_zone(jurisdiction: str) -> ZoneInfo | None:
    name = ISSUER_ZONES.get(jurisdiction)
    return ZoneInfo(name) if name else None


def moment(value: datetime | date | None, *, end_of_day: bool = False, zone: ZoneInfo | None = None
           ) -> datetime | None:
    """A stored UTC datetime from a date or datetime (see the module docstring for bare days).

    A datetime without a zone is read in `zone` (UTC when none is known).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone or UTC).astimezone(UTC) if value.tzinfo is None else value.astimezone(UTC)
    start = datetime.combine(value, time(0), tzinfo=zone or UTC)
    return (start + timedelta(days=1) if end_of_day else start).astimezone(UTC)
