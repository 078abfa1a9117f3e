"""The long-lived parts one process shares: settings, database, clock, router, channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.clock import Clock
from bot.config import Settings
from bot.router import Router
from storage.db import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.channels.base import ChannelSender
    from bot.outbox import OutboxSender

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    router: Router[Any]  # Router[bot.context.Context]: the context holds the services
    channels: dict[str, ChannelSender] = field(default_factory=dict)
    outbox: OutboxSender | None = None
    components: dict[str, Any] = field(default_factory=dict)
    # Who of these recipients is outside their working hours now, and until when (reminders.directory);
    # None: everyone is reachable at any time.
    quiet_hours: Callable[[AsyncSession, set[str], datetime], Awaitable[dict[str, datetime]]] | None = None

    def component(self, name: str, factory: Callable[[Services], T]) -> T:
        """A shared component built once per process on first use (knowledge index, OCR pool…)."""
        if name not in self.components:
            self.components[name] = factory(self)
        return self.components[name]  # type: ignore[no-any-return]

    @property
    def default_channel(self) -> str:
        """Where messages go for a user we have never heard from."""
        return self.settings.default_channel

    def wake_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()
