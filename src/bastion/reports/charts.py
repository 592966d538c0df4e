"""Charts drawn on the server with matplotlib (Agg): PNG for the PDFs, SVG for the pages. No CDN, no script.

A chart is data first (`Chart`: categories along the x axis, one list of values per series), built
from a report's figures, so a frozen report draws the same chart forever. Each bar carries an id
(`bar-<series>-<index>`) in the SVG, which is how tests count what was drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a GUI backend on a server
from matplotlib.figure import Figure  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "bastion"  # stable ids inside the SVG
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
PALETTE = ("#1f5f99", "#d9822b", "#2e8b57", "#a23b72", "#6b6b6b", "#c0392b", "#7d5ba6", "#17a2b8")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    categories: list[str]
    series: dict[str, list[int]] = field(default_factory=dict)
    stacked: bool = True
    ylabel: str = ""
    #: Series drawn as lines over the bars, on a second axis with its own unit (an age beside a count).
    lines: dict[str, list[float]] = field(default_factory=dict)
    y2label: str = ""

    def bars(self) -> int:
        """How many bars the chart draws (one per series and category)."""
        return len(self.categories) * len(self.series)


def matches_per_day(report: dict[str, Any]) -> Chart:
    days: dict[str, dict[str, int]] = report.get("series", {}).get("matches_per_day_by_bank", {})
    banks = sorted({bank for counts in days.values() for bank in counts})
    labels = list(days)
    return Chart("matches-per-day", _title("Matches per day, by bank", report), [d[8:] for d in labels],
                 {bank: [days[d].get(bank, 0) for d in labels] for bank in banks}, stacked=True, ylabel="matches")


def requests_per_country(report: dict[str, Any]) -> Chart:
    countries = report.get("law_enforcement", {})
    return Chart("requests-per-country", _title("Requests per country", report), list(countries),
                 {"requests": [row["requests"] for row in countries.values()]}, stacked=False, ylabel="requests")


def clocks(report: dict[str, Any]) -> Chart:
    countries = report.get("law_enforcement", {})
    return Chart("legal-clocks", _title("Legal clocks met and breached", report), list(countries),
                 {"met": [row["clocks_met"] for row in countries.values()],
                  "breached": [row["clocks_breached"] for row in countries.values()]}, stacked=False,
                 ylabel="requests")


def _title(text: str, report: dict[str, Any]) -> str:
    """The period in every title, and a provisional period said so on the chart itself."""
    return f"{text}, {report['period']}" + (" (PROVISIONAL: period not closed)" if report.get("provisional") else "")


def charts_for(report: dict[str, Any]) -> list[Chart]:
    """The charts a report of this kind carries."""
    if report["kind"] == "india-monthly":
        return [matches_per_day(report)]
    if report["kind"] == "dsa-transparency":
        return []
    return [requests_per_country(report), clocks(report)]


def draw(chart: Chart) -> Figure:
    fig = Figure(figsize=(7.5, 3.0), dpi=100)
    ax = fig.add_subplot()
    ax.set_title(chart.title, fontsize=11, pad=20)
    if not chart.categories or not chart.series:
        ax.text(0.5, 0.5, "No records in this period", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    positions = list(range(len(chart.categories)))
    n = len(chart.series)
    width = 0.8 if chart.stacked else 0.8 / n
    bottom = [0] * len(positions)
    for s, (name, values) in enumerate(chart.series.items()):
        if chart.stacked:
            xs = positions
        else:
            xs = [p - 0.4 + width * (s + 0.5) for p in positions]
        bars = ax.bar(xs, values, width=width, bottom=bottom if chart.stacked else None, label=name,
                      color=PALETTE[s % len(PALETTE)])
        for i, patch in enumerate(bars.patches):
            patch.set_gid(f"bar-{_safe(name)}-{i}")
        if chart.stacked:
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = -(-len(positions) // 12)  # at most a dozen labels: a month of days stays readable
    ax.set_xticks(positions[::step], chart.categories[::step], fontsize=9)
    ax.set_ylabel(chart.ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    handles = _draw_lines(ax, chart, positions, first_colour=n)
    if n > 1 or chart.stacked or handles:
        bars_handles, labels = ax.get_legend_handles_labels()
        # above the plot, under the title, so it never hides a bar or a point
        ax.legend(bars_handles + handles, labels + list(chart.lines), fontsize=8, frameon=False, loc="lower center",
                  bbox_to_anchor=(0.5, 1.0), ncols=min(4, len(labels) + len(handles)))
    fig.tight_layout()
    return fig


def _draw_lines(ax: Any, chart: Chart, positions: list[int], first_colour: int) -> list[Any]:
    """The chart's line series on a twin y axis; each line carries an id (`line-<series>`)."""
    if not chart.lines:
        return []
    twin = ax.twinx()
    twin.set_ylabel(chart.y2label)
    twin.spines[["top"]].set_visible(False)
    handles = []
    for s, (name, values) in enumerate(chart.lines.items()):
        (line,) = twin.plot(positions, values, marker="o", markersize=3, linewidth=1.5,
                            color=PALETTE[(first_colour + s) % len(PALETTE)])
        line.set_gid(f"line-{_safe(name)}")
        handles.append(line)
    return handles


def png(chart: Chart) -> bytes:
    buf = io.BytesIO()
    draw(chart).savefig(buf, format="png", metadata={"Software": "Bastion"})
    return buf.getvalue()


def svg(chart: Chart) -> str:
    buf = io.StringIO()
    draw(chart).savefig(buf, format="svg", metadata={"Date": None, "Creator": "Bastion"})
    return buf.getvalue()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
