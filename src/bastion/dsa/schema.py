"""The Transparency Database's statement-of-reasons schema: its fields, enumerations and rules, as data.

Written from the Commission's published API documentation (API v2, in force since 1 July 2025:
`transparency.dsa.ec.europa.eu/page/api-documentation`). Both sides use it: Bastion refuses a
statement locally before it travels (with a message that says which field to fix and how), and the
local stand-in (`bastion.dev.dsa_tdb`) answers with the API's own 422 shape, so a test cannot pass
against a stand-in that is laxer than the builder.

What the schema does not check, the real API may still refuse; the client treats every 422 it
cannot explain as a refusal to show a person, never as a reason to retry.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

DECISION_VISIBILITY = frozenset({
    "DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER"})
DECISION_MONETARY = frozenset({"DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION",
                               "DECISION_MONETARY_OTHER"})
DECISION_PROVISION = frozenset({"DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
                                "DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION"})
DECISION_ACCOUNT = frozenset({"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"})
ACCOUNT_TYPE = frozenset({"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"})
DECISION_GROUND = frozenset({"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"})
CONTENT_TYPE = frozenset({"CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
                          "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO",
                          "CONTENT_TYPE_OTHER"})
#: The v2 categories (aligned with Implementing Regulation (EU) 2024/2835).
CATEGORY = frozenset({
    "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE", "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS", "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM", "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE"})
#: The keywords Bastion can have a reason to send (a subset of the API's list; the stand-in accepts only these).
KEYWORD = frozenset({
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE", "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_UNSAFE_CHALLENGES", "KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NUDITY", "KEYWORD_OTHER"})
SOURCE_TYPE = frozenset({"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION",
                         "SOURCE_VOLUNTARY"})
AUTOMATED_DECISION = frozenset({"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
                                "AUTOMATED_DECISION_NOT_AUTOMATED"})
YES_NO = frozenset({"Yes", "No"})
EU_COUNTRIES = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
                "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK")
EEA_COUNTRIES = tuple(sorted((*EU_COUNTRIES, "IS", "LI", "NO")))
#: The multiple endpoint takes at most this many statements per call.
BATCH_LIMIT = 100
PUID = re.compile(r"[A-Za-z0-9_-]{1,500}")

_SINGLE = {"decision_monetary": DECISION_MONETARY, "decision_provision": DECISION_PROVISION,
           "decision_account": DECISION_ACCOUNT, "account_type": ACCOUNT_TYPE, "decision_ground": DECISION_GROUND,
           "category": CATEGORY, "source_type": SOURCE_TYPE, "automated_detection": YES_NO,
           "automated_decision": AUTOMATED_DECISION, "incompatible_content_illegal": YES_NO}
_LISTS = {"decision_visibility": DECISION_VISIBILITY, "content_type": CONTENT_TYPE, "category_addition": CATEGORY,
          "category_specification": KEYWORD, "territorial_scope": frozenset(EEA_COUNTRIES)}
_TEXT_LIMITS = {"decision_facts": 5000, "illegal_content_legal_ground": 500, "illegal_content_explanation": 2000,
                "incompatible_content_ground": 500, "incompatible_content_explanation": 2000,
                "decision_visibility_other": 500, "decision_monetary_other": 500, "content_type_other": 500,
                "category_specification_other": 500, "source_identity": 500}
_REQUIRED = ("decision_ground", "content_type", "category", "territorial_scope", "content_date", "application_date",
             "decision_facts", "source_type", "automated_detection", "automated_decision", "puid")
_DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
_END_DATES = ("end_date_visibility_restriction", "end_date_monetary_restriction", "end_date_service_restriction",
              "end_date_account_restriction")
#: Conditional requirements: (field, required when this field, has this value).
_REQUIRED_IF = (("illegal_content_legal_ground", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
                ("illegal_content_explanation", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
                ("incompatible_content_ground", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
                ("incompatible_content_explanation", "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
                ("decision_visibility_other", "decision_visibility", "DECISION_VISIBILITY_OTHER"),
                ("decision_monetary_other", "decision_monetary", "DECISION_MONETARY_OTHER"),
                ("content_type_other", "content_type", "CONTENT_TYPE_OTHER"))


def _words(name: str) -> str:
    return name.replace("_", " ")


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _present(statement: dict[str, Any], name: str) -> bool:
    return statement.get(name) not in (None, "", [])


def validate(statement: Any) -> dict[str, list[str]]:
    """Every problem with one statement, by field, in the API's own words; empty when it is valid."""
    if not isinstance(statement, dict):
        return {"statement": ["The statement must be a JSON object."]}
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not any(_present(statement, d) for d in _DECISIONS):
        for name in _DECISIONS:
            others = " / ".join(_words(o) for o in _DECISIONS if o != name)
            add(name, f"The {_words(name)} field is required when none of {others} are present.")
    for name in _REQUIRED:
        if not _present(statement, name):
            add(name, f"The {_words(name)} field is required.")
    for name, allowed in _SINGLE.items():
        if _present(statement, name) and statement[name] not in allowed:
            add(name, f"The selected {_words(name)} is invalid.")
    for name, allowed in _LISTS.items():
        if not _present(statement, name):
            continue
        value = statement[name]
        if not isinstance(value, list):
            add(name, f"The {_words(name)} field must be an array.")
        elif any(v not in allowed for v in value):
            add(name, f"The selected {_words(name)} is invalid.")
        elif len(set(value)) != len(value):
            add(name, f"The {_words(name)} field has a duplicate value.")
    for name, limit in _TEXT_LIMITS.items():
        value = statement.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            add(name, f"The {_words(name)} field must be a string of at most {limit} characters.")
    for name, when, value in _REQUIRED_IF:
        current = statement.get(when)
        hit = value in current if isinstance(current, list) else current == value
        if hit and not _present(statement, name):
            add(name, f"The {_words(name)} field is required when {_words(when)} is {value}.")
    puid = statement.get("puid")
    if _present(statement, "puid") and not (isinstance(puid, str) and PUID.fullmatch(puid)):
        add("puid", "The puid format is invalid: at most 500 characters, only a-z, A-Z, 0-9, '-' and '_'.")
    content_date, application_date = _date(statement.get("content_date")), _date(statement.get("application_date"))
    if _present(statement, "content_date") and (content_date is None or content_date < date(2000, 1, 1)):
        add("content_date", "The content date must be a date (YYYY-MM-DD) on or after 2000-01-01.")
    if _present(statement, "application_date") and (application_date is None or application_date < date(2020, 1, 1)):
        add("application_date", "The application date must be a date (YYYY-MM-DD) on or after 2020-01-01.")
    for name in _END_DATES:
        if not _present(statement, name):
            continue
        end = _date(statement[name])
        if end is None or (application_date is not None and end < application_date):
            add(name, f"The {_words(name)} must be a date (YYYY-MM-DD) on or after the application date.")
    return errors


def summary(errors: dict[str, list[str]]) -> str:
    """The API's `message`: the first error, and how many more there are."""
    messages = [m for ms in errors.values() for m in ms]
    if not messages:
        return ""
    more = len(messages) - 1
    return messages[0] + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")
