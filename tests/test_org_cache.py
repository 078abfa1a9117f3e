"""The in-memory org cache (bot/org.py UserCache): known users cost no round trip, and any change to the
users table — through this process's engines, ORM or plain SQL — is seen by the very next message."""

from __future__ import annotations

from sqlalchemy import text, update

from app.chat import ChatSession
from bot.org import UserCache
from bot.services import Services
from storage.db import Database
from storage.models import User
from tests.conftest import Transcript


def _cache(services: Services) -> UserCache:
    return services.component("org.users", lambda _s: UserCache())


async def test_a_known_user_is_served_from_memory(chat: ChatSession, transcript: Transcript,
                                                  services: Services) -> None:
    await chat.handle_line("帮助")
    await chat.handle_line("帮助")  # the first message recorded the channel (a write); this one filled the cache
    assert _cache(services).get("rep01", "console") is not None
    await chat.handle_line("帮助")
    assert len(transcript.to("rep01")) == 3


async def test_deactivation_by_plain_sql_on_another_engine_is_seen_at_once(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    for _ in range(2):
        await chat.handle_line("帮助")
    assert _cache(services).get("rep01", "console") is not None
    other = Database(services.db.url)  # e.g. an admin command's own connection
    try:
        async with other.session() as session:
            await session.execute(text("UPDATE users SET active = false WHERE id = 'rep01'"))
    finally:
        await other.dispose()
    await chat.handle_line("帮助")
    assert "没有开通" in transcript.last("rep01")["text"]


async def test_a_role_change_through_the_orm_is_seen_at_once(chat: ChatSession, transcript: Transcript,
                                                             services: Services) -> None:
    for _ in range(2):
        await chat.handle_line("帮助")
    async with services.db.session() as session:
        await session.execute(update(User).where(User.id == "rep01").values(role="manager"))
    await chat.handle_line("帮助")
    assert "主管" in transcript.last("rep01")["text"]
    assert _cache(services).get("rep01", "console") is None or \
        _cache(services).get("rep01", "console").role == "manager"  # type: ignore[union-attr]


def test_an_entry_read_during_a_change_is_not_kept() -> None:
    from bot.context import UserInfo

    cache = UserCache()
    version = UserCache.version
    UserCache.version += 1  # a write landed while the row was being read
    cache.put(UserInfo("u1", "甲", "rep"), "wecom", version)
    assert cache.get("u1", "wecom") is None
    cache.put(UserInfo("u1", "甲", "rep"), "wecom", UserCache.version)
    assert cache.get("u1", "wecom") is not None
    assert cache.get("u1", "dingtalk") is None  # another channel: the stored channel must be updated
