"""No English word in any reply outside product names: every phrase of bot/phrases.py rendered, every card of
a lead (detail with a timeline of every activity kind, draft, list, evidence, handover, confirm), and the
digest with its chart — each checked by `foreign_words` (tests/test_chinese_only.py: ASCII words left once file
types, units and product names are removed)."""

from __future__ import annotations

import string
from datetime import timedelta
from typing import Any

from bot import phrases as P
from bot.confirm import confirm_card
from bot.messages import Card
from bot.services import Services
from handlers.leads.views import (
    RULE_CN,
    detail_card,
    draft_card,
    evidence_card,
    handover_card,
    lead_list_card,
    list_line,
)
from handlers.report import chart_layout, compute_report, report_lines
from storage.leads import SOURCE_CN, STAGES, STATUS_CN, new_lead
from storage.models import Activity, Evidence
from tests.leads_helpers import add_act, cn, seed_lead
from tests.test_chinese_only import foreign_words

NOW = cn(23, 10)
NAMES = {"rep01": "张伟", "manager01": "王经理"}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, tuple | list | frozenset | set):
        return [s for v in value for s in _strings(v)]
    return []


def _filled(template: str) -> str:
    """The phrase as a person reads it: every `{field}` filled with a Chinese value, a number for a number."""
    out = []
    for text, name, spec, _conv in string.Formatter().parse(template):
        out.append(text)
        if name is not None:
            out.append("3" if spec and spec[-1:] in "dfn%" else "某某")
    return "".join(out)


def card_text(card: Card) -> str:
    return "\n".join([card.title, card.description, card.note, *(f"{f.label} {f.value}" for f in card.fields),
                      *(b.text for b in card.buttons)])


def test_the_check_catches_english_in_a_phrase() -> None:
    assert foreign_words(_filled("已记录 {n:d} 条 follow up")) == ["follow", "up"]
    assert _filled("你好，{name}（{role}）") == "你好，某某（某某）"


def test_every_phrase_reads_in_chinese() -> None:
    every = [(name, s) for name, v in vars(P).items() if name.isupper() and not name.startswith("_")
             for s in _strings(v)]
    assert len(every) > 80
    english = [(name, s) for name, s in every if foreign_words(_filled(s))]
    assert english == []
    assert foreign_words(P.activity_label("some_new_kind")) == []


def _timeline_lead() -> tuple[Any, list[Activity]]:
    lead = new_lead({"customer_name": "钱总", "company": "青松医院", "phone": "13900001234", "industry": "医疗"},
                    source="manual", by="rep01", now=NOW, status="active")
    lead.id, lead.owner_id, lead.assign_reason = 5, "rep01", "片区匹配"
    kinds = [*P.ACTIVITY_LABELS, "some_new_kind"]
    acts = [Activity(id=i, lead_id=5, actor_id=[None, "rep01", "ghost9"][i % 3], kind=kind, summary="",
                     detail={}, created_at=NOW + timedelta(minutes=i)) for i, kind in enumerate(kinds)]
    return lead, acts


def test_every_card_and_timeline_label_reads_in_chinese() -> None:
    lead, acts = _timeline_lead()
    cards = []
    for i in range(0, len(acts), 8):  # the card shows the last 8: every kind in some card
        for status in STATUS_CN:
            lead.status = status
            for source in SOURCE_CN:
                lead.source = source
                cards.append(detail_card(lead, NAMES, acts[i:i + 8], "约定回访 11-24 09:00", manager_view=True))
    timelines = "\n".join(c.description for c in cards)
    assert all(label in timelines for label in P.ACTIVITY_LABELS.values()) and "系统" in timelines
    draft = new_lead({"customer_name": "刘总", "company": "蓝天医院"}, source="ocr", by="rep01", now=NOW,
                     confidence=0.61)
    draft.id = 6
    cards += [draft_card(draft, NAMES, [lead], "rep01"), draft_card(draft, NAMES, [lead], "rep02"),
              lead_list_card("我的线索", [list_line(lead, NOW, "约定回访 11-24 09:00", owner="张伟")], [lead], "暂无"),
              lead_list_card("我的线索", [], [], "暂无线索"),
              evidence_card(lead, Evidence(id=1, lead_id=5, kind="note", note="客户口头同意"), "张伟"),
              handover_card("已接手", "线索 #5 已转给你", 5, "manager01", "rep01", NOW),
              confirm_card("确认把线索 #5 改派给李娜？", NOW)]
    english = [(c.title, foreign_words(card_text(c))) for c in cards if foreign_words(card_text(c))]
    assert english == []
    assert all(not foreign_words(v) for v in [*RULE_CN.values(), *(n for _, n in STAGES)])


async def test_the_digest_and_its_chart_read_in_chinese(services: Services) -> None:
    """A week with late, overdue, frozen, won and lost leads: every line and chart label of 团队日报."""
    late = await seed_lead(services, "rep01", assigned_at=cn(20, 10), customer_name="甲")
    await seed_lead(services, "rep02", assigned_at=cn(20, 10), first_contact_at=cn(20, 11), status="won")
    await seed_lead(services, "rep02", assigned_at=cn(20, 10), status="frozen", customer_name=None)
    await seed_lead(services, "rep03", assigned_at=cn(21, 10), first_contact_at=cn(21, 11), status="lost")
    await add_act(services, late, "plan", cn(21, 10), due=cn(22, 10).isoformat())
    async with services.db.session() as s:
        rep = await compute_report(s, "manager01", NOW - timedelta(days=7), NOW, services.settings.reminders)
    lines = report_lines(rep)
    assert any("超时" in line for line in lines) and any("赢单 1" in line for line in lines)
    texts = [label.text for label in chart_layout(rep).labels]
    assert [t for t in [*lines, *texts] if foreign_words(t)] == []
