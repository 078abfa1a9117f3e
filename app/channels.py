"""The configured channels, each one object with its API client, sender and receiver (bot/channels/<name>/channel.py).
Built once the services exist: each adds its sender to the services' (the outbox delivers through it); the webhook
app then registers each channel's receiver (`channel.register(app, intake)`). The console's own process builds
them for their senders only. Used by `salesbot serve` and by the console's process."""

from __future__ import annotations

from bot.channels.dingtalk.channel import DingtalkChannel
from bot.channels.dingtalk.sender import DingtalkSender
from bot.channels.wecom.channel import WecomChannel
from bot.channels.wecom.sender import WecomSender
from bot.services import Services

Channel = WecomChannel | DingtalkChannel


def build_channels(services: Services) -> list[Channel]:
    """Every configured channel. A sender the services were given for it already (a test's) is the channel's."""
    settings, given = services.settings, services.channels
    channels: list[Channel] = []
    if settings.wecom.enabled:
        wecom = given.get(WecomChannel.name)
        channels.append(WecomChannel(settings.wecom, wecom if isinstance(wecom, WecomSender) else None))
    if settings.dingtalk.enabled:
        dingtalk = given.get(DingtalkChannel.name)
        channels.append(DingtalkChannel(settings.dingtalk, dingtalk if isinstance(dingtalk, DingtalkSender) else None))
    for channel in channels:
        services.add_sender(channel.sender)
    return channels
