"""DingTalk as one object: its API client (one token), its sender (delivers the outbox's rows) and its receiver
(the HTTP callback or the Stream client). Built by app/channels.py before the services (its sender is part of their
frozen build); `register(app, intake)` then builds the receiver, which adds itself to the webhook app and keeps
itself in `app[RECEIVER]`: the channel holds no reference to it."""

from __future__ import annotations

from aiohttp import web

from bot.channels.dingtalk.callback import Receiver
from bot.channels.dingtalk.sender import DingtalkSender
from bot.config import DingtalkSettings
from bot.intake import Intake


class DingtalkChannel:
    name = "dingtalk"

    def __init__(self, settings: DingtalkSettings, sender: DingtalkSender | None = None) -> None:
        """`sender`: one built already (a test's); else the channel builds its own."""
        self.settings = settings
        self.sender = sender or DingtalkSender(settings)
        self.api = self.sender.api  # the receiver downloads pictures and opens the Stream with the same client

    def register(self, app: web.Application, intake: Intake) -> None:
        Receiver(intake, self.settings, self.api).register(app)

    def register_replays(self, intake: Intake) -> None:
        """No routes: claimed payloads handed over by `serve` are handled here (the handler process)."""
        intake.register_replayer(self.name, Receiver(intake, self.settings, self.api).replay)
