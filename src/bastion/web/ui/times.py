"""Times on pages: stored in UTC, shown in the viewer's own zone.

The server cannot know the viewer's zone, the browser can. So every time is rendered as a
`<time>` element carrying the exact UTC instant, with readable UTC text as the fallback;
`/static/local-time.js` rewrites the text in the browser's zone (an officer in Delhi reads IST,
a reviewer in Dublin reads GMT/IST) and keeps the UTC instant in the tooltip. No inline script.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from markupsafe import Markup, escape

#: How much of the moment a page shows.
FORMATS = {"minute": "%Y-%m-%d %H:%M", "second": "%Y-%m-%d %H:%M:%S", "date": "%Y-%m-%d", "time": "%H:%M"}


def when(value: datetime | date | None, precision: str = "minute") -> Markup | str:
    """`value` as a `<time>` the browser shows in the viewer's zone (UTC until the script runs)."""
    if value is None:
        return "—"
    if not isinstance(value, datetime):  # a calendar date (a notice's date) has no zone to convert
        return value.isoformat()
    moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    fmt = FORMATS.get(precision, FORMATS["minute"])
    text = moment.strftime(fmt) + ("" if precision == "date" else " UTC")
    iso = moment.isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" data-local="{}" title="{}">{}</time>').format(
        escape(iso), escape(precision), escape(moment.strftime(FORMATS["second"]) + " UTC"), escape(text))
