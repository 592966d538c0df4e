"""The legal catalogue: jurisdictions, data categories and instruments, as data.

Migration 0005_legal seeds the tables from the shipped `catalogue/v1.json`; `install_catalogue`
restores missing entries (and runs on first use of an empty table). Legal staff edit an
instrument with `set_instrument`, audited with before and after. Code reads an instrument as
an `InstrumentRule`, never a constant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock, SystemClock
from bastion.errors import InvalidInput
from bastion.legal.errors import CatalogueNotFound
from bastion.legal.models import DataCategory, Instrument, Jurisdiction

CATALOGUE_FILE = "catalogue/v1.json"
DEADLINE_TYPES = ("hours", "days", "stated", "none")
KINDS = ("production", "preservation", "removal", "emergency", "mutual_assistance", "other")
INSTRUMENT_FIELDS = ("title", "jurisdiction", "kind", "citation", "as_of", "deadline", "emergency_deadline",
                     "preservation", "required_fields", "may_compel", "conditions", "scope_notes", "notice",
                     "emergency", "active")


@lru_cache(maxsize=1)
def shipped_catalogue() -> dict[str, Any]:
    """The catalogue file shipped with this code (what migration 0005 seeded)."""
    return json.loads(resources.files("bastion.legal").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8"))


#: Reviews of shipped entries against the primary texts, applied over the catalogue in this order.
REVIEW_FILES = ("catalogue/india-review-2026-12.json",)


@lru_cache(maxsize=1)
def shipped_reviews() -> list[dict[str, Any]]:
    return [json.loads(resources.files("bastion.legal").joinpath(name).read_text("utf-8")) for name in REVIEW_FILES]


def reviewed(entry: dict[str, Any]) -> dict[str, Any]:
    """A shipped instrument entry with every review of it applied (its citation, notice, as-of date)."""
    for review in shipped_reviews():
        changes = review["instruments"].get(entry["key"])
        if changes:
            entry = {**entry, **changes, "as_of": review["as_of"]}
    return entry


def field_labels() -> dict[str, str]:
    """Request fields and how the one "what is missing" message names them."""
    return dict(shipped_catalogue()["fields"])


def emergency_required_fields() -> list[str]:
    return list(shipped_catalogue()["emergency_required_fields"])


@dataclass(frozen=True)
class InstrumentRule:
    """An instrument's rules, parsed from its row."""

    key: str
    jurisdiction: str
    title: str
    kind: str
    citation: str
    as_of: date
    deadline: dict[str, Any]
    emergency_deadline: dict[str, Any] | None
    preservation: dict[str, Any] | None
    required_fields: list[str]
    may_compel: list[str]
    conditions: list[dict[str, Any]]
    scope_notes: dict[str, str]
    notice: dict[str, Any]
    emergency: bool
    active: bool

    @classmethod
    def of(cls, row: Instrument) -> InstrumentRule:
        return cls(
            key=row.key, jurisdiction=row.jurisdiction, title=row.title, kind=row.kind, citation=row.citation,
            as_of=row.as_of, deadline=json.loads(row.deadline_json),
            emergency_deadline=json.loads(row.emergency_deadline_json),
            preservation=json.loads(row.preservation_json), required_fields=json.loads(row.required_fields_json),
            may_compel=json.loads(row.may_compel_json), conditions=json.loads(row.conditions_json),
            scope_notes=json.loads(row.scope_notes_json), notice=json.loads(row.notice_json),
            emergency=row.emergency, active=row.active,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "jurisdiction": self.jurisdiction, "title": self.title, "kind": self.kind,
                "citation": self.citation, "as_of": self.as_of.isoformat(), "deadline": self.deadline,
                "emergency_deadline": self.emergency_deadline, "preservation": self.preservation,
                "required_fields": self.required_fields, "may_compel": self.may_compel,
                "conditions": self.conditions, "scope_notes": self.scope_notes, "notice": self.notice,
                "emergency": self.emergency, "active": self.active}

    def deadline_for(self, received_at: datetime, *, stated: datetime | None, emergency: bool
                     ) -> tuple[datetime | None, str]:
        """When the answer is due, and the rule that says so (for the request page)."""
        rule = self.emergency_deadline if emergency and self.emergency_deadline else self.deadline
        kind, note = rule.get("type", "none"), rule.get("note", "")
        if kind == "hours":
            return received_at + timedelta(hours=float(rule["value"])), note or f"{rule['value']} hours"
        if kind == "days":
            return received_at + timedelta(days=float(rule["value"])), note or f"{rule['value']} days"
        if kind == "stated":
            return stated, note or "the date stated in the request"
        return None, note or "no deadline"


# -- reading ---------------------------------------------------------------------------------------


def ensure_installed(session: Session) -> None:
    """First start on an empty catalogue (e.g. a database created without migrations): load the shipped one."""
    if not session.scalar(select(func.count()).select_from(Instrument)):
        install_catalogue(session, actor="system:legal.catalogue", clock=SystemClock())


def get_instrument(session: Session, key: str) -> InstrumentRule:
    ensure_installed(session)
    row = session.get(Instrument, key)
    if row is None:
        known = ", ".join(sorted(session.scalars(select(Instrument.key))))
        raise CatalogueNotFound(f"No instrument {key!r} in the legal catalogue; known: {known}.")
    return InstrumentRule.of(row)


def list_instruments(session: Session, *, include_inactive: bool = False) -> list[InstrumentRule]:
    ensure_installed(session)
    stmt = select(Instrument).order_by(Instrument.jurisdiction, Instrument.key)
    if not include_inactive:
        stmt = stmt.where(Instrument.active.is_(True))
    return [InstrumentRule.of(row) for row in session.scalars(stmt)]


def list_categories(session: Session) -> list[DataCategory]:
    ensure_installed(session)
    return list(session.scalars(select(DataCategory).order_by(DataCategory.key)))


def category_keys(session: Session) -> list[str]:
    return [c.key for c in list_categories(session)]


def list_jurisdictions(session: Session) -> list[Jurisdiction]:
    ensure_installed(session)
    return list(session.scalars(select(Jurisdiction).order_by(Jurisdiction.code)))


# -- writing ---------------------------------------------------------------------------------------


def install_catalogue(session: Session, *, actor: str, clock: Clock, catalogue: dict[str, Any] | None = None
                      ) -> list[str]:
    """Add shipped entries missing from the tables (never overwrites an edit). Returns what was added."""
    catalogue = catalogue or shipped_catalogue()
    reason = f"install shipped legal catalogue v{catalogue.get('version', '?')}"
    now, added = clock.now(), []
    for entry in catalogue["jurisdictions"]:
        if session.get(Jurisdiction, entry["code"]) is None:
            session.add(Jurisdiction(code=entry["code"], name=entry["name"], notes=entry.get("notes", ""),
                                     updated_at=now, updated_by=actor))
            added.append(f"jurisdiction:{entry['code']}")
    for entry in catalogue["categories"]:
        if session.get(DataCategory, entry["key"]) is None:
            session.add(DataCategory(key=entry["key"], title=entry["title"], klass=entry["class"],
                                     description=entry.get("description", ""), updated_at=now, updated_by=actor))
            added.append(f"category:{entry['key']}")
    session.flush()
    for entry in catalogue["instruments"]:
        if session.get(Instrument, entry["key"]) is None:
            row = Instrument(key=entry["key"], updated_at=now, updated_by=actor)
            _apply(row, reviewed(entry), known_categories={c["key"] for c in catalogue["categories"]})
            session.add(row)
            added.append(f"instrument:{entry['key']}")
    session.flush()
    added.extend(_install_retention_policies(session, catalogue, actor=actor, clock=clock))
    from bastion.legal.rules import install_rules, shipped_rules

    for entry in shipped_rules()["instruments"]:  # instruments the rules file ships (e.g. DSA Art. 9 orders)
        if add_instrument_if_missing(session, entry, actor=actor, clock=clock):
            added.append(f"instrument:{entry['key']}")
    added.extend(install_rules(session, actor=actor, clock=clock))  # preservation, removal, certificate rules
    if added:
        audit.record(session, actor=actor, action="legal.catalogue.install", subject="legal_catalogue:shipped",
                     details={"added": added, "reason": reason}, clock=clock)
    return added


def _install_retention_policies(session: Session, catalogue: dict[str, Any], *, actor: str, clock: Clock) -> list[str]:
    """The vault's retention policies that preservation under this catalogue applies."""
    from bastion.evidence import retention

    added = []
    if session.get(retention.RetentionPolicy, "us_preservation_request") is None:
        added.extend(f"retention:{k}" for k in retention.install_catalogue(session, actor=actor, clock=clock))
    for entry in catalogue.get("retention_policies", []):
        if session.get(retention.RetentionPolicy, entry["key"]) is None:
            retention.set_policy(session, entry["key"], title=entry["title"], duration=entry["duration"],
                                 citation=entry["citation"], as_of=date.fromisoformat(entry["as_of"]),
                                 description=entry.get("description", ""), actor=actor,
                                 reason="legal catalogue needs it", clock=clock)
            added.append(f"retention:{entry['key']}")
    return added


def add_instrument_if_missing(session: Session, entry: dict[str, Any], *, actor: str, clock: Clock) -> bool:
    """Install one shipped instrument unless a row with its key exists (an edit is never overwritten)."""
    if session.get(Instrument, entry["key"]) is not None:
        return False
    row = Instrument(key=entry["key"], updated_at=clock.now(), updated_by=actor)
    _apply(row, entry, known_categories=set(category_keys(session)))
    session.add(row)
    session.flush()
    return True


def set_instrument(session: Session, key: str, changes: dict[str, Any], *, actor: str, reason: str, clock: Clock
                   ) -> InstrumentRule:
    """Create or edit an instrument (legal staff), audited with before and after."""
    if not reason.strip():
        raise InvalidInput("Say why the catalogue changes (e.g. the amendment or guidance it follows).")
    unknown = set(changes) - set(INSTRUMENT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown instrument fields: {', '.join(sorted(unknown))}; "
                           f"editable: {', '.join(INSTRUMENT_FIELDS)}.")
    ensure_installed(session)
    row = session.get(Instrument, key)
    before = InstrumentRule.of(row).as_dict() if row is not None else None
    if row is None:
        missing = {"title", "jurisdiction", "kind", "citation", "as_of", "deadline"} - set(changes)
        if missing:
            raise InvalidInput(f"A new instrument needs: {', '.join(sorted(missing))}.")
        row = Instrument(key=key, updated_at=clock.now(), updated_by=actor)
        session.add(row)
    merged = {**(before or {}), **changes}
    _apply(row, merged, known_categories=set(category_keys(session)))
    if session.get(Jurisdiction, row.jurisdiction) is None:
        raise InvalidInput(f"No jurisdiction {row.jurisdiction!r} in the catalogue.")
    row.updated_at, row.updated_by = clock.now(), actor
    session.flush()
    after = InstrumentRule.of(row).as_dict()
    audit.record(session, actor=actor, action="legal.catalogue.instrument", subject=f"legal_instrument:{key}",
                 details={"before": before, "after": after, "reason": reason}, clock=clock)
    return InstrumentRule.of(row)


def _apply(row: Instrument, entry: dict[str, Any], *, known_categories: set[str]) -> None:
    """Validate an instrument's data and write it onto the row."""
    labels = field_labels()
    if entry["kind"] not in KINDS:
        raise InvalidInput(f"Instrument kind must be one of {', '.join(KINDS)}.")
    for name in ("deadline", "emergency_deadline"):
        rule = entry.get(name)
        if rule is None and name == "emergency_deadline":
            continue
        if not isinstance(rule, dict) or rule.get("type") not in DEADLINE_TYPES:
            raise InvalidInput(f"{name} must be an object with type one of {', '.join(DEADLINE_TYPES)}.")
        if rule["type"] in ("hours", "days") and not (isinstance(rule.get("value"), int | float) and rule["value"] > 0):
            raise InvalidInput(f"{name} of type {rule['type']} needs a positive value.")
    fields = list(entry.get("required_fields", []))
    if set(fields) - set(labels):
        raise InvalidInput(f"Unknown required fields {sorted(set(fields) - set(labels))}; known: {', '.join(labels)}.")
    compel = list(entry.get("may_compel", []))
    if set(compel) - known_categories:
        raise InvalidInput(f"Unknown data categories {sorted(set(compel) - known_categories)}.")
    if not str(entry.get("citation", "")).strip():
        raise InvalidInput("An instrument needs its legal citation.")
    as_of = entry["as_of"]
    row.title, row.jurisdiction, row.kind, row.citation = entry["title"], entry["jurisdiction"], entry["kind"], entry["citation"]
    row.as_of = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
    row.deadline_json = json.dumps(entry["deadline"])
    row.emergency_deadline_json = json.dumps(entry.get("emergency_deadline"))
    row.preservation_json = json.dumps(entry.get("preservation"))
    row.required_fields_json = json.dumps(fields)
    row.may_compel_json = json.dumps(compel)
    row.conditions_json = json.dumps(entry.get("conditions", []))
    row.scope_notes_json = json.dumps(entry.get("scope_notes", {}))
    row.notice_json = json.dumps(entry.get("notice", {}))
    row.emergency = bool(entry.get("emergency", False))
    row.active = bool(entry.get("active", True))
