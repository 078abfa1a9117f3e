"""Which number is the lead's, which time is the follow-up, which firm is the customer's — in chats and in typed
leads alike: numbers that are someone else's or no mobile at all, times turned down or meant for goods, firms
named without 「我们公司是」, and a supplier selling to us in its own words (invented people; a water-purifier and
lighting vendor's chats)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import LeadFields, extract, extract_from_text, phone_roles
from ocr.people import NAMES as NAMES_ENGINE
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)
NOW = datetime(2025, 6, 18, 17, 0, tzinfo=CN_TZ)  # a Wednesday afternoon
OWN = ("清源净水",)


def chat(title: str | None, *items: tuple[str, str], latin: dict[int, str] | None = None) -> ChatText:
    regions = [TextRegion(k, t, (latin or {}).get(i, "")) for i, (k, t) in enumerate(items)]
    return ChatText(((TextRegion("title", title),) if title else ()) + tuple(regions), True)


def lead_of(title: str | None, *items: tuple[str, str], latin: dict[int, str] | None = None) -> LeadFields:
    return extract(chat(title, *items, latin=latin), NOW, names=NAMES, own=OWN)


@pytest.mark.parametrize(("text", "role"), [
    ("售后工单号：15823418890，麻烦查下", "other"),
    ("快递单号 13622870015 还没到", "other"),
    ("QQ：13398762210", "other"),
    ("你给的那个号码13567712209打不通", "other"),
    ("你名片上的号 13567712209 没人接", "other"),
    ("介绍人周总13611112222", "other"),
    ("我手机 139-0571-2288", "own"),
    ("不对，刚才发错了，是13905712289", "fixed"),
    ("电话 13905712288", "plain"),
    ("顺达物流 13905712288", "plain"),  # a firm whose name ends in a word that labels numbers elsewhere
    ("您打这个号13905712288就行", "plain"),
])
def test_what_is_said_before_a_number_gives_its_role(text: str, role: str) -> None:
    assert [r for _p, r in phone_roles(text)] == [role]


def test_the_customers_own_number_wins_over_a_labelled_or_quoted_one() -> None:
    lead = lead_of("骆文斌", ("left", "上次的订单号 13857001122 那批滤芯到了"),
                   ("left", "食堂要再上两台商用净水器，有事打我手机 15700881234"))
    assert lead.phone == "15700881234"
    quoted = lead_of("骆文斌", ("left", "你给我的那个号码 18899001234 打不通"), ("left", "我是骆文斌，想买净水器"))
    assert quoted.phone is None


def test_a_colleague_named_before_a_number_is_not_the_lead() -> None:
    lead = lead_of("滕海燕-光明幼儿园", ("left", "净水器的事定了，后勤老吕 13655112233 负责收货"),
                   ("left", "其他的找我，我的 18806712345"))
    assert lead.phone == "18806712345"
    alone = lead_of("滕海燕-光明幼儿园", ("left", "净水器的事定了，后勤老吕 13655112233 负责收货"))
    assert alone.phone is None


def test_a_correction_replaces_the_number_and_two_plain_numbers_leave_none() -> None:
    fixed = lead_of("舒雅", ("left", "电话 13712345670"), ("left", "不对，打错了，是13712345607"))
    assert fixed.phone == "13712345607"
    doubt = lead_of("舒雅", ("left", "电话 13712345670"), ("left", "电话 15912345607"), ("left", "想装净水器"))
    assert doubt.phone is None


def test_a_mobile_needs_its_prefix_eleven_digits_and_one_reading() -> None:
    assert lead_of("舒雅", ("left", "电话1235 7730 219，想装净水器")).phone is None
    assert lead_of("舒雅", ("left", "电话１３７ １２３４ ５６７０")).phone == "13712345670"  # full-width digits
    # chi_sim and eng read the line with one digit apart: which reading is right is unknown
    misread = lead_of("舒雅", ("left", "电话13712345670"), latin={0: "13712345679"})
    assert misread.phone is None
    agreed = lead_of("舒雅", ("left", "电话13712345670"), latin={0: "13712345670"})
    assert agreed.phone == "13712345670"


def test_a_typed_lead_leaves_the_reps_own_number_and_the_introducers() -> None:
    lead = extract_from_text("新线索 蒋文华 康达酒店 我的电话13811110000 客户电话 15922223333", NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.phone) == ("蒋文华", "康达酒店", "15922223333")
    referred = extract_from_text("新线索 严峰 瑞丰印染 介绍人陈总13800001111 手机13900002222", NOW, names=NAMES)
    assert referred.phone == "13900002222"


def test_the_later_time_replaces_one_turned_down_in_either_order() -> None:
    first = lead_of("柯敏", ("left", "想给门店装净水机"), ("right", "柯总，明天上午10点过去？"),
                    ("left", "明天上午不行，改后天下午吧"))
    assert first.follow_up is not None and first.follow_up.date() == datetime(2025, 6, 20).date()
    assert first.follow_up_precision == "part"
    later = lead_of("柯敏", ("left", "想给门店装净水机"), ("right", "柯总，明天上午10点过去？"),
                    ("left", "改后天上午10点吧，明天上午我在外地出差"))
    assert later.follow_up == datetime(2025, 6, 20, 10, 0, tzinfo=CN_TZ)


def test_a_time_for_goods_or_the_reps_own_meeting_is_no_follow_up() -> None:
    lead = lead_of("柯敏", ("left", "那明天下午两点你来店里签合同"), ("right", "好的，明天下午两点到。机器下周一到货"))
    assert lead.follow_up == datetime(2025, 6, 19, 14, 0, tzinfo=CN_TZ)
    meeting = lead_of("柯敏", ("left", "报价看了，想当面聊"), ("right", "好的，后天上午九点我过去，明天我在总部开会"),
                      ("left", "好"))
    assert meeting.follow_up == datetime(2025, 6, 20, 9, 0, tzinfo=CN_TZ)
    only = lead_of("柯敏", ("left", "想装净水机，明天我出差，电话联系吧"))
    assert only.follow_up is not None and only.follow_up.date() == datetime(2025, 6, 19).date()


def test_times_count_from_the_separator_above() -> None:
    lead = lead_of("柯敏", ("time", "星期一 10:31"), ("left", "想装净水机"), ("right", "周三晚上八点半视频讲方案？"),
                   ("left", "可以"))
    assert lead.follow_up == datetime(2025, 6, 18, 20, 30, tzinfo=CN_TZ)


def test_a_typed_lead_takes_the_time_not_turned_down() -> None:
    lead = extract_from_text("新线索 柯敏 13712345670 周四不行 改周五下午", NOW, names=NAMES)
    assert lead.follow_up is not None and lead.follow_up.date() == datetime(2025, 6, 20).date()


def test_a_firm_from_a_name_first_introduction_and_never_a_building() -> None:
    lead = lead_of(None, ("left", "覃立新，宏光照明采购主管。新厂房要装一批净水器"))
    assert (lead.customer_name, lead.company, lead.title) == ("覃立新", "宏光照明", "采购主管")


@pytest.mark.parametrize("pitch", [
    ("您好，我们是专做不锈钢水箱的，给好几家净水公司配套", "可以给贵公司最优价，有需要打我电话 13819022655"),
    ("老板，我们安装队七八个人，净水、管道都能干", "有活可以找我，电话13758691206"),
    ("贵公司财务外包这块有需要吗，我们专业代账", "我微信同号18067124433"),
    ("老板好，我们厂滤芯出厂直发，很多净水品牌在用", "样品可以先寄您，电话 13906681327"),
])
def test_a_supplier_selling_to_us_is_no_lead(pitch: tuple[str, str]) -> None:
    lead = lead_of("供应商", *(("left", p) for p in pitch))
    assert not lead.is_lead and lead.phone is None


def test_a_customer_asking_for_a_price_stays_a_lead_beside_supplier_words() -> None:
    lead = lead_of("卢强", ("left", "我们是做连锁餐饮的，给好几家商场供过货"),
                   ("left", "你们商用净水器多少钱？电话13911112222"))
    assert lead.is_lead and lead.phone == "13911112222"


def test_a_job_title_before_a_number_is_no_third_person() -> None:
    card = lead_of("老覃", ("left", "覃立新\n宏光照明有限公司\n行政经理\n13812340000"))
    assert (card.customer_name, card.phone) == ("覃立新", "13812340000")
    assert [r for _p, r in phone_roles("老板 13812340000")] == ["plain"]


def test_a_unit_named_by_its_work_alone_is_no_company() -> None:
    assert lead_of("老覃", ("left", "我们检测中心想买两台纯水机")).company is None
    assert lead_of("老覃", ("left", "我是农科院检测中心的，想买两台纯水机")).company == "农科院检测中心"


def test_goods_as_the_subject_make_a_delivery_time_even_without_its_last_word() -> None:
    lead = lead_of("柯敏", ("left", "那明天下午两点你来店里签合同"), ("right", "好的，明天下午两点到。机器下周一到"))
    assert lead.follow_up == datetime(2025, 6, 19, 14, 0, tzinfo=CN_TZ)


def test_work_given_to_you_the_vendor_is_a_purchase_not_a_colleague_handing_over() -> None:
    # 你们 is the vendor's firm: a customer outsourcing a job to us; 交给你 (one person) is a colleague's hand-over
    lead = lead_of("滨江宾馆-乔立军", ("left", "客房和餐厅想换一批商用净水器"),
                   ("left", "以后全馆的滤芯更换这块交给你们"), ("right", "好的乔经理，周五上午我过去看看"))
    assert lead.reject_reason is None
    assert lead.customer_name == "乔立军"
    colleague = lead_of("许婷", ("left", "滨江宾馆那个单子交给你了"), ("left", "对接人乔经理，要换净水器"))
    assert colleague.reject_reason == "colleague_chat"


def test_an_introduction_whose_name_was_misread_still_gives_the_company_and_makes_a_lead() -> None:
    # tesseract reads a rare surname as another character (龚 → 次): the name is dropped, the firm said stays
    lead = lead_of("知足常乐", ("left", "你好，我是滨江宾馆工程部的次军，工程部主管，\n客房想换一批商用净水器"),
                   ("right", "好的龚主管，我周五上午过去看看"), ("left", "行，预算控制在8万以内"))
    assert lead.reject_reason is None
    assert (lead.customer_name, lead.company, lead.title) == (None, "滨江宾馆", "工程部主管")
