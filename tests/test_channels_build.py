"""Building the configured channels (app/channels.py): a sender given for a channel is the one the outbox uses."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.channels import build_channels
from bot.channels.dingtalk.sender import DingtalkSender
from bot.channels.wecom.sender import WecomSender
from bot.config import DingtalkSettings, Settings, WecomSettings

WECOM = WecomSettings(corp_id="corp", agent_id=1, secret="s", token="t", encoding_aes_key="k" * 43)
DINGTALK = DingtalkSettings(client_id="id", client_secret="secret")


class Recorder:
    """A sender of the wrong kind for an enabled channel: it cannot lend the channel an API client."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def deliver(self, recipient: str, body: Any, *, dedup_key: str) -> dict[str, Any]:
        return {}


def test_a_given_sender_of_the_channel_kind_is_the_channels(settings: Settings) -> None:
    wecom, dingtalk = WecomSender(WECOM, retry_delays=(0, 0, 0)), DingtalkSender(DINGTALK)
    channels = build_channels(replace(settings, wecom=WECOM, dingtalk=DINGTALK),
                              {"wecom": wecom, "dingtalk": dingtalk})
    assert [(c.name, c.sender) for c in channels] == [("wecom", wecom), ("dingtalk", dingtalk)]
    assert channels[0].api is wecom.api


@pytest.mark.parametrize("name", ["wecom", "dingtalk"])
def test_a_given_sender_of_another_kind_is_refused_not_dropped(settings: Settings, name: str) -> None:
    with pytest.raises(TypeError, match=f"{name}.*Recorder"):
        build_channels(replace(settings, wecom=WECOM, dingtalk=DINGTALK), {name: Recorder(name)})


def test_a_sender_for_a_channel_not_configured_is_left_to_the_caller(settings: Settings) -> None:
    assert build_channels(replace(settings, wecom=WecomSettings(), dingtalk=DingtalkSettings()),
                          {"wecom": Recorder("wecom")}) == []
