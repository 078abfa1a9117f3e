"""The configured channels: their senders (built before the services) and their receivers (registered on the
webhook app once the intake exists). Used by `salesbot serve` and by the console's own process."""

from __future__ import annotations

from aiohttp import web

from bot.channels.dingtalk.callback import DingtalkChannel
from bot.channels.dingtalk.sender import DingtalkSender
from bot.channels.wecom.callback import WecomChannel
from bot.channels.wecom.sender import WecomSender
from bot.config import Settings
from bot.delivery import ChannelSender
from bot.intake import Intake


def build_channels(settings: Settings) -> dict[str, ChannelSender]:
    """Senders for every configured channel (plus console, which prints to the log)."""
    channels: dict[str, ChannelSender] = {}
    if settings.wecom.enabled:
        channels["wecom"] = WecomSender(settings.wecom)
    if settings.dingtalk.enabled:
        channels["dingtalk"] = DingtalkSender(settings.dingtalk)
    return channels


def register_channels(app: web.Application, intake: Intake) -> None:
    """Each enabled channel's receiver, sharing its sender's API client (one token, one throttle); a channel
    whose sender is not the real one (a test's) builds its own client."""
    senders, settings = intake.services.channels, intake.services.settings
    if settings.wecom.enabled:
        wecom = senders.get("wecom")
        WecomChannel(intake, settings.wecom, wecom.api if isinstance(wecom, WecomSender) else None).register(app)
    if settings.dingtalk.enabled:
        dingtalk = senders.get("dingtalk")
        api = dingtalk.api if isinstance(dingtalk, DingtalkSender) else None
        DingtalkChannel(intake, settings.dingtalk, api).register(app)
