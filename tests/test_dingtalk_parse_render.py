"""DingTalk pure parts: callback sign, payload parsing, rendering into DingTalk's formats."""

from __future__ import annotations

import json

import pytest

from bot.channels.dingtalk.parse import DELIVERY_ID, ParseError, parse_payload, strip_mentions
from bot.channels.dingtalk.render import (
    card_biz_id,
    render_card_markdown,
    render_interactive_card,
    render_markdown,
    to_dingtalk_markdown,
)
from bot.channels.dingtalk.sender import RobotMessage, with_tag
from bot.channels.dingtalk.sign import check_sign, compute_sign
from bot.messages import Button, Card, Field, Markdown
from tests.fakes.dingtalk_harness import card_click, message, picture_message, text_message

DOC_TS, DOC_SECRET = "1577262236757", "this is a secret"  # inputs from DingTalk's receive-message doc


def test_sign_matches_the_computed_vectors() -> None:
    assert compute_sign(DOC_TS, DOC_SECRET) == "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA="
    assert compute_sign(DOC_TS, "this is secret") == "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="


@pytest.mark.parametrize(
    ("timestamp", "sign", "now_ms", "expected"),
    [
        (DOC_TS, "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=", int(DOC_TS) + 3_599_000, "ok"),
        (DOC_TS, "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=", int(DOC_TS) - 3_599_000, "ok"),
        (DOC_TS, "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=", int(DOC_TS) + 3_600_001, "stale"),
        (DOC_TS, "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=", int(DOC_TS) - 3_600_001, "stale"),
        (DOC_TS, "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", int(DOC_TS), "forged"),
        (str(int(DOC_TS) + 1), "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=", int(DOC_TS), "forged"),
        (None, "x", int(DOC_TS), "missing"),
        (DOC_TS, "", int(DOC_TS), "missing"),
        ("-5", "x", int(DOC_TS), "malformed"),
        ("1577262236757²", "x", int(DOC_TS), "malformed"),
        ("9" * 5000, "x", int(DOC_TS), "malformed"),  # int() refuses > 4300 digits: must not raise
    ],
)
def test_check_sign(timestamp: str | None, sign: str, now_ms: int, expected: str) -> None:
    assert check_sign(timestamp, sign, DOC_SECRET, now_ms) == expected


def test_single_chat_text() -> None:
    p = parse_payload(text_message("  帮助 ", sender="rep03", nick="刘洋", msg_id="m1"))
    assert p is not None
    assert (p.kind, p.text, p.user_id, p.msg_id, p.conversation_id, p.display_name) == (
        "text", "帮助", "rep03", "m1", None, "刘洋")


def test_group_text_strips_leading_mentions_only() -> None:
    p = parse_payload(text_message("@销售助手 @张伟 跟进 12 已电话 @李娜", group=True))
    assert p is not None and p.text == "跟进 12 已电话 @李娜" and p.conversation_id == "cidGroupXYZ=="
    assert strip_mentions(" 你好") == "你好"


def test_picture_and_file() -> None:
    p = parse_payload(picture_message("code-1"))
    assert p is not None and (p.kind, p.download_codes) == ("image", ("code-1",))
    f = parse_payload(message("file", content={"downloadCode": "fc", "fileName": "话术.xlsx"}))
    assert f is not None and (f.kind, f.download_codes, f.file_name) == ("file", ("fc",), "话术.xlsx")


def test_rich_text_without_pictures_is_text() -> None:
    p = parse_payload(message("richText", content={"richText": [{"text": "第一行"}, {"text": "第二行"}]}))
    assert p is not None and (p.kind, p.text) == ("text", "第一行\n第二行")


def test_unknown_msgtype_is_unsupported_not_an_error() -> None:
    p = parse_payload(message("video", content={"videoType": "mp4"}))
    assert p is not None and (p.kind, p.msgtype) == ("unsupported", "video")


def test_card_click() -> None:
    p = parse_payload({**card_click("sbCARD", "esc:take:7", user="manager01"), DELIVERY_ID: "frame-9"})
    assert p is not None
    assert (p.kind, p.click_key, p.card_ref, p.user_id) == ("click", "esc:take:7", "sbCARD", "manager01")
    assert p.msg_id == "card:frame-9"  # one claim per delivery: a second click on the same button is new
    with_params = {**card_click("sbCARD", "button_1"), DELIVERY_ID: "frame-10"}
    with_params["content"] = json.dumps({"cardPrivateData": {"actionIds": ["button_1"], "params": {"key": "k:1"}}})
    assert parse_payload(with_params).click_key == "k:1"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "payload",
    [
        "text",
        {"msgtype": "text", "senderStaffId": "rep01"},  # no msgId
        {"msgtype": "picture", "msgId": "m", "senderStaffId": "rep01", "content": {}},
        {"msgtype": "richText", "msgId": "m", "senderStaffId": "rep01", "content": {"richText": "x"}},
        {"outTrackId": "c", "userId": "u", "content": "{not json"},
        {"outTrackId": "c", "userId": "u", "content": json.dumps({"cardPrivateData": {"actionIds": []}})},
        {"outTrackId": "c", "content": "{}"},
    ],
)
def test_unreadable_payloads_raise_parse_error(payload: object) -> None:
    with pytest.raises(ParseError):
        parse_payload(payload)


def test_markdown_tables_become_lists() -> None:
    src = "**报价**\n| 产品 | 价格 |\n|---|:---:|\n| CRM | 5万 |\n| ERP | 8万 |\n结尾"
    assert to_dingtalk_markdown(src) == "**报价**\n- 产品：CRM，价格：5万\n- 产品：ERP，价格：8万\n结尾"
    rendered = render_markdown(Markdown(title="", text="a | b"))
    assert rendered == RobotMessage("sampleMarkdown", {"title": "salesbot", "text": "a | b"})


def test_a_table_inside_a_card_field_becomes_a_list() -> None:
    """An imported knowledge card whose 报价模板 is a markdown table: DingTalk shows no tables."""
    quote = "| 项目 | 金额 |\n|---|---|\n| 设备 | 100万 |\n| 维保 | 10万 |"
    card = Card(title="报价", fields=(Field("报价模板", quote), Field("客户", "王总")))
    text = render_card_markdown(card).msg_param["text"]
    assert "|" not in text
    assert "- **报价模板**：\n- 项目：设备，金额：100万\n- 项目：维保，金额：10万" in text
    assert text.endswith("- **客户**：王总")


def test_card_without_buttons_is_markdown() -> None:
    card = Card(title="线索 #12", description="新线索", fields=(Field("客户", "王总"), Field("电话", "138")),
                note="来源：截图")
    msg = render_card_markdown(card)
    assert msg.msg_key == "sampleMarkdown"
    assert msg.msg_param["text"] == (
        "#### 线索 #12\n\n新线索\n\n- **客户**：王总\n- **电话**：138\n\n<font color=#999999>来源：截图</font>")


def test_interactive_card_buttons_carry_our_keys_and_update_drops_them() -> None:
    card = Card(title="超时", fields=(Field("线索", "#7"),),
                buttons=(Button("esc:take:7", "接手", "primary"), Button("esc:drop:7", "放弃", "danger")))
    data = render_interactive_card(card)
    actions = data["contents"][-1]["actions"]
    assert [(a["id"], a["status"], a["actionType"]) for a in actions] == [
        ("esc:take:7", "primary", "request"), ("esc:drop:7", "warning", "request")]
    updated = render_interactive_card(card, status="已由 王经理 接手")
    assert [c["type"] for c in updated["contents"]] == ["markdown", "markdown"]
    assert card_biz_id(card, "k1") == card_biz_id(card, "k1") != card_biz_id(card, "k2")


def test_same_card_id_to_two_recipients_is_two_cards() -> None:
    """lead-1 shown to a rep and to a manager (or again after a DB reset) must not be one DingTalk card."""
    card = Card(title="线索 #1", card_id="lead-1", buttons=(Button("lead:follow:1", "跟进"),))
    rep, manager = card_biz_id(card, "in:dingtalk:m1:0"), card_biz_id(card, "in:dingtalk:m2:0")
    assert rep != manager and rep.startswith("lead-1-") and manager.startswith("lead-1-")
    assert card_biz_id(card, "in:dingtalk:m1:0") == rep  # a retry of the same outbox row: the same card


def test_tag_is_deterministic_per_dedup_key() -> None:
    text = RobotMessage("sampleText", {"content": "请跟进线索 #7"})
    a, b = with_tag(text, "rem:7:1"), with_tag(text, "rem:7:2")
    assert a == with_tag(text, "rem:7:1") and a != b and a.msg_param["content"].startswith("请跟进线索 #7\n#")
    md = with_tag(RobotMessage("sampleMarkdown", {"title": "t", "text": "x"}), "k")
    assert md.msg_param["text"].startswith("x\n\n<font color=#999999>#")
