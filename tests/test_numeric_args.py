"""Numeric arguments out of range get a short Chinese answer, never a silent default or a database error
(issue 20, item 5: a 延期 button carrying 1e308 silently became 24 h)."""

from __future__ import annotations

from app.chat import ChatSession
from bot.services import Services
from tests.conftest import Transcript
from tests.test_reminders_support import click, get_lead, make_lead


async def frozen(chat: ChatSession, services: Services) -> int:
    lead_id = await make_lead(services)
    for _ in range(3):
        await chat.handle_line("/advance 2h")
    return lead_id


async def test_extend_with_an_absurd_number_is_refused_in_chinese(chat: ChatSession, services: Services,
                                                                   transcript: Transcript) -> None:
    lead_id = await frozen(chat, services)
    freeze = transcript.last("manager01")
    rid = next(b["key"] for b in freeze["buttons"] if b["text"] == "延期").rsplit(":", 1)[1]
    for hours in ("1e308", "nan", "-5", "99999"):
        await click(chat, "manager01", f"esc:extend:{lead_id}:{rid}:{hours}")
        assert "720" in transcript.last("manager01")["text"], hours
    assert (await get_lead(services, lead_id)).status == "frozen"  # nothing was extended


async def test_ids_outside_the_integer_range_or_not_ascii_are_answered(chat: ChatSession, services: Services,
                                                                       transcript: Transcript) -> None:
    await chat.handle_line("/as manager01")
    await chat.handle_line("延期 99999999999999999999 24")
    await chat.handle_line("延期 ²")
    await click(chat, "manager01", "esc:take:²:1")
    answers = [m["text"] for m in transcript.to("manager01")[-3:]]
    assert all("出错了" not in a for a in answers) and len(answers) == 3


async def test_a_typed_extension_with_a_malformed_length_extends_nothing(chat: ChatSession, services: Services,
                                                                        transcript: Transcript) -> None:
    """「延期 N 1e9天」 was read as 9 working days, 「-1天」 as 1 day, and 「-5」, 「nan」, 「inf」 became the
    reason with the default 24 h: a length that cannot be read is refused, not guessed."""
    lead_id = await frozen(chat, services)
    await chat.handle_line("/as manager01")
    for span in ("1e9天 客户出差", "-1天 客户出差", "-5", "nan", "inf", "0", "2.5e1"):
        await chat.handle_line(f"延期 {lead_id} {span}")
        answer = transcript.last("manager01")["text"]
        assert "已延期" not in answer and ("没看懂" in answer or "大于" in answer), (span, answer)
    assert (await get_lead(services, lead_id)).status == "frozen"
    await chat.handle_line(f"延期 {lead_id} 2天 客户出差")  # the near case still works
    assert "已延期" in transcript.last("manager01")["text"]
