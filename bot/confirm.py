"""Admin-only commands from a channel that vouches for the sender but not for the body wait for a confirm click.

DingTalk HTTP mode signs only a timestamp: whoever captured one header pair could send a single forged body in the
admin's name. Such a command is not run; the admin gets a card (in HTTP mode: a numbered reply) that runs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.actions import Big, CancelAdmin, ConfirmAdmin
from bot.messages import Button, Card, Inbound
from bot.usertext import user_text

VALID = timedelta(minutes=10)
MAX_TEXT = 300
ADMIN_ONLY = frozenset({"admin"})


def needs_confirm(msg: Inbound, roles: frozenset[str] | None) -> bool:
    return msg.unsigned_body and msg.kind == "text" and roles == ADMIN_ONLY


def confirm_card(text: str, now: datetime) -> Card:
    text = text[:MAX_TEXT]
    return Card(
        title="请确认管理员操作",
        description=f"收到指令「{user_text(text)}」。确认是你本人发出的，再点确认执行（10 分钟内有效）。",
        buttons=(Button(ConfirmAdmin(Big(int(now.timestamp())), text).pack(), "确认执行", "primary"),
                 Button(CancelAdmin().pack(), "取消")),
    )


def confirmed_text(action: ConfirmAdmin, now: datetime) -> str | None:
    """The command a confirm click runs; None when it has expired."""
    age = now.timestamp() - action.issued
    return action.text if 0 <= age <= VALID.total_seconds() else None
