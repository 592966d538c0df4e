"""Catalogue rules beyond the instruments: preservation periods, removal orders, evidence certificates.

Like the instruments, these are data with a citation and an "as of" date: migration 0007_lprod
seeds them from `catalogue/rules-v1.json`, `install_rules` restores missing ones, and legal
staff edit one with `set_rule` (audited, before and after). Three kinds:

* `preservation` by jurisdiction ("*" is the fallback): how long a preservation runs, the
  vault retention policy it applies and how it may be extended. An instrument's own
  `preservation` (e.g. US 2703(f), EPOC-PR) comes first.
* `removal` by instrument: what a removal order sets in motion once approved (the reason code
  sent to the platform, the preservation of what was removed, the report to the issuer).
* `certificate` by jurisdiction ("*" is the fallback): the evidence certificate's form.
"""

from __future__ import annotations

import json
import re
import string
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal.errors import CatalogueNotFound
from bastion.legal.models import LegalRule

RULES_FILE = "catalogue/rules-v2.json"
KINDS = ("preservation", "removal", "certificate", "clock", "emergency")
EXTENSIONS = ("days", "hold", "requested", "none")
SIGNATORIES = ("custodian", "expert")
RULE_FIELDS = ("title", "citation", "as_of", "body", "active", "jurisdiction", "instrument_key")
#: What a certificate's statements may name; `bastion.production` fills them in.
CERTIFICATE_PLACEHOLDERS = frozenset({
    "signatory_name", "signatory_title", "organisation", "at_address", "file_count", "request_reference",
    "algorithm", "key_id", "system", "system_id", "source_types", "created_at",
})
FALLBACK = "*"
_OFFSET = re.compile(r"[+-](0\d|1[0-4]):[0-5]\d")
#: Used when the catalogue has no preservation rule at all (an emptied table): never silently unbounded.
DEFAULT_PRESERVATION = {"days": 90, "retention_policy": "legal_request_preservation", "extension": {"type": "hold"},
                        "basis": "Organisation policy (no catalogue rule)"}


@lru_cache(maxsize=1)
def shipped_rules() -> dict[str, Any]:
    """The rules file shipped with this code (what migration 0007_lprod seeded)."""
    return json.loads(resources.files("bastion.legal").joinpath(RULES_FILE).read_text(encoding="utf-8"))


def body_of(row: LegalRule) -> dict[str, Any]:
    return dict(json.loads(row.body_json))


def as_dict(row: LegalRule) -> dict[str, Any]:
    return {"key": row.key, "kind": row.kind, "jurisdiction": row.jurisdiction, "instrument_key": row.instrument_key,
            "title": row.title, "citation": row.citation, "as_of": row.as_of.isoformat(), "body": body_of(row),
            "active": row.active}


# -- reading ---------------------------------------------------------------------------------------


def list_rules(session: Session, kind: str | None = None) -> list[LegalRule]:
    stmt = select(LegalRule).order_by(LegalRule.kind, LegalRule.key)
    if kind is not None:
        stmt = stmt.where(LegalRule.kind == kind)
    return list(session.scalars(stmt))


def get_rule(session: Session, key: str) -> LegalRule:
    row = session.get(LegalRule, key)
    if row is None:
        raise CatalogueNotFound(f"No rule {key!r} in the legal catalogue.")
    return row


def for_jurisdiction(session: Session, kind: str, jurisdiction: str) -> LegalRule | None:
    """The active rule of `kind` for the jurisdiction, else the fallback ("*") rule, else None."""
    rows = {r.jurisdiction: r for r in session.scalars(select(LegalRule).where(
        LegalRule.kind == kind, LegalRule.active.is_(True), LegalRule.jurisdiction.in_((jurisdiction, FALLBACK))))}
    return rows.get(jurisdiction) or rows.get(FALLBACK)


def for_instrument(session: Session, kind: str, instrument_key: str) -> LegalRule | None:
    return session.scalar(select(LegalRule).where(LegalRule.kind == kind, LegalRule.active.is_(True),
                                                  LegalRule.instrument_key == instrument_key).limit(1))


def preservation_spec(session: Session, jurisdiction: str, instrument_preservation: dict[str, Any] | None,
                      instrument_citation: str = "") -> dict[str, Any]:
    """How long a preservation for this request runs: the instrument's own rule, else the jurisdiction's.

    Returns {days, retention_policy, extension, basis}; `basis` is the citation recorded on the row.
    """
    if instrument_preservation:
        return {"basis": instrument_citation, **instrument_preservation}
    row = for_jurisdiction(session, "preservation", jurisdiction)
    if row is None:
        return dict(DEFAULT_PRESERVATION)
    return {**body_of(row), "basis": row.citation}


def removal_spec(session: Session, instrument_key: str) -> dict[str, Any] | None:
    """What an approved removal order under this instrument sets in motion (None: no rule, act on it by hand)."""
    row = for_instrument(session, "removal", instrument_key)
    return None if row is None else {**body_of(row), "citation": row.citation, "title": row.title}


def certificate_rule(session: Session, jurisdiction: str) -> LegalRule:
    row = for_jurisdiction(session, "certificate", jurisdiction)
    if row is None:
        raise CatalogueNotFound("The legal catalogue has no evidence certificate form (not even the fallback "
                                f"'{FALLBACK}'); restore the shipped rules with `install_rules`.")
    return row


# -- writing ---------------------------------------------------------------------------------------


def install_rules(session: Session, *, actor: str, clock: Clock) -> list[str]:
    """Add shipped rules and retention policies missing from the tables (never overwrites an edit).

    The instruments the rules file also ships are installed by `catalogue.install_catalogue`,
    which calls this: rules sit below the catalogue and never import it.
    """
    from bastion.evidence import retention

    shipped, added = shipped_rules(), []
    for policy in shipped["retention_policies"]:
        if session.get(retention.RetentionPolicy, policy["key"]) is None:
            retention.set_policy(session, policy["key"], title=policy["title"], duration=policy["duration"],
                                 citation=policy["citation"], as_of=date.fromisoformat(policy["as_of"]),
                                 description=policy.get("description", ""), actor=actor,
                                 reason="legal catalogue rules need it", clock=clock)
            added.append(f"retention:{policy['key']}")
    for entry in shipped["rules"]:
        if session.get(LegalRule, entry["key"]) is None:
            row = LegalRule(key=entry["key"], updated_at=clock.now(), updated_by=actor)
            _apply(session, row, entry)
            session.add(row)
            added.append(f"rule:{entry['key']}")
    session.flush()
    return added


def set_rule(session: Session, key: str, changes: dict[str, Any], *, actor: str, reason: str, clock: Clock
             ) -> LegalRule:
    """Edit a rule (or add one: `kind` then required in `changes`), audited with before and after."""
    if not reason.strip():
        raise InvalidInput("Say why the rule changes (e.g. the amendment, judgment or counsel's advice it follows).")
    unknown = set(changes) - {*RULE_FIELDS, "kind"}
    if unknown:
        raise InvalidInput(f"Unknown rule fields: {', '.join(sorted(unknown))}; editable: {', '.join(RULE_FIELDS)}.")
    row = session.get(LegalRule, key)
    before = as_dict(row) if row is not None else None
    if row is None:
        missing = {"kind", "title", "citation", "as_of", "body"} - set(changes)
        if missing:
            raise InvalidInput(f"A new rule needs: {', '.join(sorted(missing))}.")
        row = LegalRule(key=key, updated_at=clock.now(), updated_by=actor)
        session.add(row)
    elif "kind" in changes and changes["kind"] != row.kind:
        raise InvalidInput(f"Rule {key} is a {row.kind} rule; its kind cannot change.")
    _apply(session, row, {**(before or {}), **changes})
    row.updated_at, row.updated_by = clock.now(), actor
    session.flush()
    audit.record(session, actor=actor, action="legal.catalogue.rule", subject=f"legal_rule:{key}",
                 details={"before": before, "after": as_dict(row), "reason": reason}, clock=clock)
    return row


def _apply(session: Session, row: LegalRule, entry: dict[str, Any]) -> None:
    kind = entry.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"A rule's kind is one of {', '.join(KINDS)}.")
    if not str(entry.get("citation", "")).strip() or not str(entry.get("title", "")).strip():
        raise InvalidInput("A rule needs a title and its legal citation.")
    body = entry.get("body")
    if not isinstance(body, dict):
        raise InvalidInput("A rule's body must be an object.")
    {"preservation": _check_preservation, "removal": _check_removal, "certificate": _check_certificate,
     "clock": _check_clock, "emergency": _check_emergency}[kind](session, body)
    as_of = entry["as_of"]
    row.kind, row.title, row.citation = kind, str(entry["title"]), str(entry["citation"])
    row.jurisdiction = str(entry.get("jurisdiction", "") or "")
    row.instrument_key = str(entry.get("instrument_key", "") or "")
    if kind in ("preservation", "certificate", "emergency") and not row.jurisdiction:
        raise InvalidInput(f"A {kind} rule names its jurisdiction (or '{FALLBACK}' for the fallback).")
    if kind in ("removal", "clock") and not row.instrument_key:
        raise InvalidInput(f"A {kind} rule names the instrument it applies to.")
    row.as_of = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
    row.body_json = json.dumps(body, sort_keys=True)
    row.active = bool(entry.get("active", True))


def _positive_hours(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_clock(_session: Session, body: dict[str, Any]) -> None:
    """A second clock an instrument also starts: `{"hours": 72, "title": "...", "applies_when": "..."}`."""
    if not _positive_hours(body.get("hours")) or not str(body.get("title", "")).strip():
        raise InvalidInput("A clock rule needs a positive number of hours and the title of the duty it times.")


def _check_emergency(_session: Session, body: dict[str, Any]) -> None:
    """The internal target for an emergency in a jurisdiction, and what allows disclosing in one."""
    if not _positive_hours(body.get("target_hours")):
        raise InvalidInput("An emergency rule needs a positive target in hours.")


def clocks_for(session: Session, instrument_key: str) -> list[LegalRule]:
    """The further clocks an instrument starts (e.g. a BNSS s.94 notice also starts Rule 3(1)(j)'s 72 hours)."""
    return list(session.scalars(select(LegalRule).where(LegalRule.kind == "clock", LegalRule.active.is_(True),
                                                        LegalRule.instrument_key == instrument_key)
                                .order_by(LegalRule.key)))


def emergency_rule(session: Session, jurisdiction: str) -> LegalRule | None:
    return session.scalar(select(LegalRule).where(LegalRule.kind == "emergency", LegalRule.active.is_(True),
                                                  LegalRule.jurisdiction == jurisdiction))


def _check_preservation(session: Session, body: dict[str, Any]) -> None:
    from bastion.evidence import retention

    days = body.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise InvalidInput("A preservation rule needs a positive whole number of days.")
    if session.get(retention.RetentionPolicy, str(body.get("retention_policy", ""))) is None:
        raise InvalidInput(f"No vault retention policy {body.get('retention_policy')!r}; add it first.")
    extension = body.get("extension") or {"type": "none"}
    if not isinstance(extension, dict) or extension.get("type") not in EXTENSIONS:
        raise InvalidInput(f"A preservation rule's extension type is one of {', '.join(EXTENSIONS)}.")
    if extension["type"] == "days" and not (isinstance(extension.get("days"), int) and extension["days"] > 0):
        raise InvalidInput("An extension of type 'days' needs a positive number of days.")


def _check_removal(session: Session, body: dict[str, Any]) -> None:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidInput("A removal rule needs the short reason code sent to the platform (1-500 characters).")
    if body.get("preserve") is not None:
        if not isinstance(body["preserve"], dict):
            raise InvalidInput("A removal rule's 'preserve' is a preservation rule (days, retention_policy, extension).")
        _check_preservation(session, body["preserve"])


def _check_certificate(_session: Session, body: dict[str, Any]) -> None:
    parts = body.get("parts")
    if not isinstance(parts, list) or not parts:
        raise InvalidInput("A certificate form needs at least one part.")
    for part in parts:
        if not isinstance(part, dict) or part.get("signatory") not in SIGNATORIES:
            raise InvalidInput(f"Each part names its signatory: one of {', '.join(SIGNATORIES)}.")
        statements = part.get("statements")
        if not isinstance(statements, list) or not statements or not all(isinstance(s, str) for s in statements):
            raise InvalidInput("Each part of a certificate needs its statements (a list of paragraphs).")
        for text in statements:
            _check_placeholders(text)
    for label, value in body.get("device_fields", []):
        _check_placeholders(f"{label} {value}")
    if not _OFFSET.fullmatch(str(body.get("utc_offset", ""))):
        raise InvalidInput("A certificate form's utc_offset is like '+05:30' (the zone its date and time are in).")
    if body.get("hash_algorithm") != "SHA-256":
        raise InvalidInput("Production packages are hashed with SHA-256; the form must say so.")


def _check_placeholders(text: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError as exc:
        raise InvalidInput(f"A certificate statement has a broken placeholder: {exc}.") from None
    unknown = names - CERTIFICATE_PLACEHOLDERS
    if unknown:
        raise InvalidInput(f"Unknown placeholders {sorted(unknown)} in a certificate statement; known: "
                           f"{', '.join(sorted(CERTIFICATE_PLACEHOLDERS))}.")
