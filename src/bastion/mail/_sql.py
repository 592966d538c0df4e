"""A typing shim for conditional UPDATEs."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched: how a conditional update tells a won race from a lost one."""
    return cast(CursorResult[Any], result).rowcount
