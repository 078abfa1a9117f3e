"""Hard negatives as tesseract reads them: a courier, a bank SMS, a recruiter, a friend's new number, colleagues on
office matters, a group notice, a receipt, an order page, a tender notice — each with a mobile number and each
with single characters misread the way tesseract misreads them (师傅 as 师传, 快递 as 快逆, 银行 as 银彳亍). None may
become a lead, and the reason must say what the image looked like. Then the near cases: customers who mention 快递,
面试, 发票, a new number or a 师傅 in passing keep their lead.

Written before the negative rules were tuned; every person, company and number is invented."""

from __future__ import annotations

import pytest

from bot.config import OcrSettings
from ocr.extract import extract
from ocr.negatives import looks_like
from ocr.pipeline import read_image, validate
from tests.conftest import ENGINES
from tests.synth_styles import make_styled
from tests.test_ocr_people import NAMES, NOW, chat

SETTINGS = OcrSettings()

HARD_NEGATIVES = [
    # a courier saved as 「刘师傅」, 师傅 read as 师传 wherever it appears
    ("courier", "刘师传", [("left", "你好，我是迅达的师传，你的东西下午送过去"),
                          ("left", "我电话13816452290，到了给你打"), ("right", "好的，放前台就行，谢谢师传"),
                          ("left", "到楼下了，麻烦下来拿一下")]),
    # a parcel at a pick-up point, 快递 and 取件 each misread once
    ("courier", "快逆员@微信", [("left", "你好，有你一个仵，放在东门菜乌驿站了"),
                               ("left", "取件码3-2-5017，有问题打13922107765"), ("right", "好的谢谢")]),
    # a takeout rider
    ("courier", "骑手", [("left", "您的外买到了，放门卫那里了"), ("left", "我手机13610298847"),
                        ("right", "好的辛苦了")]),
    # a bank's service number: the messages app shows its number as the title
    ("bank_sms", "95588", [("left", "【工商银彳亍】您尾号6621的帐户12月3日支出1,280.00元，余额6,532.17元。"
                                    "如有疑问请致电客户经理13912345678")]),
    ("bank_sms", "106980", [("left", "【招商银衍】您尾号0937的信用卡本期账单2,315.60元，最后还歀日12月18日"),
                            ("left", "客户经理 孔文 13877441209")]),
    # a recruiter writing to a candidate
    ("recruitment", "猎头-唐顾问", [("left", "您好，看了您的简厉，我们这边在招大客户销售，薪资25-35k"),
                                   ("left", "方便的话明天下午两点电话面式？我手机13701452268"),
                                   ("right", "可以，明天下午联系")]),
    # a candidate applying: speaks as 我, names 贵司, yet sells nothing and buys nothing
    ("recruitment", "候选入 程雨桐", [("left", "您好，我是应聘贵司销售岗位的程雨桐，简历已经投了"),
                                     ("left", "请问什么时候安排面试？期望薪资15k左右，电话13566210984"),
                                     ("right", "收到，周三上午十点来公司面谈")]),
    # a friend sharing a new number
    ("personal", "老邵", [("left", "换号了哈，这是我的新号玛13577820916，存一下"),
                         ("right", "好嘞，周末出来吃饭"), ("left", "行，叫上老同学")]),
    # a colleague on office matters, 报销 and 例会 misread
    ("colleague_chat", "行政-孙悦", [("left", "下周一的列会改到三楼会议室了"),
                                    ("left", "另外报消单周五前交给财务，有问题打我手机13678904512"),
                                    ("right", "好的收到")]),
    ("colleague_chat", "祁文彬", [("left", "明天的部门周会你来主持一下，我请假了"),
                                 ("left", "考勒表已经发你邮箱，审拙走完了，有事打13822675531"),
                                 ("right", "没问题")]),
    # a group announcement as a chat
    ("group_notice", "全体员工群(58)", [("left", "@所有入 群公吿：本周五下午三点消防演练，请大家准时到一楼大厅集合"),
                                       ("left", "联系人：安保部 戚强 13911207746")]),
    # a receipt the layout took for a chat: price columns, 合计 misread
    ("receipt", None, [("left", "家佳乐超市（新城店）\n品名 数量 单价 金额\n牛奶 2 6.50 13.00\n面包 1 8.90 8.90\n"
                               "食用油 1 59.90 59.90\n合讨：81.80\n实收：100.00 找零：18.20\n门店电话：13522870391")]),
    # an order page
    ("order_page", None, [("left", "订单详情\n订单编亏：2025120398127763\n实付歀 ¥268.00\n"
                                   "收货地址：滨江路88号 郑女士 13766093315\n已发货 查看物流")]),
    # a tender notice
    ("tender_notice", None, [("left", "青州市第三医院设备采购项目\n招栎公告\n项目编号：CG20250917\n"
                                      "一、投标人资格要求：具有独立法人资格\n二、报名截止：2025-10-12\n"
                                      "联系人：潘立 联系电话：13811029934")]),
]


@pytest.mark.parametrize(("reason", "title", "said"), HARD_NEGATIVES,
                         ids=[f"{r}-{i}" for i, (r, _t, _s) in enumerate(HARD_NEGATIVES)])
def test_a_hard_negative_read_with_ocr_errors_is_no_lead(reason: str, title: str | None,
                                                         said: list[tuple[str, str]]) -> None:
    lead = extract(chat(title, *said) if title else chat("", *said), NOW, names=NAMES)
    assert not lead.is_lead and lead.phone is None
    assert lead.reject_reason == reason
    assert looks_like(lead.reject_reason)  # the reply names what the image looked like


NEAR_CASES = [
    # a customer who wants samples sent by courier
    ("宋静@华岭制药", [("left", "我是华岭制药的采购宋静，想采购一批医用冷藏柜"),
                      ("left", "样品快递到我们公司就行，电话13816452291"), ("right", "好的，今天顺丰寄出")]),
    # an HR manager buying a recruiting system: 简历, 面试 and 薪资 are what the product handles
    ("钱蕾", [("left", "我是禾安集团的人事经理钱蕾，面试和简历筛选太乱了，想上一套招聘管理系统"),
              ("left", "预算20万左右，电话13701452269"), ("right", "好的，明天给您演示")]),
    # a customer asking for an invoice while ordering
    ("尹浩", [("left", "我们要采购50台打印机，能开专票吗？发票抬头是泽宁贸易有限公司"),
              ("left", "我手机13566210985"), ("right", "可以开的")]),
    # a customer sharing a new number about a project under way
    ("闫总-澄北建材", [("left", "我换号了，新号码13577820917，之前说的那套监控方案还要的"),
                       ("right", "好的闫总，我改一下")]),
    # a customer who speaks of an installer (师傅) and a delivery in passing
    ("韦工", [("left", "上次你们安装师傅说可以加装门禁系统，我们厂想了解一下，报个价"),
              ("left", "快递单我收到了，电话13678904513"), ("right", "好的韦工")]),
    # a customer who works at a bank asks for our product
    ("顾敏", [("left", "我是城东银行信息科的顾敏，想了解你们的机房监控，电话13911207747"), ("right", "好的")]),
    # a courier company buying a product
    ("冯经理@迅达物流", [("left", "我们快递网点想采购一批手持终端，预算30万，电话13922107766"),
                         ("right", "好的冯经理")]),
]


@pytest.mark.parametrize(("title", "said"), NEAR_CASES, ids=[f"near-{i}" for i in range(len(NEAR_CASES))])
def test_a_customer_who_mentions_such_words_in_passing_stays_a_lead(title: str, said: list[tuple[str, str]]) -> None:
    lead = extract(chat(title, *said), NOW, names=NAMES)
    assert lead.is_lead and lead.phone is not None


@pytest.mark.parametrize(("style", "kind", "reason"), [("phone", "recruit", "recruitment"),
                                                        ("wecompc", "office", "colleague_chat"),
                                                        ("wechatpc", "newnumber", "personal")])
def test_drawn_hard_negatives_read_by_tesseract_are_no_lead(style: str, kind: str, reason: str) -> None:
    """The same kinds drawn as screenshots and read by tesseract (its own misreadings, not ours)."""
    sample = make_styled(7100, style, kind)
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    assert (lead.is_lead, lead.reject_reason) == (False, reason)
