"""What a use case did, for whoever asked: chat (bot/context.Context.apply), the web console
(app/console/act.perform) or a CLI command. A use case is a plain session function (no Context): it changes state
in the caller's transaction and returns a `Result`; the caller writes `sends` to the outbox in that same
transaction, so the state change and the messages it causes land together or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.messages import Body, Text


@dataclass
class Result:
    """A reply to the person who acted, a status line for the card they clicked, messages to others."""

    reply: Body | None = None
    more: list[Body] = field(default_factory=list)  # further replies, after `reply`
    card_status: str | None = None
    sends: list[tuple[str, Body, str]] = field(default_factory=list)  # (to, body, idempotency key)
    changed: bool = False  # False: refused or nothing to do (`reply` says why)
    cards: list[tuple[str, str]] = field(default_factory=list)  # other cards of the actor to set to card_status:
    # (channel, card ref), e.g. the freeze card after 改派 on the picker or a 延期 by text


def said(text: str) -> Result:
    """Nothing changed; `text` says why."""
    return Result(reply=Text(text))
