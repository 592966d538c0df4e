"""Run one fuzz target under atheris (libFuzzer flags pass through).

    python -m tests.fuzz.run media tests/fuzz/corpus/media -runs=2000 -seed=1
    python -m tests.fuzz.run media tests/fuzz/corpus/media -max_total_time=300   # make fuzz

libFuzzer adds new interesting inputs to the first corpus directory given: `make fuzz` passes a
scratch copy, so nothing lands in the repository without a person looking at it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["bastion"]):
    from tests.fuzz.targets import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.run {{{','.join(TARGETS)}}} [corpus dir] [libFuzzer flags]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
