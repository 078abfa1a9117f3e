"""Pure extraction: phones, budgets, Chinese time expressions against chat anchors, rep vs customer."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion, clean_line, join_lines
from ocr.extract import extract, extract_from_text, find_budget, find_phones, normalise_phone, parse_title_bar
from ocr.people import NAMES as NAMES_ENGINE
from ocr.timeparse import find_time, parse_anchor
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

NOW = datetime(2024, 10, 24, 16, 0, tzinfo=CN_TZ)  # a Thursday


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN_TZ)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("12812345678", None),
        ("1381234567", None),
    ],
)
def test_phone_normalisation(raw: str, want: str | None) -> None:
    assert normalise_phone(raw) == want


def test_referrer_phone_is_a_trap() -> None:
    found = find_phones("是李娜介绍我来的，他电话13911112222，我的手机(+86)13812345678")
    assert found == [("13911112222", True), ("13812345678", False)]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("预算大概50万", 500_000),
        ("今年预算80w左右", 800_000),
        ("我们预算控制在1.2亿以内", 120_000_000),
        ("预算三十万", 300_000),
        ("预算300k", 300_000),
        ("我们有50个门店", None),
        ("预算1,200万", 12_000_000),
        ("预算2万5", 25_000),
        ("预算两万五", 25_000),
        ("去年花了80万，今年预算120万", 1_200_000),
        ("我们预算120万，去年花了80万", 1_200_000),
        ("公司大概5千人", None),
        ("三千多个客户，预算还没定", None),
        ("预计3万人使用", None),
        ("营收大概两亿", None),
        ("营收大概两亿，这次预算大概50万", 500_000),
        ("预算两百万左右", 2_000_000),
        ("集团预算大概6千万", 60_000_000),  # a digit before 千万/百万 scales the 万 (was read as 6,000)
        ("预算4百万上下", 4_000_000),
    ],
)
def test_budgets(text: str, want: int | None) -> None:
    assert find_budget(text) == want


@pytest.mark.parametrize(
    ("stamp", "want"),
    [
        ("昨天 14:20", cn(2024, 10, 23, 14, 20)),
        ("星期三 10:40", cn(2024, 10, 23, 10, 40)),
        ("星期四 9:00", cn(2024, 10, 17, 9, 0)),
        ("10月22日 上午9:30", cn(2024, 10, 22, 9, 30)),
        ("下午3:05", cn(2024, 10, 24, 15, 5)),
        ("12月30日 10:00", cn(2023, 12, 30, 10, 0)),
        ("你好", None),
    ],
)
def test_chat_timestamps_are_anchors(stamp: str, want: datetime | None) -> None:
    assert parse_anchor(stamp, NOW) == want


ANCHOR = cn(2024, 10, 22, 9, 30)  # Tuesday


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("明天下午3点", cn(2024, 10, 23, 15, 0)),
        ("后天上午", cn(2024, 10, 24, 9, 0)),
        ("下周二", cn(2024, 10, 29, 9, 0)),
        ("下个月12号", cn(2024, 11, 12, 9, 0)),
        ("3月15日", cn(2025, 3, 15, 9, 0)),
        ("9点半", cn(2024, 10, 23, 9, 30)),
        ("11点", cn(2024, 10, 22, 11, 0)),
        ("周五之前", cn(2024, 10, 25, 9, 0)),
        ("周二", cn(2024, 10, 29, 9, 0)),
        ("下星期五上午十点半", cn(2024, 11, 1, 10, 30)),
        ("明晚8点", cn(2024, 10, 23, 20, 0)),
        ("预算1.2亿", None),
    ],
)
def test_time_expressions(text: str, want: datetime | None) -> None:
    assert find_time(text, ANCHOR) == want


def chat(title: str, *items: tuple[str, str], latin: dict[int, str] | None = None) -> ChatText:
    regions = [TextRegion("title", title)] + [
        TextRegion(kind, text, (latin or {}).get(i, "")) for i, (kind, text) in enumerate(items)
    ]
    return ChatText(tuple(regions), True)


def test_rep_words_never_become_customer_fields() -> None:
    lead = extract(
        chat(
            "张伟@华东医疗",
            ("time", "昨天 14:20"),
            ("right", "您好，我是云启软件的小王，我的电话13900001111，邮箱wang@yunqi.com"),
            ("right", "我们标准版报价28万"),
            ("left", "你好，我的手机138 1234 5678"),
            ("left", "预算大概50万，主要想了解CRM系统"),
            ("right", "那我明天下午3点给您回电？"),
            ("left", "好的"),
        ),
        NOW,
     names=NAMES)
    assert lead.is_lead
    assert (lead.customer_name, lead.company, lead.phone) == ("张伟", "华东医疗", "13812345678")
    assert lead.email is None
    assert lead.budget_cny == 500_000
    assert lead.needs == ("CRM系统",)
    assert lead.follow_up == cn(2024, 10, 24, 15, 0)  # "明天" of the 昨天 anchor = today
    assert 0 < lead.confidence <= 1 and lead.field_confidence["phone"] > 0.5


def test_relative_time_without_anchor_uses_receive_time() -> None:
    lead = extract(chat("李娜", ("left", "我电话13812345678，明天上午10点再聊")), NOW, names=NAMES)
    assert lead.follow_up == cn(2024, 10, 25, 10, 0)


def test_card_message_and_full_company_name() -> None:
    lead = extract(
        chat(
            "Leo", ("left", "郑欣\n采购经理\n上海华东医疗器械有限公司\n手机：171 5965 6365\n邮箱：zx@hd.com")
        ),
        NOW,
     names=NAMES)
    assert (lead.customer_name, lead.title, lead.company) == ("郑欣", "采购经理", "上海华东医疗器械有限公司")
    assert (lead.phone, lead.email) == ("17159656365", "zx@hd.com")


def test_wechat_id_from_the_eng_reading() -> None:
    lead = extract(chat("王磊", ("left", "我微信: wang_1752"), latin={0: "Ma: wang_1752"}), NOW, names=NAMES)
    assert lead.wechat_id == "wang_1752"


def test_group_and_empty_chats_are_not_leads() -> None:
    group = extract(chat("华东项目群(12)", ("left", "联系人张伟，电话13812345678")), NOW, names=NAMES)
    assert not group.is_lead and group.reject_reason == "group_chat" and group.phone is None
    small = extract(chat("阳光明媚", ("left", "在吗"), ("right", "在的"), ("left", "周末去爬山吗")), NOW, names=NAMES)
    assert not small.is_lead and small.reject_reason == "personal"  # small talk between friends
    page = extract(ChatText((TextRegion("page", "支付成功 交易单号 4200012345"),), False), NOW, names=NAMES)
    assert not page.is_lead and page.reject_reason == "receipt"


def bar(title: str) -> tuple[str | None, str | None, str | None]:
    found = parse_title_bar(title, NAMES)
    return found.name, found.company, found.title


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("张伟@华东医疗", ("张伟", "华东医疗", None)),
        ("王芳-宏达科技", ("王芳", "宏达科技", None)),
        ("Kevin", (None, None, None)),
        ("周杰@微信", ("周杰", None, None)),  # a contact on personal WeChat: no company
        ("严可馨-蓝鲸物流-仓储经理", ("严可馨", "蓝鲸物流", "仓储经理")),
        ("蓝鲸物流-严可馨", ("严可馨", "蓝鲸物流", None)),
        ("B-蓝鲸物流-严可馨", ("严可馨", "蓝鲸物流", None)),
        ("蓝鲸物流-严总", (None, "蓝鲸物流", None)),
        ("12严可馨@蓝鲸物流", ("严可馨", "蓝鲸物流", None)),  # unread count before the name
        ("严可馨 「外部」", ("严可馨", None, None)),
        ("严可馨蓝鲸物流采购经理", ("严可馨", "蓝鲸物流", "采购经理")),
        ("向日葵", (None, None, None)),  # an everyday word used as a nickname
        ("《严可馨@@蓝鲸物流", ("严可馨", "蓝鲸物流", None)),  # the back arrow read as 《, the @ read twice
    ],
)
def test_title_bar_remark_forms(title: str, want: tuple[str | None, str | None, str | None]) -> None:
    assert bar(title) == want


def test_group_and_colleague_title_bars() -> None:
    assert parse_title_bar("销售一部(8)", NAMES).is_group
    assert parse_title_bar("马丽(市场部)", NAMES).is_colleague
    assert not parse_title_bar("马丽@市场部", NAMES).is_group


def test_a_colleague_chat_passing_on_a_customers_number_is_not_a_lead() -> None:
    lead = extract(chat("刘洋(同事)", ("left", "客户王总的电话13800002222你跟进一下")), NOW, names=NAMES)
    assert not lead.is_lead and lead.reject_reason == "colleague_chat"


def test_free_text_from_a_rep() -> None:
    lead = extract_from_text("新线索 张伟 华东医疗 13812345678 预算50万 明天下午3点回电", NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.phone, lead.budget_cny) == (
        "张伟",
        "华东医疗",
        "13812345678",
        500_000,
    )
    assert lead.follow_up == cn(2024, 10, 25, 15, 0)
    assert lead.is_lead


def test_cjk_spaces_removed() -> None:
    assert clean_line("你 好 ， 我 是 wang 138 1234") == "你好，我是wang 138 1234"


@pytest.mark.parametrize("name", ["温婷", "施琳", "乔峰", "聂磊", "常浩", "欧阳明月", "司马光", "诸葛亮"])
def test_names_with_less_common_and_compound_surnames(name: str) -> None:
    assert parse_title_bar(f"{name}@华东医疗", NAMES).name == name


@pytest.mark.parametrize("nickname", ["阳光明媚", "静待花开", "张经理"])
def test_nicknames_are_not_names(nickname: str) -> None:
    assert parse_title_bar(nickname, NAMES).name is None


def test_self_introduction_with_company_and_title() -> None:
    intro = "你好，我是上海瑞康医疗器械有限公司的采购经理刘洋，邮箱 liuyang@ruikang.com"
    lead = extract(chat("Lily", ("left", intro)), NOW, names=NAMES)
    assert (lead.customer_name, lead.title, lead.company) == ("刘洋", "采购经理", "上海瑞康医疗器械有限公司")


def test_a_referred_colleagues_number_is_not_the_customers() -> None:
    lead = extract(chat("孙丽", ("left", "你可以联系王经理，电话13912345678"), ("left", "我自己电话是13812345678")),
                   NOW, names=NAMES)
    assert lead.phone == "13812345678"
    only = extract(chat("孙丽", ("left", "你可以联系王经理，电话13912345678")), NOW, names=NAMES)
    assert only.phone is None
    assert find_phones("联系方式13812345678") == [("13812345678", False)]
    ours = extract(chat("孙丽", ("left", "具体采购你可以联系我们王经理13688889999"), ("left", "我的电话是13599990000")),
                   NOW, names=NAMES)
    assert ours.phone == "13599990000"  # 「联系我们王经理」 is a referral too
    assert find_phones("有事联系我13812345678") == [("13812345678", False)]  # 「联系我」 is the customer


def test_a_colleagues_email_or_wechat_is_not_the_customers() -> None:
    colleague = "技术的事找我同事周敏，她电话13512345678，邮箱zhoumin@hengyuan.cn"
    lead = extract(chat("孙丽", ("left", "我是孙丽，电话13812345678"), ("left", colleague)), NOW, names=NAMES)
    assert (lead.phone, lead.email) == ("13812345678", None)
    wechat = "技术对接加我同事微信 tech_li2020"
    lead = extract(chat("孙丽", ("left", "我是孙丽，电话13812345678"), ("left", wechat)), NOW, names=NAMES)
    assert lead.wechat_id is None
    own = extract(chat("孙丽", ("left", "我是孙丽，邮箱 sunli@hengyuan.cn，微信 sunli_2020")), NOW, names=NAMES)
    assert (own.email, own.wechat_id) == ("sunli@hengyuan.cn", "sunli_2020")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("我们想了解一下crm系统和erp", ("CRM系统", "ERP")),
        ("现在用的客户管理系统太老了，想换个CRM", ("CRM系统",)),
        ("需要私有化部署，先试用一下", ("私有化部署", "试用")),
        ("考勤系统和外呼都要", ("人力资源系统", "呼叫中心")),
        ("我们在写测试用例和演示文稿", ()),
    ],
)
def test_needs_from_the_product_vocabulary(text: str, want: tuple[str, ...]) -> None:
    assert extract(chat("王强", ("left", f"电话13812345678，{text}")), NOW, names=NAMES).needs == want


def test_dingtalk_title_with_external_tag_and_company_subtitle() -> None:
    bar = parse_title_bar("柏子衿 外部\n澄湖检测技术有限公司", NAMES)
    assert (bar.name, bar.company) == ("柏子衿", "澄湖检测技术有限公司")


@pytest.mark.parametrize("said", ["预算 50000000", "预算5e7", "预算5000万", "预算 5 千万", "预算：50,000,000元",
                                  "经费 5E7"])
def test_a_typed_budget_in_any_spelling_is_one_amount(said: str) -> None:
    """The extractor alone reads a budget however a rep types it (no second reading on top of it)."""
    assert extract_from_text(f"新线索 魏总 澄江物流 13812345678 {said}", NOW, names=NAMES).budget_cny == 50_000_000


@pytest.mark.parametrize("said", ["预算 2025年批", "预算 3个月内定", "预算 50人的规模"])
def test_a_number_after_budget_that_is_not_money(said: str) -> None:
    assert extract_from_text(f"新线索 魏总 澄江物流 13812345678 {said}", NOW, names=NAMES).budget_cny is None


def test_an_address_starts_where_the_chinese_reading_starts_it() -> None:
    # eng reads the Chinese just before an address as letters run into it; chi_sim's reading bounds it.
    text = ChatText((TextRegion("title", "柏子衿@澄湖检测"),
                     TextRegion("left", "方案可以发到bai_zj@c\nhenghu.Com.Cn", "araarbbai_zj@chenghu.com.cn")), True)
    assert extract(text, NOW, names=NAMES).email == "bai_zj@chenghu.com.cn"


def test_a_bubble_edge_read_as_a_bar_does_not_break_a_word() -> None:
    read = [clean_line("|可以，门禁一体|"), clean_line("机下周就能到货｜")]
    assert join_lines(read) == "可以，门禁一体机下周就能到货"


@pytest.mark.parametrize("typed", ["新线索 韦总 13812345678 预算5 千万", "新线索 韦总 13812345678 两百万"])
def test_an_amount_written_apart_is_not_a_company(typed: str) -> None:
    lead = extract_from_text(typed, NOW, names=NAMES)
    assert lead.company is None and lead.customer_name == "韦总" and lead.budget_cny is not None


@pytest.mark.parametrize("typed", ["新线索：客户韦总，公司临川远景科技有限公司，电话13812345678",
                                   "新线索 客户 韦总 公司名称：临川远景科技有限公司 13812345678"])
def test_a_typed_label_is_not_part_of_the_company(typed: str) -> None:
    lead = extract_from_text(typed, NOW, names=NAMES)
    assert lead.company == "临川远景科技有限公司" and lead.customer_name == "韦总"


@pytest.mark.parametrize(("line", "wechat"), [
    ("VX: li-994", "li-994"),
    ("VXx: li813", "li813"),  # "vx" as OCR reads it, not a quoted speaker 「VXx：…」
    ("微信号：hu792", "hu792"),  # shorter than WeChat's six characters, right after its label
    ("vx：hello", None),  # a word, not an id
])
def test_wechat_ids_after_their_label(line: str, wechat: str | None) -> None:
    chat = ChatText((TextRegion("title", "周敏"), TextRegion("left", "你好，我是华东医疗的周敏"),
                     TextRegion("left", line), TextRegion("right", "好的")), True)
    assert extract(chat, NOW, names=NAMES).wechat_id == wechat


def test_a_card_company_wrapped_over_two_lines_is_one_company() -> None:
    chat = ChatText((TextRegion("title", "魏鹏凯"),
                     TextRegion("left", "魏鹏凯\n技术负责人\n金桥农村商业银行股份\n有限公司\n手机: 194 3229 4426"),
                     TextRegion("right", "好的")), True)
    assert extract(chat, NOW, names=NAMES).company == "金桥农村商业银行股份有限公司"
