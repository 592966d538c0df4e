"""Typed, registered organisation settings.

Only registered keys exist, each with a type, default and description, so a typo is
an error rather than a silently ignored value. Domains register their own keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound
from bastion.orgsettings.models import OrgSettingRow


@dataclass(frozen=True)
class OrgSetting:
    key: str
    type: type
    default: Any
    description: str
    #: Bounds a number must lie within (inclusive), shown as the number field's min/max and checked on save.
    minimum: float | None = None
    maximum: float | None = None
    #: For an enumeration: the only values accepted, offered as a select.
    choices: tuple[str, ...] = ()

    @property
    def lower_bound(self) -> float | None:
        """The least accepted number: a whole-number setting is never negative unless it says otherwise."""
        if self.minimum is None and self.type is int:
            return 0
        return self.minimum

    @property
    def control(self) -> str:
        """Which form control edits this setting: checkbox, number, select or text."""
        if self.type is bool:
            return "checkbox"
        if self.choices:
            return "select"
        return "number" if self.type in (int, float) else "text"

    @property
    def step(self) -> str:
        """A number field's step: whole numbers for an int, any fraction for a float."""
        return "1" if self.type is int else "any"

    def coerce(self, raw: Any) -> Any:
        """Parse a value given by a person (a string from a form) or a program (JSON)."""
        try:
            if self.type is bool and isinstance(raw, str):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                return raw.lower() in ("true", "1", "yes", "on")
            value = self.type(raw)
        except (TypeError, ValueError):
            raise InvalidInput(f"{self.key} must be a {self.type.__name__}; {raw!r} is not.") from None
        if self.type in (int, float):
            low, high = self.lower_bound, self.maximum
            if low is not None and value < low:
                raise InvalidInput(f"{self.key} cannot be below {low:g}; enter {low:g} or more."
                                   if low else f"{self.key} cannot be negative.")
            if high is not None and value > high:
                raise InvalidInput(f"{self.key} cannot be above {high:g}; enter {high:g} or less.")
        if self.choices and value not in self.choices:
            raise InvalidInput(f"{self.key} must be one of {', '.join(self.choices)}; {value!r} is not.")
        return value


REGISTRY: dict[str, OrgSetting] = {}


def register(key: str, type_: type, default: Any, description: str, *, minimum: float | None = None,
             maximum: float | None = None, choices: tuple[str, ...] = ()) -> OrgSetting:
    setting = OrgSetting(key, type_, default, description, minimum=minimum, maximum=maximum, choices=choices)
    REGISTRY[key] = setting
    return setting


register("org.name", str, "Bastion", "Organisation name shown in the interface and reports.")


def _definition(key: str) -> OrgSetting:
    if key not in REGISTRY:
        raise NotFound(f"No organisation setting {key!r}; known: {', '.join(sorted(REGISTRY))}.")
    return REGISTRY[key]


def get_value(session: Session, key: str) -> Any:
    definition = _definition(key)
    row = session.get(OrgSettingRow, key)
    return definition.default if row is None else json.loads(row.value)


def list_values(session: Session) -> dict[str, Any]:
    stored = {row.key: json.loads(row.value) for row in session.scalars(select(OrgSettingRow))}
    return {key: stored.get(key, d.default) for key, d in sorted(REGISTRY.items())}


def set_value(session: Session, key: str, raw: Any, *, actor: str, clock: Clock) -> Any:
    definition = _definition(key)
    value = definition.coerce(raw)
    old = get_value(session, key)
    row = session.get(OrgSettingRow, key)
    if row is None:
        row = OrgSettingRow(key=key, value="null", updated_at=clock.now(), updated_by=actor)
        session.add(row)
    row.value, row.updated_at, row.updated_by = json.dumps(value), clock.now(), actor
    audit.record(session, actor=actor, action="setting.change", subject=f"setting:{key}",
                 details={"from": old, "to": value}, clock=clock)
    return value


def fractions(session: Session, key: str) -> list[float]:
    """A setting holding fractions of a span (reminder points, say), validated: a bad value is an error."""
    raw = str(get_value(session, key))
    try:
        values = sorted({float(part) for part in raw.replace(",", " ").split()})
    except ValueError:
        raise InvalidInput(f"{key} must be numbers between 0 and 1, like '0.5 0.8'; got {raw!r}.") from None
    if any(not 0 < v < 1 for v in values):
        raise InvalidInput(f"{key} values must lie strictly between 0 and 1; got {raw!r}.")
    return values
