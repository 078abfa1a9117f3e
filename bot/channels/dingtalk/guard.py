"""Is a DingTalk message meant for this robot? `robotCode`, `chatbotCorpId` and the group chat, against the config.

HTTP mode's signature covers only a timestamp, not the body, so the body's claims are checked here: a message
for another robot or organisation, or from a group chat the robot does not serve, is refused before it is claimed.
"""

from __future__ import annotations

from typing import Any

from bot.channels.dingtalk.parse import GROUP, is_card_callback
from bot.config import DingtalkSettings


def foreign(payload: dict[str, Any], settings: DingtalkSettings) -> str:
    """Why this payload is not for us ("" = it is)."""
    if is_card_callback(payload):  # Stream only (an authenticated connection): the corp is all it names
        return _corp(payload.get("corpId"), settings)
    robot = payload.get("robotCode")
    if robot != settings.own_robot_code:
        return f"robotCode {robot!r} is not this robot's"
    why = _corp(payload.get("chatbotCorpId"), settings)
    if why:
        return why
    conversation = payload.get("conversationId")
    groups = settings.group_conversations
    if groups and str(payload.get("conversationType")) == GROUP and conversation not in groups:
        return f"group chat {conversation!r} is not one the robot serves"
    return ""


def _corp(corp: Any, settings: DingtalkSettings) -> str:
    if settings.corp_id and corp != settings.corp_id:
        return f"organisation {corp!r} is not ours"
    return ""
