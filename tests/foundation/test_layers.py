"""The house's shape: no import cycles, no upward imports, stand-ins reached only from the CLI.

:data:`ALLOWED` is the package diagram of ``docs/architecture.md`` as data: which
packages of ``src/bastion`` each package may import. Every import counts, including
those inside functions and under ``TYPE_CHECKING``: a lazy import is still a
dependency, and hiding one inside a function is how cycles usually creep in.

The import graph comes from grimp (the library behind import-linter); the rules are
ours, kept here as data so a change to the shape is one reviewed edit to this table
and to the diagram, which a test below holds in step.
"""

from __future__ import annotations

import graphlib
import re
from functools import cache
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "architecture.md"

#: The delivery layers: they may import any domain, and no domain may import them.
DELIVERY = {"web", "cli"}
#: Every local stand-in and demo app; only the CLI may start one.
STANDINS = "dev"

#: package -> the packages it may import (the root package ``bastion`` holds only the version).
ALLOWED: dict[str, set[str]] = {
    # foundation
    "config": set(),
    "clock": set(),
    "errors": set(),
    "logs": set(),
    "db": {"config", "errors"},
    "audit": {"clock", "db"},
    "executor": {"clock", "errors"},
    "timers": {"clock", "db", "executor"},
    "broker": {"clock", "config", "db", "errors", "executor"},
    "orgsettings": {"audit", "clock", "db", "errors"},
    "auth": {"audit", "clock", "db", "errors", "mail"},
    "outbox": {"audit", "broker", "clock", "db", "errors", "executor", "timers"},
    # protocol libraries: they know nothing of Bastion's domains
    "media": set(),
    "platform": set(),
    "production": {"bastion", "clock", "config", "errors"},
    # domains
    "banks": {"audit", "clock", "db", "errors", "media"},
    "matching": {"banks", "clock", "executor", "media", "timers"},
    "scanning": {"clock", "db", "errors", "matching", "media"},
    "batchscan": {"audit", "broker", "clock", "db", "errors", "executor", "media", "platform", "scanning"},
    "jobs": {"audit", "banks", "broker", "clock", "db", "errors", "executor", "scanning"},
    "evidence": {"audit", "clock", "config", "db", "errors", "executor", "timers"},
    "actions": {"clock", "db", "errors", "executor", "outbox", "platform"},
    "mail": {"clock", "config", "db", "errors", "executor", "outbox"},
    "cases": {"actions", "audit", "auth", "banks", "clock", "config", "db", "errors", "evidence", "executor",
              "media", "orgsettings", "platform", "scanning", "timers"},
    "ncmec": {"audit", "broker", "cases", "clock", "config", "db", "errors", "executor", "orgsettings", "scanning",
              "timers"},
    "legal": {"actions", "audit", "auth", "cases", "clock", "config", "db", "errors", "evidence", "executor", "mail",
              "ncmec", "orgsettings", "platform", "production", "timers"},
    "grievances": {"audit", "auth", "clock", "db", "errors", "executor", "mail", "orgsettings", "platform", "timers"},
    "notices": {"actions", "audit", "cases", "clock", "db", "errors", "executor", "legal", "orgsettings", "platform"},
    "appeals": {"actions", "audit", "auth", "banks", "cases", "clock", "db", "errors", "executor", "grievances",
                "ncmec", "notices", "orgsettings", "platform", "timers"},
    "exchanges": {"audit", "banks", "cases", "clock", "config", "db", "errors", "executor", "media", "outbox",
                  "scanning", "timers"},
    "authorities": {"audit", "cases", "clock", "db", "errors", "legal", "ncmec", "orgsettings", "production",
                    "scanning"},
    "dsa": {"actions", "audit", "cases", "clock", "db", "errors", "executor", "notices", "orgsettings", "timers"},
    # every domain's tables, for Alembic and the test fixtures
    "models": {"actions", "appeals", "audit", "auth", "authorities", "banks", "batchscan", "broker", "cases", "dsa", "evidence", "exchanges", "grievances", "jobs", "legal", "mail",
               "ncmec", "notices", "orgsettings", "reports", "scanning", "timers"},
    # stand-ins and delivery
    "dev": {"banks", "clock", "config", "db", "dsa", "exchanges", "media", "ncmec", "platform", "scanning"},
    "web": {"actions", "appeals", "audit", "auth", "authorities", "banks", "bastion", "batchscan", "broker", "grievances", "reports", "cases", "clock", "config", "db", "dsa", "errors", "evidence",
            "executor", "exchanges", "jobs", "legal", "logs", "mail", "matching", "media", "ncmec", "notices", "orgsettings", "outbox",
            "platform", "production", "scanning", "timers"},
    "reports": {"actions", "appeals", "audit", "auth", "cases", "clock", "db", "dsa", "errors", "executor", "grievances",
                "legal", "mail", "ncmec", "notices", "scanning", "timers"},
    "cli": {"audit", "auth", "banks", "broker", "clock", "config", "db", "dev", "errors", "evidence", "executor", "exchanges",
            "jobs", "logs", "matching",
            "media", "production", "scanning", "web", "reports"},
}


def package_of(module: str) -> str:
    """``bastion.legal.intake`` -> ``legal``; ``bastion.clock`` -> ``clock``; ``bastion`` -> ``bastion``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("bastion", cache_dir=None)


@cache
def module_imports() -> dict[str, set[str]]:
    g = graph()
    return {module: set(g.find_modules_directly_imported_by(module)) for module in g.modules}


def where(importer: str, imported: str) -> str:
    details = graph().get_import_details(importer=importer, imported=imported)
    return ", ".join(f"{importer}:{d['line_number']} ({d['line_contents'].strip()})" for d in details) or importer


def crossings() -> list[tuple[str, str, str, str]]:
    """Every import from one package into another: (from package, to package, importer, imported)."""
    return sorted((package_of(a), package_of(b), a, b) for a, targets in module_imports().items() for b in targets
                  if package_of(a) != package_of(b))


def test_the_graph_sees_the_whole_tree() -> None:
    modules = module_imports()
    assert "bastion.legal.intake" in modules and "bastion.web.hma.curation" in modules
    assert "bastion.legal.requests" in modules["bastion.legal.intake"]  # module-level import
    assert "bastion.evidence.config" in modules["bastion.cases.media"]  # an import inside a function counts too


def test_no_import_cycles_between_modules() -> None:
    sorter = graphlib.TopologicalSorter(module_imports())
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1][::-1]  # graphlib lists predecessors (the imported) first
        steps = [where(a, b) for a, b in zip(cycle, cycle[1:])]
        pytest.fail("Import cycle: " + " -> ".join(cycle) + "\n  " + "\n  ".join(steps)
                    + "\nMove the shared step into a third module both can import (see legal/requests.py).")


def test_every_package_is_on_the_diagram() -> None:
    packages = {package_of(m) for m in module_imports()} - {"bastion"}
    missing = packages - ALLOWED.keys()
    assert not missing, (f"New packages {sorted(missing)}: add each to ALLOWED here and to the diagram in "
                         "docs/architecture.md, with what it owns and what it may import.")
    assert not ALLOWED.keys() - packages, f"ALLOWED names packages that no longer exist: {sorted(ALLOWED.keys() - packages)}"


def test_packages_import_only_what_the_diagram_allows() -> None:
    wrong = [f"{src} may not import {dst}: {where(a, b)}" for src, dst, a, b in crossings()
             if dst not in ALLOWED[src]]
    assert not wrong, "Imports the diagram does not allow (docs/architecture.md):\n  " + "\n  ".join(wrong)


def test_the_diagram_allows_only_imports_that_exist() -> None:
    used = {(src, dst) for src, dst, _, _ in crossings()}
    stale = sorted(f"{src} -> {dst}" for src, targets in ALLOWED.items() for dst in targets if (src, dst) not in used)
    assert not stale, ("Allowed but no longer imported; drop them from ALLOWED and docs/architecture.md so the "
                       "diagram says what the code does: " + ", ".join(stale))


def test_the_diagram_has_layers_not_loops() -> None:
    graphlib.TopologicalSorter(ALLOWED).prepare()  # raises CycleError naming the loop


def test_domain_packages_never_import_web_or_cli() -> None:
    upward = [f"{src} -> {dst}: {where(a, b)}" for src, dst, a, b in crossings()
              if dst in DELIVERY and src not in DELIVERY | {STANDINS}]
    assert not upward, "Domain code imports the web or CLI layer:\n  " + "\n  ".join(upward)
    assert not any(dst == "cli" for src, dst, _, _ in crossings() if src == "web"), "web imports cli"


def test_only_the_cli_starts_stand_ins() -> None:
    reached = [f"{src}: {where(a, b)}" for src, dst, a, b in crossings() if dst == STANDINS and src != "cli"]
    assert not reached, "Only bastion.cli may import bastion.dev:\n  " + "\n  ".join(reached)


def documented_diagram() -> dict[str, set[str]]:
    """The table under "Packages and their allowed imports" in docs/architecture.md."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Packages and their allowed imports", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([a-z]+)`", cells[0]) if len(cells) >= 3 else None
        if name:
            table[name.group(1)] = set(re.findall(r"`([a-z]+)`", cells[-1]))
    return table


def test_the_documented_diagram_is_this_table() -> None:
    documented = documented_diagram()
    assert len(documented) > 20, "docs/architecture.md lost its table of allowed imports"
    differences = {name: (sorted(documented.get(name, set())), sorted(ALLOWED.get(name, set())))
                   for name in documented.keys() | ALLOWED.keys() if documented.get(name) != ALLOWED.get(name)}
    assert not differences, f"docs/architecture.md and ALLOWED disagree (docs, test): {differences}"


def test_the_documented_layers_follow_from_the_table() -> None:
    """Each row of the layer drawing holds the packages whose longest import path is that long."""
    level: dict[str, int] = {}

    def depth(package: str) -> int:
        if package not in level:
            below = [d for d in ALLOWED[package] if d in ALLOWED]
            level[package] = 1 + max(map(depth, below)) if below else 0
        return level[package]

    drawing = DOCS.read_text(encoding="utf-8").split("## The layers", 1)[1].split("```")[1]
    rows: dict[str, int] = {}
    for line in drawing.splitlines():
        row = re.match(r"\s*(\d+)\s", line)
        if row:  # notes follow a "#"
            drawn = line.split("#", 1)[0]
            rows.update({name: int(row.group(1)) for name in re.findall(r"[a-z]+", drawn) if name in ALLOWED})
    assert rows == {package: depth(package) for package in ALLOWED}
