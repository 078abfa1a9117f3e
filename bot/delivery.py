"""What the outbox needs from a channel: deliver one body to one recipient; the senders of a process (`Senders`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.messages import Body

# How a failed delivery is handled (bot/outbox.py):
#   retryable   — backoff and retry; counts towards dead-lettering (network error, 5xx, a remote "busy")
#   needs_admin — a configuration problem (credential, IP allow-list): retried slowly without counting, until fixed
#   permanent   — dead-letter now (a 4xx the remote will answer the same way again, an unknown recipient)
#   wait        — not really tried (our own throttle, a remote rate limit): retried later, not counted
Failure = Literal["retryable", "needs_admin", "permanent", "wait"]


# The recipient's deliveries on the row's channel in the last HISTORY_S (newest HISTORY_CAP), read by the outbox in
# the transaction that claimed the row, for the one delivery task of that row: a channel's per-recipient limit counts
# every process's sends from it without a read of its own (bot/channels/shared_limits.py). None: not read.
SENT_BEFORE: ContextVar[Sequence[datetime] | None] = ContextVar("salesbot_sent_before", default=None)
HISTORY_S = 3600.0  # the longest per-recipient window of any channel (WeCom: 950 messages an hour)
HISTORY_CAP = 1000  # at least the largest per-recipient limit of any channel


class DeliveryError(Exception):
    """A failed delivery, classified by `kind` (above). The older flags still work: `permanent=True` is
    "permanent", `counted=False` is "wait"."""

    def __init__(self, message: str, *, kind: Failure | None = None, permanent: bool = False,
                 retry_after: float | None = None, counted: bool = True) -> None:
        super().__init__(message)
        self.kind: Failure = kind or ("permanent" if permanent else "retryable" if counted else "wait")
        self.permanent = self.kind == "permanent"
        self.counted = self.kind in ("retryable", "permanent")
        self.retry_after = retry_after


class ChannelSender(Protocol):
    name: str

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        """Send one message; return what the remote answered worth keeping (msgid, response_code...).

        Raise DeliveryError on failure. Must be safe to call again with the same dedup_key.
        """
        ...


class Senders(Mapping[str, ChannelSender]):
    """The senders of one process, by channel name: the outbox delivers through them. All given when the services
    are built (app/runtime.build_services: the configured channels', the console's, a test's); read-only."""

    def __init__(self, given: Mapping[str, ChannelSender] | None = None) -> None:
        self._senders: dict[str, ChannelSender] = dict(given or {})

    def __getitem__(self, name: str) -> ChannelSender:
        return self._senders[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._senders)

    def __len__(self) -> int:
        return len(self._senders)
