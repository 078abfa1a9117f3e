"""Each cross-check rule: a case that must flag and a near case that must not; evidence typing; budgets."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from bot.config import ChecksSettings
from handlers.checks import rules
from handlers.checks.evidence import classify, seal_like
from handlers.checks.rules import OtherLead
from storage.leads import parse_budget

CFG = ChecksSettings()


@pytest.mark.parametrize("text", ["5千万", "50000000", "5e7", "五千万", "5,000万", "5000万元"])
def test_budget_spellings_all_mean_fifty_million(text: str) -> None:
    assert parse_budget(text) == 50_000_000


def test_budget_outlier_without_history_uses_default_range() -> None:
    found = rules.budget_outlier(50_000_000, "物流", [], CFG)
    assert found is not None and found.level == rules.RED and "5000 万元" in found.reason
    assert rules.budget_outlier(5_000_000, "物流", [], CFG) is None  # near: inside the default range
    assert rules.budget_outlier(500, "物流", [], CFG) is not None  # 500 yuan: a unit typo
    assert rules.budget_outlier(None, "物流", [], CFG) is None  # unknown is not judged


def test_budget_outlier_against_team_history() -> None:
    history = [300_000, 500_000, 400_000, 600_000, 450_000]
    found = rules.budget_outlier(8_000_000, "教育", history, CFG)
    assert found is not None and "中位数 45 万元" in found.reason
    assert rules.budget_outlier(3_000_000, "教育", history, CFG) is None  # near: under 10x the median
    assert rules.budget_outlier(30_000, "教育", history, CFG) is not None  # far below
    # a team used to big deals: 30 million is normal there
    assert rules.budget_outlier(30_000_000, "能源", [20_000_000] * 5, CFG) is None


def test_stage_jump_needs_the_skipped_stages_proof() -> None:
    found = rules.stage_jump("new", "demo", {"contact"}, CFG)
    assert found is not None and found.level == rules.RED and "客户需求" in found.reason
    assert rules.stage_jump("new", "demo", {"contact", "need"}, CFG) is None  # near: proofs there
    assert rules.stage_jump("new", "qualify", set(), CFG) is None  # one step is no jump
    found = rules.stage_jump("qualify", "close", {"contact", "need"}, CFG)
    assert found is not None and "演示记录或文件" in found.reason


def test_won_without_contract_or_payment() -> None:
    found = rules.won_without_proof("won", {"contract"})
    assert found is not None and "回款凭证" in found.reason
    assert rules.won_without_proof("won", {"contract", "payment"}) is None
    assert rules.won_without_proof("active", set()) is None


def test_shared_contact_with_another_owner() -> None:
    others = [OtherLead(7, "rep02", "周宁", "13911112222", "远山物流有限公司")]
    found = rules.shared_contact("rep01", "13911112222", None, others)
    assert len(found) == 1 and "电话" in found[0].reason and "#7" in found[0].reason
    assert rules.shared_contact("rep01", None, "远山物流", others)[0].reason.startswith("公司")
    assert rules.shared_contact("rep02", "13911112222", None, others) == []  # near: same owner
    assert rules.shared_contact("rep01", "13911113333", "近水物流", others) == []


def test_repeated_summary_word_for_word() -> None:
    same = "客户对报价基本认可，等财务审批后回复"
    found = rules.repeated_summary([same, "客户要求加一个模块", same + "。"], CFG)
    assert found is not None and "第 3 条" in found.reason and "第 1 条" in found.reason
    assert rules.repeated_summary([same, "客户对报价基本认可，等老板审批后回复"], CFG) is None  # near
    assert rules.repeated_summary(["未接通", "未接通", "未接通"], CFG) is None  # short ones may repeat


def test_stage_lag_when_summaries_say_signed() -> None:
    found = rules.stage_lag("discover", "active", ["客户今天签了合同，下周安排实施"])
    assert found is not None and found.level == rules.YELLOW and "签约" in found.reason
    assert rules.stage_lag("discover", "active", ["首付款到账了"]) is not None
    assert rules.stage_lag("discover", "active", ["客户说还没签，预计下周签约"]) is None  # near: not yet
    assert rules.stage_lag("discover", "active", ["合同还没回款"]) is None
    assert rules.stage_lag("close", "active", ["签了"]) is None


def test_key_fields_unknown_at_demo() -> None:
    found = rules.key_fields_unknown("demo", {"next_step"})
    assert found is not None and "决策链" in found.reason and "客户异议" in found.reason
    assert rules.key_fields_unknown("demo", {"decision_chain", "next_step", "objection"}) is None
    assert rules.key_fields_unknown("discover", set()) is None  # near: before 方案演示


def test_evidence_reused_and_contract_mismatch() -> None:
    assert [f.subject for f in rules.evidence_reused([4, 4, 9])] == ["4", "9"]
    text = "采购合同\n甲方：松涛酒店管理有限公司\n乙方：某某软件有限公司\n签字盖章"
    found = rules.contract_mismatch(text, "云杉教育科技有限公司")
    assert found is not None and "松涛酒店管理有限公司" in found.reason
    assert rules.contract_mismatch(text, "松涛酒店管理") is None  # near: short name of the same company
    assert rules.contract_mismatch("合同 乙方 签字", "云杉教育") is None  # no buyer readable: not judged
    clause = "一、甲方向乙方采购监护仪二十台\n乙方：某某软件有限公司"
    assert rules.contract_party(clause) is None and rules.contract_mismatch(clause, "云杉教育") is None  # a sentence
    assert rules.contract_party("甲方（买方）：松涛酒店管理有限公司") == "松涛酒店管理有限公司"
    lost = "方：松涛酒店管理有限公司\n乙方：某某软件有限公司"  # OCR lost the label's first character
    assert (found := rules.contract_mismatch(lost, "云杉教育")) is not None and "松涛酒店" in found.reason
    assert rules.contract_mismatch(lost, "松涛酒店管理") is None


@pytest.mark.parametrize(("text", "kind"), [
    ("技术服务合同\n甲方：某公司\n乙方：某公司\n签字：", "contract"),
    ("转账成功\n收款方 某某科技\n金额 ¥120,000.00\n交易流水号", "payment"),
    ("欢迎光临 便民超市\n商品名称 单价 数量\n合计 36.50 实收 50.00 找零 13.50\n谢谢惠顾", "receipt"),
    ("产品演示方案 V2", "demo"),
    ("风景照片", "other"),
])
def test_classify_text(text: str, kind: str) -> None:
    assert classify(text) == kind


def test_chat_and_seal() -> None:
    assert classify("你好 明天见", is_chat=True) == "chat"
    assert classify("", seal=True) == "other"  # a bare red circle is no contract page
    assert classify("北辰云软件有限公司", seal=True) == "contract"  # a red seal on a page with text
    page = Image.new("RGB", (600, 800), "white")
    d = ImageDraw.Draw(page)
    d.ellipse((380, 560, 540, 720), outline=(220, 30, 30), width=8)
    d.text((420, 630), "STAMP", fill=(220, 30, 30))
    assert seal_like(page)
    banner = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(banner).rectangle((0, 0, 600, 120), fill=(220, 30, 30))  # a red header bar, not a seal
    assert not seal_like(banner)
    assert not seal_like(Image.new("RGB", (600, 800), "white"))
