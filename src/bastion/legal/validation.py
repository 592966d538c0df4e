"""Is a request complete, and does it ask only for what its instrument may compel?

Both checks read the catalogue. Everything missing is named in one message (requesters are
told exactly what is missing, never refused silently); each data category the instrument
may not compel is flagged with the reason, so the reviewer and the requester see why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.legal.catalogue import (
    InstrumentRule,
    emergency_required_fields,
    field_labels,
    list_categories,
)
from bastion.legal.models import LegalRequest, RequestAccount, RequestDocument

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class ScopeFlag:
    category: str
    title: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"category": self.category, "title": self.title, "reason": self.reason}


@dataclass
class ValidationResult:
    missing: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    scope: list[ScopeFlag] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # present but wrong (e.g. date range backwards)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems

    def message(self, request: LegalRequest, rule: InstrumentRule) -> str:
        """The one message a requester gets: everything missing, every scope problem, nothing left out."""
        lines = []
        if not self.complete:
            lines.append(f"Your request {request.reference} ({rule.title}) cannot be processed until you send "
                         "everything below, in one reply:")
            lines.extend(f"- {label}" for label in self.labels)
            lines.extend(f"- {problem}" for problem in self.problems)
        if self.scope:
            lines.append(f"These data categories are outside what {rule.title} may compel and will not be "
                         "produced on it:")
            lines.extend(f"- {flag.title}: {flag.reason}" for flag in self.scope)
        return "\n".join(lines)


def categories_of(request: LegalRequest) -> list[str]:
    return list(json.loads(request.categories_json or "[]"))


def _present(session: Session, request: LegalRequest, name: str) -> bool:
    if name == "accounts":
        return bool(session.scalar(select(func.count()).select_from(RequestAccount)
                                   .where(RequestAccount.request_id == request.id)))
    if name == "document":
        return bool(session.scalar(select(func.count()).select_from(RequestDocument)
                                   .where(RequestDocument.request_id == request.id)))
    if name == "categories":
        return bool(categories_of(request))
    if name == "date_range":
        return request.date_from is not None and request.date_to is not None
    if name == "due_date":
        return request.stated_due_at is not None
    if name == "offence_max_years":
        return request.offence_max_years is not None
    value = getattr(request, name, "")
    return bool(str(value or "").strip())


def validate(session: Session, request: LegalRequest, rule: InstrumentRule) -> ValidationResult:
    labels = field_labels()
    required = list(rule.required_fields)
    if request.emergency or rule.emergency:
        required += [f for f in emergency_required_fields() if f not in required]
    requested = categories_of(request)
    for condition in rule.conditions:
        conditional = "min_offence_years" in condition and set(condition.get("categories", [])) & set(requested)
        if conditional and "offence_max_years" not in required:
            required.append("offence_max_years")
    result = ValidationResult()
    result.missing = [name for name in required if not _present(session, request, name)]
    result.labels = [labels.get(name, name) for name in result.missing]
    if request.requester_email and not _EMAIL.fullmatch(request.requester_email):
        result.problems.append(f"{request.requester_email!r} is not an email address")
    if request.date_from and request.date_to and request.date_from >= request.date_to:
        result.problems.append("the date range ends before it starts")
    result.scope = scope_flags(session, request, rule)
    return result


def scope_flags(session: Session, request: LegalRequest, rule: InstrumentRule) -> list[ScopeFlag]:
    """One flag per requested category the instrument may not compel (or only under a condition not met)."""
    titles = {c.key: c.title for c in list_categories(session)}
    requested = categories_of(request)
    flags: list[ScopeFlag] = []
    for category in requested:
        title = titles.get(category, category)
        if category not in titles:
            flags.append(ScopeFlag(category, title, "not a data category this desk knows"))
        elif category not in rule.may_compel:
            reason = (rule.scope_notes.get(category) or rule.scope_notes.get("*")
                      or f"{rule.title} ({rule.citation}) does not compel {title.lower()}.")
            flags.append(ScopeFlag(category, title, reason))
    flags += held_abroad_flags(session, request, rule, already={f.category for f in flags})
    flagged = {f.category for f in flags}
    for condition in rule.conditions:
        minimum = condition.get("min_offence_years")
        if minimum is None or request.offence_max_years is None or request.offence_max_years >= minimum:
            continue
        for category in requested:
            if category in condition.get("categories", []) and category not in flagged:
                flags.append(ScopeFlag(category, titles.get(category, category),
                                       f"{condition['reason']} The offence stated carries at most "
                                       f"{request.offence_max_years} years."))
                flagged.add(category)
    return flags


#: Why a US provider cannot answer a foreign order for content (and what it can do instead).
US_CONTENT_BAR = (
    "Content held by a US provider cannot be disclosed to a foreign government on that government's own order "
    "(Stored Communications Act, 18 U.S.C. 2702(a)(1), (2)); {jurisdiction} has no executive agreement under the "
    "CLOUD Act (18 U.S.C. 2523), so the route for content is a request under the mutual legal assistance treaty. "
    "Non-content data (subscriber, identification and traffic records) may be disclosed voluntarily "
    "(18 U.S.C. 2702(c)(6)): produce that subset on this notice.")

#: Jurisdictions with a CLOUD Act executive agreement in force (18 U.S.C. 2523), as of 2026-12-03.
CLOUD_ACT_AGREEMENTS = frozenset({"GB", "UK", "AU"})


def held_abroad_flags(session: Session, request: LegalRequest, rule: InstrumentRule, *,
                      already: set[str] = frozenset()) -> list[ScopeFlag]:  # type: ignore[assignment]
    """Categories the provider may not disclose to this requester because of where the content is held."""
    from bastion.legal.settings import CONTENT_HELD_BY
    from bastion.orgsettings import get_value

    if str(get_value(session, CONTENT_HELD_BY)).strip().upper() != "US":
        return []
    if rule.jurisdiction in ("US", "INTL") or rule.jurisdiction in CLOUD_ACT_AGREEMENTS or \
            rule.kind in ("mutual_assistance", "preservation", "removal"):
        return []
    classes = {c.key: (c.klass, c.title) for c in list_categories(session)}
    return [ScopeFlag(key, classes[key][1], US_CONTENT_BAR.format(jurisdiction=rule.jurisdiction))
            for key in categories_of(request)
            if key in classes and classes[key][0] == "content" and key not in already]
