"""The configured channels, each one object with its API client, sender and receiver (bot/channels/<name>/channel.py).
Built from the settings before the services, so their senders are part of the frozen build (the outbox delivers
through them); the webhook app then registers each channel's receiver (`channel.register(app, intake)`). The
console's own process builds them for their senders only. Used by `salesbot serve` and by the console's process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.runtime import build_services
from bot.channels.dingtalk.channel import DingtalkChannel
from bot.channels.dingtalk.sender import DingtalkSender
from bot.channels.wecom.channel import WecomChannel
from bot.channels.wecom.sender import WecomSender
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import ChannelSender
from bot.services import Services

Channel = WecomChannel | DingtalkChannel


def build_channels(settings: Settings, given: Mapping[str, ChannelSender]) -> list[Channel]:
    """Every configured channel. A sender given for it already (a test's) is the channel's."""
    channels: list[Channel] = []
    if settings.wecom.enabled:
        wecom = given.get(WecomChannel.name)
        channels.append(WecomChannel(settings.wecom, wecom if isinstance(wecom, WecomSender) else None))
    if settings.dingtalk.enabled:
        dingtalk = given.get(DingtalkChannel.name)
        channels.append(DingtalkChannel(settings.dingtalk, dingtalk if isinstance(dingtalk, DingtalkSender) else None))
    return channels


async def build_with_channels(settings: Settings, clock: Clock, given: Mapping[str, ChannelSender] | None = None,
                              **options: Any) -> tuple[Services, list[Channel]]:
    """The configured channels, then the services with every sender — the given ones (the console's, a test's)
    and the channels' —, frozen. `options`: `build_services`' (router, engines, seed)."""
    channels = build_channels(settings, given or {})
    senders = {**(given or {}), **{channel.name: channel.sender for channel in channels}}
    return await build_services(settings, clock, senders, **options), channels
