"""The stand-in's state machine and NCMEC's expiry rule, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.clock import ManualClock
from bastion.dev.ncmec import ReportState, StandinState
from bastion.ncmec.errors import (
    FileDoesNotExistError,
    ReportAlreadyFinishedError,
    ReportAlreadyRetractedError,
    ReportDoesNotExistError,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2031, 6, 1, 12, tzinfo=UTC))


@pytest.fixture
def state(clock: ManualClock) -> StandinState:
    return StandinState(clock)


@pytest.mark.parametrize(
    ("change_after", "alive_until"),
    [
        (None, timedelta(hours=24)),                     # untouched: 24 h after opening
        (timedelta(hours=10), timedelta(hours=24)),      # early change: still 24 h
        (timedelta(hours=23, minutes=30), timedelta(hours=24, minutes=30)),  # late change: +1 h wins
    ],
)
def test_expiry_is_the_later_of_24h_after_opening_and_1h_after_last_change(
    state: StandinState, clock: ManualClock, change_after: timedelta | None, alive_until: timedelta
) -> None:
    opened = clock.now()
    report_id = state.open()
    if change_after is not None:
        clock.advance(change_after)
        state.add_file(report_id, md5="0" * 32, size=1)
    clock.advance(opened + alive_until - clock.now() - timedelta(seconds=1))
    assert state.report_state(report_id) is ReportState.OPEN
    clock.advance(timedelta(seconds=1))
    assert state.report_state(report_id) is None
    with pytest.raises(ReportDoesNotExistError):
        state.ensure_open(report_id)


def test_order_of_calls_is_enforced(state: StandinState) -> None:
    report_id = state.open()
    with pytest.raises(FileDoesNotExistError):
        state.describe_file(report_id, "missing")
    file_id = state.add_file(report_id, md5="0" * 32, size=1)
    state.describe_file(report_id, file_id)
    assert state.finish(report_id) == [file_id]
    with pytest.raises(ReportAlreadyFinishedError):
        state.retract(report_id)

    other = state.open()
    state.retract(other)
    with pytest.raises(ReportAlreadyRetractedError):
        state.finish(other)
    with pytest.raises(ReportAlreadyRetractedError):
        state.add_file(other, md5="0" * 32, size=1)


def test_report_ids_are_distinct(state: StandinState) -> None:
    assert len({state.open() for _ in range(5)}) == 5


def test_a_naive_clock_is_refused() -> None:
    state = StandinState(lambda: datetime(2031, 1, 1))
    with pytest.raises(TypeError, match="aware"):
        state.open()


def test_a_bare_callable_clock_is_accepted() -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    state = StandinState(lambda: now)
    assert state.report_state(state.open()) is ReportState.OPEN
