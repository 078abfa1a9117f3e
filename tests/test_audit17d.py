"""Audit 17d, on SQLite and PostgreSQL (real tesseract, pictures drawn here with invented parties): a won lead
flagged 「缺少回款凭证」 takes the proof the flag asks for (and nothing else); a key-fact command with a lead number
goes to that lead; a contract page whose buyer is written with another separator than a colon is still checked, and
one whose buyer cannot be read is a 🟡, not a silent pass; a screenshot draft shows its budget 🔴 before 确认."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app.chat import ChatSession
from bot.services import Services
from handlers.checks import flags, rules
from storage.models import ChainEntry, Evidence, LeadFlag
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, lead_flags, seed_lead
from tests.synth import font
from tests.trust_helpers import contract_png, page, payment_png, receipt_png, save


@pytest.fixture
def services(services_both: Services) -> Services:
    """SQLite and PostgreSQL (tests/conftest.py)."""
    return services_both


async def _evidence_count(services: Services, lead_id: int) -> int:
    async with services.db.session() as s:
        return (await s.execute(select(func.count()).select_from(Evidence).where(Evidence.lead_id == lead_id))
                ).scalar_one()


async def test_a_won_lead_takes_the_payment_its_flag_asks_for(chat: ChatSession, transcript: Transcript,
                                                              services: Services, tmp_path: Path) -> None:
    """Won on a contract alone: 🔴 「缺少回款凭证，请补充」; 「证据 1」 then took nothing (「已赢单，不能再操作」)
    and the bank slip sent next was read as a lead screenshot and lost. Now it is kept and the flag resolves;
    other changes to the won lead stay refused, and once nothing is missing 「证据 1」 is refused again."""
    await seed_lead(services, "rep01", customer_name="柯蔚", company="栖霞纺织有限公司", phone="13600002211",
                    needs=["排产"], stage="demo", assigned_at=cn(23, 9))
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {save(tmp_path, 'c.png', contract_png('栖霞纺织有限公司'))}")
    await chat.handle_line("赢单 1 合同已签")
    assert "缺少回款凭证" in transcript.last("rep01")["text"]
    (flag,) = await lead_flags(services, 1, rule="won_without_proof")
    assert flag.status == "open"
    await chat.handle_line("阶段 1 4")
    assert "不能再操作" in transcript.last("rep01")["text"]  # other changes stay refused
    await chat.handle_line("证据 1")
    assert "不能再操作" not in transcript.last("rep01")["text"], transcript.last("rep01")["text"]
    await chat.handle_line(f"/image {save(tmp_path, 'p.png', payment_png())}")
    out = transcript.last("rep01")["text"]
    assert "已保存线索 #1 的证据" in out and "回款凭证" in out, out
    assert await _evidence_count(services, 1) == 2  # nothing lost
    (flag,) = await lead_flags(services, 1, rule="won_without_proof")
    assert flag.status == "resolved"
    assert (await get_lead(services, 1)).status == "won"
    await chat.handle_line("证据 1")  # near: nothing missing any more, the won lead is closed again
    assert "不能再操作" in transcript.last("rep01")["text"]


async def test_a_won_lead_takes_a_note_for_the_manager_while_proof_is_missing(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    """「证据 1 <说明>」 on a won lead still missing its payment record waits for the manager, whose 确认 clears
    the 🔴."""
    await seed_lead(services, "rep01", customer_name="柯蔚", company="栖霞纺织有限公司", stage="demo",
                    assigned_at=cn(23, 9))
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {save(tmp_path, 'c.png', contract_png('栖霞纺织有限公司'))}")
    await chat.handle_line("赢单 1 合同已签")
    await chat.handle_line("证据 1 客户已对公转账回款四十万，银行回单已到账")
    assert "等待主管确认" in transcript.last("rep01")["text"], transcript.last("rep01")["text"]
    assert "证据待确认" in transcript.last("manager01")["title"] + transcript.last("manager01")["text"]
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 确认")
    (flag,) = await lead_flags(services, 1, rule="won_without_proof")
    assert flag.status == "resolved"


async def test_a_key_fact_command_takes_its_lead_number(chat: ChatSession, transcript: Transcript,
                                                        services: Services) -> None:
    """With lead #2 in view, 「决策链 1 院长拍板」 went to #2 as 「1 院长拍板」: the number is the lead, as for every
    lead command; a number that is part of the value (「下一步 3天后回访」) stays in it."""
    await seed_lead(services, "rep01", customer_name="柯蔚", company="栖霞纺织", stage="demo", assigned_at=cn(23, 9))
    await seed_lead(services, "rep01", customer_name="麦朗", company="东篱茶业", stage="demo", assigned_at=cn(23, 9))
    await chat.handle_line("线索 2")
    await chat.handle_line("决策链 1 总经理拍板")
    await chat.handle_line("异议 1 担心旧数据迁移")
    await chat.handle_line("下一步 #1 周五上门演示")
    one, two = await get_lead(services, 1), await get_lead(services, 2)
    assert (one.extra or {}).get("decision_chain") == "总经理拍板", one.extra
    assert (one.extra or {}).get("objection") == "担心旧数据迁移", one.extra
    assert (one.extra or {}).get("next_step") == "周五上门演示", one.extra
    assert not {"decision_chain", "objection", "next_step"} & set(two.extra or {}), two.extra
    assert "线索 #1" in transcript.last("rep01")["text"]
    await chat.handle_line("/advance 1m")
    await chat.handle_line("线索 2")
    await chat.handle_line("下一步 3天后回访")  # near: no lead number, the lead in view
    assert (await get_lead(services, 2)).extra.get("next_step") == "3天后回访"


@pytest.mark.parametrize("text", ["甲方;岚山物流有限公司", "甲方；岚山物流有限公司", "甲方 岚山物流有限公司",
                                  "甲 方 : 岚山物流有限公司", "甲方.岚山物流有限公司", "甲方，岚山 物流有限公司",
                                  "甲方|岚山物流有限公司", "甲方岚山物流有限公司"])
def test_the_buyer_is_read_whatever_separates_it_from_its_label(text: str) -> None:
    assert rules.contract_party(f"软件采购合同\n{text}\n乙方：北辰云软件有限公司") == "岚山物流有限公司"
    found = rules.contract_mismatch(f"{text}\n乙方：北辰云软件有限公司", "栖霞纺织有限公司")
    assert found is not None and "岚山物流有限公司" in found.reason


def test_a_clause_is_still_no_buyer() -> None:
    """Near cases: 「甲方向乙方采购…」 and 「甲方签字：」 name no buyer whatever the separators."""
    for text in ("一、甲方向乙方采购监护仪二十台", "甲方签字：", "甲方（签字）; 韦成", "甲方应于十日内付款"):
        assert rules.contract_party(text) is None, text


def _contract_with(buyer_line: str) -> bytes:
    return page(["软件服务合同", buyer_line, "乙方：北辰云软件有限公司", "合同金额：人民币贰拾万元整",
                 "甲方签字：", "乙方签字："], seal=True)


async def test_another_customers_contract_with_a_semicolon_is_flagged(chat: ChatSession, transcript: Transcript,
                                                                      services: Services, tmp_path: Path) -> None:
    """「甲方；岚山物流有限公司」 on the page of lead 栖霞纺织: 「没认出甲方」 and no 🟡 before; now the mismatch 🟡.
    The customer's own contract with a semicolon is not flagged. (A page whose buyer cannot be read at all:
    tests/test_trust_flow.py, test_contract_buyer_only_from_its_label.)"""
    for company in ("栖霞纺织有限公司", "岚山物流有限公司"):
        await seed_lead(services, "rep01", customer_name="柯蔚", company=company, stage="discover",
                        assigned_at=cn(23, 9))
    semicolon = save(tmp_path, "semi.png", _contract_with("甲方；岚山物流有限公司"))
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {semicolon}")
    out = transcript.last("rep01")["text"]
    assert "合同页" in out and "🟡" in out and "岚山物流" in out, out
    assert [f.rule for f in await lead_flags(services, 1, status="open")] == ["contract_mismatch"]
    await chat.handle_line("证据 2")
    await chat.handle_line(f"/image {semicolon}")
    assert "contract_mismatch" not in {f.rule for f in await lead_flags(services, 2)}  # near: its own contract


def test_the_managers_lines_leave_out_the_reps_hint() -> None:
    flag = LeadFlag(lead_id=1, rule="key_fields_unknown", level="yellow", status="open",
                    reason=rules.key_fields_unknown("demo", ()).reason)  # type: ignore[union-attr]
    assert "可回复" in flags.flag_line(flag) and "可回复" not in flags.flag_line(flag, manager=True)
    assert flags.flag_line(flag, manager=True).endswith("仍未知")


def _chat_png(lines: list[tuple[str, str]], title: str) -> bytes:
    """A plain phone chat: the customer's bubbles on the left, the rep's on the right."""
    img = Image.new("RGB", (1080, 1600), (237, 237, 237))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1080, 170), fill=(247, 247, 247))
    d.text((430, 80), title, fill="black", font=font(44))
    y = 250
    for side, text in lines:
        w = len(text) * 44 + 60
        if side == "L":
            d.rectangle((40, y, 130, y + 90), fill=(120, 160, 200))
            d.rounded_rectangle((150, y, 150 + w, y + 110), 20, fill="white")
            d.text((180, y + 28), text, fill="black", font=font(44))
        else:
            d.rectangle((950, y, 1040, y + 90), fill=(200, 160, 120))
            d.rounded_rectangle((930 - w, y, 930, y + 110), 20, fill=(149, 236, 105))
            d.text((960 - w, y + 28), text, fill="black", font=font(44))
        y += 170
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def test_a_screenshot_draft_shows_its_budget_flag_before_confirm(chat: ChatSession, transcript: Transcript,
                                                                       services: Services, tmp_path: Path) -> None:
    """A typed 新线索 with 预算5千万 warns before its draft card; a screenshot saying the same showed the card with no
    warning and the 🔴 came only after 确认. Near: a screenshot with a usual budget has no flag on its card."""
    shot = _chat_png([("L", "你好，我是栖霞纺织的柯蔚"), ("L", "想了解你们的排产系统"),
                      ("R", "柯总好，方便留个电话吗？"), ("L", "13600005566，预算5千万")], "柯蔚")
    await chat.handle_line(f"/image {save(tmp_path, 'big.png', shot)}")
    card = transcript.last("rep01")
    assert "5000" in str(card), card
    assert "🔴" in card["text"] and "预算" in card["text"], card
    await chat.handle_line("/click 确认")
    assert "🔴" not in transcript.last("rep01")["text"]  # said once, on the card
    assert [f.status for f in await lead_flags(services, 1, rule="budget_outlier")] == ["open"]
    usual = _chat_png([("L", "你好，我是东篱茶业的麦朗"), ("L", "想了解你们的门店系统"),
                       ("R", "麦总好，方便留个电话吗？"), ("L", "13600007788，预算30万")], "麦朗")
    await chat.handle_line(f"/image {save(tmp_path, 'usual.png', usual)}")
    assert "🔴" not in transcript.last("rep01")["text"], transcript.last("rep01")


# -- the LOW findings --------------------------------------------------------------------------------------------
async def test_a_reused_file_is_flagged_on_the_reply_it_concerns(chat: ChatSession, transcript: Transcript,
                                                                 services: Services, tmp_path: Path) -> None:
    """The same contract for #1 then #2: #2's reply names #1, and #1's mirror flag is there at once; a different
    file sent later for #1 said 「与线索 #2 的证据完全相同」 as if it were the duplicate."""
    for name in ("柯蔚", "麦朗"):
        await seed_lead(services, "rep01", customer_name=name, company="栖霞纺织有限公司", stage="discover",
                        assigned_at=cn(23, 9))
    same = save(tmp_path, "c.png", contract_png("栖霞纺织有限公司"))
    for lead in (1, 2):
        await chat.handle_line(f"证据 {lead}")
        await chat.handle_line(f"/image {same}")
    assert "线索 #1" in transcript.last("rep01")["text"] and "完全相同" in transcript.last("rep01")["text"]
    assert [f.subject for f in await lead_flags(services, 1, rule="evidence_reused")] == ["2"]
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {save(tmp_path, 'p.png', payment_png())}")
    out = transcript.last("rep01")["text"]
    assert "已保存线索 #1 的证据" in out and "完全相同" not in out, out


async def test_the_timeline_has_one_line_per_evidence_item_with_its_type(chat: ChatSession, transcript: Transcript,
                                                                         services: Services, tmp_path: Path) -> None:
    """Three pictures showed as one line 「证据：截图证据」."""
    await seed_lead(services, "rep01", customer_name="柯蔚", company="栖霞纺织有限公司", stage="discover",
                    assigned_at=cn(23, 9))
    for name, data in (("r.png", receipt_png()), ("c.png", contract_png("栖霞纺织有限公司")),
                       ("c2.png", contract_png("栖霞纺织有限公司") + b"\0"), ("p.png", payment_png())):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"/image {save(tmp_path, name, data)}")
    await chat.handle_line("线索 1")
    card = transcript.last("rep01")["text"]
    lines = [line for line in card.splitlines() if "证据" in line and "张伟" in line]
    assert len(lines) == 4, card
    assert sum("合同页" in line for line in lines) == 2 and any("回款凭证" in line for line in lines), lines
    assert any("票据" in line for line in lines), lines


async def test_record_entries_name_who_acted(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """docs/audit.md: the actor is the chat account the message came from; lead, activity and flag entries had
    none."""
    await chat.handle_line("新线索 柯蔚 栖霞纺织 13600001234 预算5千万")
    await chat.handle_line("/click 确认")
    await chat.handle_line("跟进 1 已电话沟通，客户想看排产方案")
    await chat.handle_line("预算 确认 集团统一采购")
    await chat.handle_line("/as manager01")
    await chat.handle_line("清除标记 1 预算")
    async with services.db.session() as s:
        rows = [(kind, json.loads(body)) for kind, body in (await s.execute(
            select(ChainEntry.kind, ChainEntry.body).order_by(ChainEntry.seq))).all()]
    kinds = {kind for kind, _ in rows}
    assert {"lead", "activity", "flag"} <= kinds, kinds
    missing = [(kind, body.get("data")) for kind, body in rows if kind in ("lead", "activity", "flag")
               and body.get("actor") not in ("rep01", "manager01")]
    assert missing == [], missing
    cleared = [body for kind, body in rows if kind == "flag" and (body["data"].get("state") or {}).get("status")
               == "cleared"]
    assert cleared and all(body["actor"] == "manager01" for body in cleared), cleared


async def test_the_key_fields_flag_stays_open_after_a_win_while_they_are_unknown(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    """Won with decision chain, next step and objection still unknown: the 🟡 resolved by itself at 赢单 (an unknown
    never resolves a flag)."""
    await seed_lead(services, "rep01", customer_name="柯蔚", company="栖霞纺织有限公司", phone="13600002211",
                    needs=["排产"], stage="discover", assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 4")
    assert [f.status for f in await lead_flags(services, 1, rule="key_fields_unknown")] == ["open"]
    for name, data in (("c.png", contract_png("栖霞纺织有限公司")), ("p.png", payment_png())):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"/image {save(tmp_path, name, data)}")
    await chat.handle_line("阶段 1 5")
    await chat.handle_line("赢单 1 合同已签")
    assert (await get_lead(services, 1)).status == "won"
    assert [f.status for f in await lead_flags(services, 1, rule="key_fields_unknown")] == ["open"]
