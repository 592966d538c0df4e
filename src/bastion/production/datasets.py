"""Rendering a dataset (a list of flat-ish records) as JSON and as CSV.

JSON is the exact copy: every value as the platform gave it. CSV is the convenience
copy for a spreadsheet, and so is defended against spreadsheet formula injection: a
text cell that starts with = + - @ tab or CR (which Excel and LibreOffice would run as a
formula, e.g. a username "=HYPERLINK(...)") gets a leading apostrophe. Numbers are left
alone (a longitude of -122.4 stays a number). CSV is UTF-8 with a byte-order mark,
which is what makes Excel read non-Latin names correctly.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from bastion.errors import InvalidInput

DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_records(name: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records as plain JSON values, or `InvalidInput` naming the dataset and record."""
    if not DATASET_NAME.fullmatch(name):
        raise InvalidInput(f"Dataset name {name!r} must be 1-64 of a-z 0-9 _ - (it becomes a file name).")
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
        raise InvalidInput(f"Dataset {name!r} must be a list of records.")
    plain: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping) or not all(isinstance(k, str) for k in record):
            raise InvalidInput(f"Record {index} of dataset {name!r} must be an object with text keys.")
        try:
            plain.append(json.loads(json.dumps(dict(record), default=_json_default, allow_nan=False)))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"Record {index} of dataset {name!r} is not plain data: {exc}.") from None
    return plain


def to_json(records: list[dict[str, Any]]) -> bytes:
    return (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_csv(records: list[dict[str, Any]]) -> bytes:
    """One row per record; columns are every key seen, in first-seen order."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([_cell(c) for c in columns])
    for record in records:
        writer.writerow([_cell(record.get(column)) for column in columns])
    return out.getvalue().encode("utf-8-sig")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
