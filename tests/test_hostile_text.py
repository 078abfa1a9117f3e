"""What users wrote cannot turn into markup in other people's messages (issue 20, item 3).

Reproduced first: a rep's name, customer and company went verbatim into the manager's 团队跟进日报, the CC and
freeze cards and the reminder digests, so `[..](http://…)`, an image, a `<font>` tag or a line starting with `#`
arrived as real markup. Every message this journey leaves in the outbox is rendered here by every channel format
(WeCom text / markdown / template card, DingTalk text / markdown / numbered-reply card / interactive card).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from app.chat import ChatSession
from bot.channels.dingtalk.render import render_card_markdown, render_card_replies, render_interactive_card
from bot.channels.dingtalk.sender import _render as dingtalk_render
from bot.channels.wecom.sender import _payloads as wecom_payloads
from bot.messages import Body, Card, CardUpdate, Image, Markdown, Text, body_from_json
from bot.services import Services
from bot.usertext import CLOSE, OPEN, clean_inbound, dingtalk_markdown, escape_spans, user_text
from storage.models import OutboxMessage, User
from tests.conftest import Transcript
from tests.test_reminders_support import make_lead

NAME = "[点我领奖](http://evil.example/a)<font color=red>系统通知</font>"
CUSTOMER = "![x](http://evil.example/p.png)**王总**"
COMPANY = "星桥\n# 系统通知\n> 请点击 [这里](http://evil.example/b)"
SIGNS_OF_MARKUP = ("](http", "![", "<font color=red", "\n# 系统通知", "\n> 请点击", "**王总**")


def rendered(body: Body, key: str) -> list[tuple[tuple[str, ...], str]]:
    """Every way a channel may send this body: (the markup that format would honour, the text that leaves)."""
    def dump(data: Any) -> str:
        return json.dumps(data, ensure_ascii=False).replace("\\n", "\n")

    if isinstance(body, CardUpdate | Image):
        return []
    wecom = dump(wecom_payloads(body, key))
    if isinstance(body, Card):  # WeCom template cards are plain text; DingTalk shows cards as markdown
        return [((), wecom), *((SIGNS_OF_MARKUP, dump(m.msg_param))
                               for m in (render_card_markdown(body), render_card_replies(body))),
                (SIGNS_OF_MARKUP, dump(render_interactive_card(body, status=f"已由 {user_text(NAME)} 接手")))]
    wecom_signs = SIGNS_OF_MARKUP if isinstance(body, Markdown) else ("<font color=red",)  # text: <a>, <font>
    return [(wecom_signs, wecom), (SIGNS_OF_MARKUP if isinstance(body, Markdown) else (), dump(
        dingtalk_render(body).msg_param))]


async def outbox_bodies(services: Services) -> list[tuple[str, Body]]:
    async with services.db.session() as s:
        rows = (await s.execute(select(OutboxMessage.dedup_key, OutboxMessage.payload))).all()
    return [(key, body_from_json(body if isinstance(body, dict) else json.loads(body))) for key, body in rows]


async def test_hostile_names_and_customers_render_inert_in_every_message_kind(
        chat: ChatSession, services: Services, transcript: Transcript) -> None:
    async with services.db.session() as s:
        await s.execute(update(User).where(User.id.in_(["rep01", "manager01"])).values(name=NAME))
        await s.commit()
    lead_id = await make_lead(services, customer_name=CUSTOMER, company=COMPANY)
    for step in ("1h", "40m", "30m", "2h", "2h"):  # warning, L1, L2 (CC to the manager), L3 (freeze card)
        await chat.handle_line(f"/advance {step}")
    await chat.handle_line("/as manager01")
    await chat.handle_line("日报")
    await chat.handle_line(f"线索 {lead_id}")
    await chat.handle_line(f"改派 {lead_id} rep02")

    bodies = await outbox_bodies(services)
    kinds = {type(b).__name__ for _, b in bodies}
    assert {"Card", "Markdown", "Text"} <= kinds
    hostile_seen = 0
    for key, body in bodies:
        for signs, text in rendered(body, key):
            assert OPEN not in text and CLOSE not in text
            if "evil.example" in text:
                hostile_seen += 1
                for sign in signs:
                    assert sign not in text, (key, sign, text)
    assert hostile_seen >= 10  # the hostile values were there, escaped, not dropped
    digest = next(b for _, b in bodies if isinstance(b, Markdown) and "团队" in b.title)
    assert "［点我领奖］（http://evil.example/a）" in dingtalk_render(digest).msg_param["text"]
    assert any(NAME in m["title"] + m["text"] for m in transcript)  # plain text (console): shown as written


def test_each_format_escapes_only_what_users_wrote() -> None:
    composed = f"**加粗** [链接](https://ok.example) {user_text('[x](http://evil) <b>')}"
    assert escape_spans(composed, dingtalk_markdown) == "**加粗** [链接](https://ok.example) ［x］（http://evil） ＜b＞"
    text = wecom_payloads(Text(user_text('<a href="http://evil">点我</a>')), "k")[0]["text"]["content"]
    assert "<a" not in text and "＜a href" in text
    md = wecom_payloads(Markdown("t", user_text("> 引用\n# 标题")), "k")[0]["markdown"]["content"]
    assert "\n>" not in md and "\n#" not in md
    card = wecom_payloads(Card(title=user_text("[a](b)")), "k")[0]["template_card"]["main_title"]["title"]
    assert card == "[a](b)"  # template cards are plain text: nothing to escape


def test_format_characters_and_marks_are_stripped_from_what_users_send() -> None:
    assert clean_inbound("\u200b\u202e跟进\u200d 12\ufeff") == "跟进 12"
    assert clean_inbound(f"{OPEN}帮助{CLOSE}") == "帮助"
    assert clean_inbound("plain ascii") == "plain ascii"


async def test_flag_reasons_and_answers_quote_users_inertly(chat: ChatSession, services: Services) -> None:
    """A stage-lag flag quotes the rep's summary; the rep's answer goes to the manager on a card. Both are
    what a user wrote and must not become markup in the manager's messages."""
    await make_lead(services, customer_name="吕航", stage="discover")
    await chat.handle_line("跟进 1 客户说已签约 [点这里](http://evil.example/s)")
    await chat.handle_line("签约 确认 1 ![x](http://evil.example/q.png)<font color=red>系统通知</font>")
    await chat.handle_line("/as manager01")
    await chat.handle_line("标记")
    hostile_seen = 0
    for key, body in await outbox_bodies(services):
        for signs, text in rendered(body, key):
            assert OPEN not in text and CLOSE not in text
            if "evil.example" in text:
                hostile_seen += 1
                for sign in signs:
                    assert sign not in text, (key, sign, text)
    assert hostile_seen >= 2


async def test_markup_an_admin_writes_in_a_card_reaches_chat_as_text(chat: ChatSession, services: Services) -> None:
    """Issue 16, bad input: HTML/JS or markdown in a card's text is shown as text everywhere, the chat answer
    included (DingTalk shows cards as markdown: a <font>, a link or an image there would be real markup)."""
    from tests.console_support import seed_cards

    evil = "<script>alert(1)</script>[点我领奖](http://evil.example/a)<font color=red>系统通知</font>"
    await seed_cards(services, [{"id": "H1", "title": f"物流客户担心丢件{evil}", "industry": "物流",
                                 "objection": "信任", "talk_track": f"全程保价，丢件按票面三倍赔付。{evil}",
                                 "success_case": f"某快运公司试用一季度零丢件。{evil}", "keywords": "丢件,保价"}])
    await chat.handle_line("/as rep01")
    await chat.handle_line("物流客户担心丢件怎么回")
    cards = [(key, b) for key, b in await outbox_bodies(services) if isinstance(b, Card)]
    assert cards and "丢件" in cards[-1][1].title
    signs = ("<script", "](http", "<font color=red")
    for key, body in cards:
        wecom = json.dumps(wecom_payloads(body, key), ensure_ascii=False)
        assert OPEN not in wecom, wecom
        assert CLOSE not in wecom, wecom
        for message in (render_card_markdown(body).msg_param, render_card_replies(body).msg_param,
                        render_interactive_card(body)):
            text = json.dumps(message, ensure_ascii=False)
            assert "evil.example" in text and OPEN not in text
            for sign in signs:
                assert sign not in text, (sign, text)


async def test_a_command_behind_zero_width_or_rtl_characters_is_still_the_command(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """Issue 20, 6: 「\u200b跟进 1 …」 used to reach the knowledge base as a question. Format characters are
    stripped before routing (bot/dispatch.py), so it updates the lead exactly as the plain command does."""
    from storage.models import Activity

    await make_lead(services, customer_name="吕航", stage="discover")
    await chat.handle_line("跟进 1 打了电话")
    plain = transcript.last("rep01")["text"]
    await chat.handle_line("\u200b\u202e跟进\u200d 1 打了电话\ufeff")
    assert transcript.last("rep01")["text"] == plain
    async with services.db.session() as s:
        kinds = list(await s.scalars(select(Activity.kind)))
    assert len(kinds) == 2 and kinds[0] == kinds[1], kinds  # one follow-up each
