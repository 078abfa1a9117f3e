"""The long-lived parts one process shares: settings, database, clock, router, outbox, channels — built once by
app/runtime.py and frozen (a test that needs another router or clock builds its own Services, or
`dataclasses.replace`s one) — and the expensive objects they build on first use: `Shared` (from the settings or the
database) and `Engines` (from code and machine, bot/engines.py; a `replace` copy keeps the same)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.delivery import Senders
from bot.engines import Engines
from bot.outbox import OutboxSender
from bot.router import Router
from storage.db import Database

T = TypeVar("T")
# Who of these recipients is outside their working hours now, and until when (reminders.directory).
QuietHours = Callable[[AsyncSession, set[str], datetime], Awaitable[dict[str, datetime]]]


@dataclass(frozen=True, eq=False)
class Shared(Generic[T]):
    """A process-wide object (a knowledge index, a tokenizer, a worker id) that the services build once, on
    first use, and keep: declared next to the code that uses it, `services.shared(KEY)` gives it typed."""

    name: str
    build: Callable[[Services], T]


@dataclass(frozen=True, eq=False)
class Services:
    """Frozen: nothing is swapped after start-up. The one mutable part is the `Shared` table, filled on first use
    of each key (and empty again in a `dataclasses.replace` copy, which builds its own)."""

    settings: Settings
    db: Database
    clock: Clock
    router: Router[Any]  # Router[bot.context.Context]: the context holds the services
    outbox: OutboxSender
    channels: Senders = field(default_factory=Senders)  # the outbox's: every channel's sender, given at the build
    quiet_hours: QuietHours | None = None  # None: everyone is reachable at any time
    engines: Engines = field(default_factory=Engines)  # built from code and machine: OCR engine, OCR threads
    # the durable file imports by kind: bot.jobs.ImportKind (jobs reads the services, so not named here), given
    # at the build (handlers.build_imports)
    imports: Mapping[str, Any] = field(default_factory=dict)
    _shared: dict[Shared[Any], Any] = field(default_factory=dict, init=False, repr=False)

    def shared(self, key: Shared[T]) -> T:
        if key not in self._shared:
            self._shared[key] = key.build(self)
        return cast(T, self._shared[key])

    @property
    def default_channel(self) -> str:
        """Where messages go for a user we have never heard from."""
        return self.settings.default_channel

    def wake_outbox(self) -> None:
        self.outbox.wake()
