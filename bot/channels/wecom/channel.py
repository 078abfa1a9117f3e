"""WeCom as one object: its API client (one token, one throttle), its sender (delivers the outbox's rows) and its
receiver (the callback routes). Built by app/channels.py before the services (its sender is part of their frozen
build); `register(app, intake)` then builds the receiver, which adds its routes to the webhook app and keeps itself
in `app[WECOM]`: the channel holds no reference to it."""

from __future__ import annotations

from aiohttp import web

from bot.channels.wecom.callback import Receiver
from bot.channels.wecom.sender import WecomSender
from bot.config import WecomSettings
from bot.intake import Intake


class WecomChannel:
    name = "wecom"

    def __init__(self, settings: WecomSettings, sender: WecomSender | None = None) -> None:
        """`sender`: one built already (a test's, with its own retry delays); else the channel builds its own."""
        self.settings = settings
        self.sender = sender or WecomSender(settings)
        self.api = self.sender.api  # the receiver downloads media with the same client

    def register(self, app: web.Application, intake: Intake) -> None:
        Receiver(intake, self.settings, self.api).register(app)

    def register_replays(self, intake: Intake) -> None:
        """No routes: claimed payloads handed over by `serve` are handled here (the handler process)."""
        intake.register_replayer(self.name, Receiver(intake, self.settings, self.api).replay)
