"""Which HMA a caller gets: Bastion's (extra signals, better image conversion) or HMA's exactly ("strict").

Bastion's HMA API offers more than HMA: md5, sha1 and sha256 beside pdq, images of
every pixel mode converted correctly, rotated and mirrored copies matched. Clients
written against HMA's exact answers (a fixed set of keys in `/c/signal_type`, in an
add-content response's `signals`) can break on the extras. In strict mode Bastion
answers as HMA does:

- only the signal types in `hma_strict_signal_types` exist (HMA's default: pdq and
  video_md5): others are unknown everywhere, as HMA reports unknown types;
- PDQ is computed from pixels converted as python-threatexchange converts them
  (`bastion.web.hma.conversion`), so values agree bit for bit with HMA's;
- lookups match the upright hash only.

Strict mode is per deployment (setting `hma_strict`) or per API key (organisation
setting `hma.strict_keys`: key ids, as `/api/v1/apikeys` lists them).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from bastion import orgsettings
from bastion.orgsettings.store import register
from bastion.web.hma import types
from bastion.web.state import get_state

STRICT_KEYS = "hma.strict_keys"
register(STRICT_KEYS, str, "",
         "API key ids (comma-separated) whose HMA API (/h, /m, /c) answers exactly as HMA does: HMA's signal "
         "types only and HMA's image conversion. Every key, deployment-wide: the hma_strict setting.")

#: `conversion` query values: Bastion's own pixel conversion, or python-threatexchange's (HMA's).
BASTION, HMA = "bastion", "hma"


@dataclass(frozen=True)
class Dialect:
    """The signal types offered to one caller, and how its images are converted for PDQ."""

    strict: bool
    names: tuple[str, ...]  # HMA names, in `types.SIGNAL_TYPES` order

    def offers(self, name: str) -> bool:
        return name in self.names

    def signal_type(self, name: str) -> types.SignalType:
        """As `types.signal_type`, but a type this dialect does not offer does not exist."""
        if not self.offers(name):
            raise HTTPException(400, f"No such SignalType '{name}'")
        return types.signal_type(name)

    def select_types(self, content: str, types_arg: str | None) -> list[str]:
        """As `types.select_types`, restricted to the types offered (HMA's own errors otherwise)."""
        chosen = types.select_types(content, types_arg)
        if not self.strict:
            return chosen
        if types_arg is None:
            kept = [name for name in chosen if self.offers(name)]
            if not kept:
                raise HTTPException(500, "No signal types configured!")
            return kept
        for name in chosen:
            if not self.offers(name):
                raise HTTPException(400, f"signal type '{name}' doesn't exist or is disabled")
        return chosen

    def reported(self, signals: dict[str, str]) -> dict[str, str]:
        """Stored signals, keeping only the types offered."""
        return {name: value for name, value in signals.items() if self.offers(name)}

    def conversion(self, arg: str | None) -> str:
        """The pixel conversion for PDQ: the `conversion` query parameter, HMA's whenever strict."""
        if arg not in (None, "", BASTION, HMA):
            raise HTTPException(400, f"conversion must be '{BASTION}' or '{HMA}', not '{arg}'")
        return HMA if self.strict or arg == HMA else BASTION


FULL = Dialect(False, tuple(types.SIGNAL_TYPES))


def strict_key_ids(raw: str) -> set[int]:
    """Key ids from the `hma.strict_keys` setting; anything that is not a number is ignored."""
    return {int(part) for part in raw.replace(",", " ").split() if part.isdigit()}


def dialect_of(request: Request, session: Session) -> Dialect:
    """The caller's dialect (call after `needs`, which puts the caller on `request.state`)."""
    settings = get_state(request).settings
    strict = settings.hma_strict
    principal = getattr(request.state, "principal", None)
    key_id = getattr(principal, "api_key_id", None)
    if not strict and key_id is not None:
        strict = key_id in strict_key_ids(str(orgsettings.get_value(session, STRICT_KEYS)))
    if not strict:
        return FULL
    wanted = {name.strip() for name in settings.hma_strict_signal_types.split(",") if name.strip()}
    return Dialect(True, tuple(name for name in types.SIGNAL_TYPES if name in wanted))
