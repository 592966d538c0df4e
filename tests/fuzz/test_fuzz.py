"""The standing fuzz suite, bounded for CI: every seed and past crash replays, then atheris explores.

The rule is zero crashes: a target may only succeed or raise its typed error (see `targets.py`).
Runs are counted, not timed, and seeded, so a CI run is repeatable; `make fuzz` runs each target
for minutes instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
#: Inputs per target in CI: enough to get past the seeds' formats into their edge cases.
CI_RUNS = {"media": 20_000, "ncmec_xml": 60_000, "hash_list": 30_000}


def _inputs(target: str) -> list[Path]:
    found = [p for kind in ("corpus", "regressions") for p in sorted((HERE / kind / target).glob("*"))]
    return [p for p in found if p.is_file()]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_seeds_and_past_crashes_replay_cleanly(target: str) -> None:
    inputs = _inputs(target)
    assert inputs, f"no seeds for {target}"
    for path in inputs:
        TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzzing_finds_no_crash(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(HERE / "corpus" / target, corpus)
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", target, str(corpus), f"-runs={CI_RUNS[target]}", "-seed=1",
         "-max_len=65536", "-timeout=20", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert result.returncode == 0 and not crashes, (
        f"{target}: {crashes}\n{result.stderr[-4000:]}\nAdd the input to tests/fuzz/regressions/{target}/ "
        "once fixed.")
