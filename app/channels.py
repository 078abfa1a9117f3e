"""The configured channels, each one object with its API client, sender and receiver (bot/channels/<name>/channel.py).
Built from the settings before the services, so their senders are part of the frozen build (the outbox delivers
through them); the webhook app then registers each channel's receiver (`channel.register(app, intake)`). The
console's own process builds them for their senders only. Used by `salesbot serve` and by the console's process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

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
S = TypeVar("S", WecomSender, DingtalkSender)


def build_channels(settings: Settings, given: Mapping[str, ChannelSender]) -> list[Channel]:
    """Every configured channel. A sender given for it already (a test's) is the channel's; one of another kind
    is refused (TypeError): the channel needs its sender's API client, and dropping it would be silent."""
    channels: list[Channel] = []
    if settings.wecom.enabled:
        channels.append(WecomChannel(settings.wecom, _given(given, WecomChannel.name, WecomSender)))
    if settings.dingtalk.enabled:
        channels.append(DingtalkChannel(settings.dingtalk, _given(given, DingtalkChannel.name, DingtalkSender)))
    return channels


def _given(given: Mapping[str, ChannelSender], name: str, kind: type[S]) -> S | None:
    sender = given.get(name)
    if sender is None or isinstance(sender, kind):
        return sender
    raise TypeError(f"the {name} channel is configured, so its sender must be a {kind.__name__}, "
                    f"not {type(sender).__name__}")


async def build_with_channels(settings: Settings, clock: Clock, given: Mapping[str, ChannelSender] | None = None,
                              **options: Any) -> tuple[Services, list[Channel]]:
    """The configured channels, then the services with every sender — the given ones (the console's, a test's)
    and the channels' —, frozen. `options`: `build_services`' (router, engines, seed)."""
    channels = build_channels(settings, given or {})
    senders = {**(given or {}), **{channel.name: channel.sender for channel in channels}}
    return await build_services(settings, clock, senders, **options), channels
