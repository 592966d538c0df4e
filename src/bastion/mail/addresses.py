"""Checking addresses and header text before they reach a row or a wire.

Everything here fails early, at `queue_mail` time, with a sentence for the caller:
a bad address found by the SMTP server an hour later is a dead letter nobody reads.
Header text may never contain CR or LF (header injection: an attacker-supplied subject
with "\\r\\nBcc: ..." would add recipients).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from email.utils import parseaddr

from bastion.errors import InvalidInput

MAX_RECIPIENTS = 50
MAX_ADDRESS = 254  # RFC 5321's limit on a forward path


def check_address(value: str) -> str:
    """The canonical `local@domain` form of one plain address, or `InvalidInput`."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ADDRESS:
        raise InvalidInput(f"An email address must be 1 to {MAX_ADDRESS} characters.")
    try:
        address = Address(addr_spec=value.strip())
    except (ValueError, HeaderParseError, MessageDefect):  # MessageDefect: the parser's strict mode
        raise InvalidInput(f"{value!r} is not a plain email address like officer@agency.gov.") from None
    if not address.username or not address.domain:
        raise InvalidInput(f"{value!r} is not a plain email address like officer@agency.gov.")
    return address.addr_spec


def check_recipients(to: str | Sequence[str]) -> list[str]:
    """One address or a list of them, checked, without duplicates, order kept."""
    items = [to] if isinstance(to, str) else list(to)
    if not items or len(items) > MAX_RECIPIENTS:
        raise InvalidInput(f"A message needs 1 to {MAX_RECIPIENTS} recipients.")
    return list(dict.fromkeys(check_address(item) for item in items))


def check_mailbox(value: str) -> Address:
    """A From address, plain (`desk@example.org`) or with a name (`Legal Desk <desk@example.org>`)."""
    name, spec = parseaddr(value)
    if "\r" in value or "\n" in value or not spec:
        raise InvalidInput(f"{value!r} is not an address like 'Legal Desk <desk@example.org>'.")
    return Address(display_name=name, addr_spec=check_address(spec))


def check_header_text(name: str, value: str, limit: int) -> str:
    """Text that goes into a header: non-empty, bounded, single line."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"A message's {name} must be 1 to {limit} characters.")
    if "\r" in value or "\n" in value:
        raise InvalidInput(f"A message's {name} must be a single line.")
    return value
