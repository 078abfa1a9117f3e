"""A failure that repeats (the database away for a minute, a flood of slow clients) is logged once per cause.

A 60 s PostgreSQL outage used to write ~870 tracebacks: every claim batch, every spooled callback, every outbox
round and every replay sweep logged its own. A `FailureLog` names a recurring piece of work ("inbound claims",
"outbox round"): the first failure of each cause is one line (with its traceback), repeats of that cause are
counted and summed up at most once every `summary_every_s`, and the first success after failures is one line
saying how many there were and for how long.

A cause is the innermost exception's type and the first line of its message (SQLAlchemy appends the statement,
which differs from call to call).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

SUMMARY_EVERY_S = 60.0


def cause_of(exc: BaseException) -> str:
    """`TypeName: first line of the message` of the exception at the bottom of the chain."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or getattr(exc, "orig", None) or exc.__context__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


class FailureLog:
    def __init__(self, logger: logging.Logger, what: str, summary_every_s: float = SUMMARY_EVERY_S,
                 level: int = logging.WARNING, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.what, self.every_s, self.level, self.clock = logger, what, summary_every_s, level, clock
        self.counts: Counter[str] = Counter()  # cause → failures since the last success
        self._unsummed = 0  # failures not yet logged or summed up
        self._since = 0.0  # first failure since the last success
        self._summed_at = 0.0

    @property
    def failing(self) -> bool:
        return bool(self.counts)

    def failed(self, exc: BaseException, detail: str = "") -> None:
        """One failure; logged when its cause is new, else counted (and summed up now and then)."""
        cause, now = cause_of(exc), self.clock()
        if not self.counts:
            self._since = self._summed_at = now
        self.counts[cause] += 1
        suffix = f" ({detail})" if detail else ""
        if self.counts[cause] == 1:
            self.logger.log(self.level, "%s failed: %s%s; repeats are counted, not logged", self.what, cause,
                            suffix, exc_info=exc if exc.__traceback__ else None, stacklevel=2)
            return
        self._unsummed += 1
        if now - self._summed_at >= self.every_s:
            self.logger.log(self.level, "%s still failing: %d more failure(s) in the last %.0f s (%s)", self.what,
                            self._unsummed, now - self._summed_at, self._causes(), stacklevel=2)
            self._summed_at, self._unsummed = now, 0

    def succeeded(self) -> None:
        """The work went through: one line when it had failed more than once (one failure said all already)."""
        if not self.counts:
            return
        if sum(self.counts.values()) > 1:
            self.logger.warning("%s recovered after %d failures over %.0f s (%s)", self.what,
                                sum(self.counts.values()), self.clock() - self._since, self._causes(), stacklevel=2)
        self.counts.clear()
        self._unsummed = 0

    def _causes(self) -> str:
        return "; ".join(f"{n}× {cause}" for cause, n in self.counts.most_common(3))


class RefusalLog:
    """Requests refused at the door (a bad signature, a replayed sign, a body too large): the first of each kind in
    a minute is one WARNING line, the rest of that minute are only counted and the next line of that kind says how
    many — 2,000 forged callbacks are a few lines, not 2,000. The repeats at the end of a burst are said only by
    the next line of that kind; until then `/metrics` (`wecom_rejected_*`, `dingtalk_*`) counts every one."""

    def __init__(self, logger: logging.Logger, every_s: float = SUMMARY_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.every_s, self.clock = logger, every_s, clock
        self._logged_at: dict[str, float] = {}
        self._quiet: Counter[str] = Counter()

    def refused(self, kind: str, msg: str, *args: object) -> None:
        now, last = self.clock(), self._logged_at.get(kind)
        if last is not None and now - last < self.every_s:
            self._quiet[kind] += 1
            return
        if last is not None and (quiet := self._quiet.pop(kind, 0)):
            msg = f"{msg} (and {quiet} more like it in the last {now - last:.0f} s)"
        self._logged_at[kind] = now
        self.logger.warning(msg, *args, stacklevel=2)
