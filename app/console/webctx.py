"""Run a chat command as the signed-in web user: the console's 改派 / 延期 / 接手 / 放假 go through the very
handler chat uses (same rules, same messages to the new owner and the manager, same audit and activity), and
the answer the handler would have sent to the user in chat is shown on the page instead."""

from __future__ import annotations

import logging
import uuid
from typing import Literal

from bot.context import Context, UserInfo
from bot.dispatch import FAILED, run_route
from bot.messages import Body, Card, CardUpdate, Inbound, Markdown, Text
from bot.services import Services
from bot.usertext import plain
from storage.models import User

log = logging.getLogger("salesbot.console")


class WebContext(Context):
    """A Context whose replies to the user are collected for the page (card updates still reach chat)."""

    def __init__(self, services: Services, msg: Inbound, user: UserInfo) -> None:
        super().__init__(services, msg, user)
        self.replies: list[Body] = []

    def reply(self, body: Body) -> None:
        if isinstance(body, CardUpdate):
            super().reply(body)  # e.g. the freeze card in the manager's chat shows 「已由 … 接手」
        else:
            self.replies.append(body)


async def run_as(services: Services, user: UserInfo, *, text: str = "", click: str = "",
                 ) -> tuple[bool, list[str]]:
    """(True, reply texts) when the handler ran and committed; (False, [why]) when it was refused or failed."""
    async with services.db.read_session() as session:
        row = await session.get(User, user.id)
        channel = (row.channel if row else None) or services.default_channel
    kind: Literal["text", "click"] = "click" if click else "text"
    msg = Inbound(channel=channel, user_id=user.id, msg_id=f"web:{uuid.uuid4().hex}", kind=kind,
                  received_at=services.clock.now(), text=text, click_key=click or None)
    ctx = WebContext(services, msg, user)
    try:
        route = await services.router.resolve(ctx, msg)
        if route is None:
            return False, ["没有这个操作。"]
        if not await run_route(services, route, ctx, msg):  # refused: the route's words, as in chat
            return False, [plain(_plain(body)) for body in ctx.replies]
        await ctx.commit()
    except Exception:
        log.exception("console action %r by %s failed", text or click, user.id)
        return False, [FAILED]
    finally:
        await ctx.close()
    services.wake_outbox()
    return True, [plain(_plain(body)) for body in ctx.replies]  # a page shows user text as is, unmarked


def _plain(body: Body) -> str:
    if isinstance(body, Text):
        return body.text
    if isinstance(body, Markdown):
        return f"{body.title}\n{body.text}"
    if isinstance(body, Card):
        return "\n".join([body.title, body.description, *(f"{f.label}：{f.value}" for f in body.fields)]).strip()
    return ""
