"""What the outbox needs from a channel: deliver one body to one recipient."""

from __future__ import annotations

from typing import Any, Protocol

from bot.messages import Body


class DeliveryError(Exception):
    """A failed delivery. `permanent` → dead-letter now; else retry (after `retry_after` s if given).
    `counted=False`: the remote was not really tried or cannot succeed until someone acts (our own throttle, an
    app-wide pause, a configuration error) — the attempt does not count towards dead-lettering."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 counted: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.counted = counted


class ChannelSender(Protocol):
    name: str

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        """Send one message; return what the remote answered worth keeping (msgid, response_code...).

        Raise DeliveryError on failure. Must be safe to call again with the same dedup_key.
        """
        ...
