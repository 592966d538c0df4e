"""The scripted-reviewer bench (bench/bench_reviewer.py) on 8 cases, in a real browser.

The bench's figures are only worth printing if its reviewer really decides every case through the
pages and its counter sees every act; this runs the same code small and checks exactly that. No
timing is asserted: the bench reports time, it does not judge it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_reviewer.py"
CASES = 8


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_reviewer", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_reviewer"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_scenario_mixes_exact_near_and_false_positives(bench) -> None:  # type: ignore[no-untyped-def]
    plan = bench.scenario(200)
    assert {k: sum(u.mix == k for u in plan) for k in ("exact", "near", "false_positive")} == {
        "exact": 80, "near": 70, "false_positive": 50}
    assert len({u.account for u in plan}) == 200  # one case per upload
    assert len({u.seed for u in plan if u.mix == "exact"}) == 4  # exact matches share a few list entries
    assert {u.intended for u in plan if u.mix == "false_positive"} == {"not_match"}


def test_the_check_finds_cases_nobody_decided(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = bench.scenario(4)
    with bench.world(tmp_path, plan, workbench=False) as live:  # today: no auto-action policy
        problems = bench.wrong_outcomes(live.sessions, plan, auto_actioned=True)
    assert sum("pending, meant" in p for p in problems) == 4
    assert sum(" is new" in p or " is in_review" in p for p in problems) == 4
    assert sum("no auto-action" in p for p in problems) == sum(u.mix == "exact" for u in plan) > 0


def test_both_flows_decide_every_case_as_intended_and_the_workbench_needs_fewer_acts(
        bench, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = bench.scenario(CASES)
    tallies = {}
    for flow in ("today", "workbench"):
        tally, problems = bench.run_flow(browser, tmp_path / flow, plan, flow=flow)
        assert problems == [], f"{flow}: {problems}"
        assert tally.decisions == CASES
        assert tally.interactions >= tally.decisions
        assert tally.fields == sum(u.mix == "false_positive" for u in plan)  # one typed reason per rejection
        tallies[flow] = tally
    today, workbench = tallies["today"], tallies["workbench"]
    assert today.keys == 0 and workbench.keys > 0  # the mouse today, the keyboard in the workbench
    assert workbench.interactions / workbench.decisions < today.interactions / today.decisions
    result = bench.summarise(plan, tallies)
    assert result["interaction_ratio"] > 1 and result["flows"]["today"]["decisions"] == CASES
