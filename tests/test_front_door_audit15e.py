"""A second new-user audit of the front door (issue 15), each test written from the user's complaint first,
through the chat use cases. Invented people, companies and phones only."""

from __future__ import annotations

from app.chat import ChatSession
from bot.usertext import plain
from tests.conftest import Transcript


async def test_the_help_of_a_newcomer_without_a_display_name_does_not_show_their_id(
        chat: ChatSession, transcript: Transcript) -> None:
    """「你好，newguy（销售）」 headed the help of an auto-registered rep: the id where a name should be."""
    await chat.handle_line("/as xinren_007")
    await chat.handle_line("帮助")
    text = plain(transcript.last("xinren_007")["text"])
    assert "xinren_007" not in text and "你好" in text and "销售" in text, text
    await chat.handle_line("/as rep01")  # a rep with a name is still greeted by it
    await chat.handle_line("帮助")
    assert "张伟" in plain(transcript.last("rep01")["text"])
