"""bot/faults.FailureLog: a repeating failure is one line per cause, a summary now and then, a line on recovery."""

from __future__ import annotations

import logging

import pytest

from bot.faults import FailureLog, RefusalLog, cause_of


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def boom(message: str) -> Exception:
    try:
        try:
            raise ConnectionRefusedError(message)
        except OSError as inner:
            raise RuntimeError(f"wrapped\n[SQL: SELECT {message}]") from inner
    except RuntimeError as exc:
        return exc


def test_the_cause_is_the_innermost_exception_first_line() -> None:
    assert cause_of(boom("refused")) == "ConnectionRefusedError: refused"
    assert cause_of(ValueError()) == "ValueError"


def test_repeats_are_counted_summed_up_once_a_minute_and_recovery_said(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Ticks()
    failures = FailureLog(logging.getLogger("t"), "claims", clock=clock)
    for second in range(120):  # two failures a second for two minutes, one cause
        clock.now = float(second)
        failures.failed(boom("refused"))
        failures.failed(boom("refused"))
    failures.failed(boom("timeout"))  # a second cause: its own first line
    clock.now = 130.0
    failures.succeeded()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines  # first, the summary at 60 s, the new cause, the recovery
    assert [r.exc_info is not None for r in caplog.records] == [True, False, True, False]
    assert "still failing: 120 more failure(s) in the last 60 s" in lines[1]
    assert "recovered after 241 failures over 130 s" in lines[-1]
    failures.succeeded()  # nothing to say twice
    failures.failed(boom("refused"))  # a new outage is news again
    assert len(caplog.records) == 5 and caplog.records[-1].exc_info


def test_refusals_log_the_first_of_a_kind_then_say_how_many_came_meanwhile(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    refusals = RefusalLog(logging.getLogger("test.refusals"), every_s=60, clock=ticks)
    caplog.set_level(logging.WARNING, "test.refusals")
    for _ in range(500):
        refusals.refused("sign", "refused %s", "bad sign")
        ticks.now += 0.1  # 50 s in all
    refusals.refused("too_large", "refused %s", "too large")  # another kind: its own first line
    ticks.now += 11
    refusals.refused("sign", "refused %s", "bad sign")
    assert [r.getMessage() for r in caplog.records] == [
        "refused bad sign", "refused too large", "refused bad sign (and 499 more like it in the last 61 s)"]
