"""Images that carry phone numbers or amounts but are no customer lead, and what they look like.

Each kind is recognised by cue words that only its kind of page uses together, found as tesseract reads them
(one character misread still counts: ocr/nearmatch.py), and by the page's build: a sender that is a service
number (a bank's 955xx), price columns (a receipt's or a price table's). A screenshot that also shows a
customer's buying intent (预算, 报价, 采购 …) is left to the lead rules. REASON_CN names each kind for the reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ocr.nearmatch import CueWords


def _words(*groups: str) -> tuple[str, ...]:
    return tuple(w for g in groups for w in g.split("|"))


CUES: dict[str, tuple[str, ...]] = {
    "receipt": _words(
        "合计|实收|找零|收银|收银员|小票|购物小票|交易单号|商户单号|品名",
        "支付成功|付款成功|流水号|谢谢惠顾|多谢光顾|欢迎再次光临|会员积分|会员卡号",
    ),
    "order_page": _words(
        "订单号|订单编号|订单详情|实付款|收货地址|确认收货",
        "下单时间|物流详情|查看物流|退换货|加入购物车|待发货|已发货",
        "卖家|联系卖家|联系商家|买家|货款|商品总价|优惠券|店铺|等待卖家发货",
    ),
    "spreadsheet": _words(
        "报价表|价格表|价目表|单价|型号|规格|数量",
        "小计|序号|含税|税率|备注栏|合计金额",
    ),
    "bank_sms": _words(
        "银行|尾号|余额|入账|支出|转入|转出|账户",
        "验证码|信用卡|还款|还款日|账单|交易金额",
    ),
    "tender_notice": _words(
        "招标|投标|投标人|中标|开标|标书|采购公告|招标公告",
        "比选|磋商|资格预审|采购编号|项目编号|报名截止",
        "磋商公告|询价公告|成交公告|公共资源|交易中心|响应文件|采购人|预算金额|递交截止|截止时间",
        "公示|公示期|中标结果|中标金额|中标供应商|成交结果",
    ),
    "group_notice": _words(
        "群公告|@所有人|@全体成员|全体成员",
        "群通知|请大家|各位同事|各位家长|接龙|公告|温馨提示|各位业主|各位邻居|各位群友|各企业|各单位",
        "敬请谅解|带来不便|请提前|值班安排|停电|停水|错峰|正常上班",
    ),
    "meeting_notice": _words(
        "会议|召开|参会|议程|会务|签到|报到|的通知|通知如下",
        "主办|承办|协办|届时|敬请|出席|与会|报名",
    ),
    "courier": _words(  # parcels, deliveries, takeout riders: where a package is, when it comes, who takes it
        "快递|快递员|取件|取件码|派送|派件|驿站|运单|丰巢|签收|包裹|快递柜|放门口|代收点|放前台|放门卫",
        "外卖|骑手|送餐|餐到了|寄件|揽收|到付|件到了|有个件|你的件|你的货|你的外卖|你的东西|下来拿|师傅",
        "顺丰|中通|圆通|申通|韵达|极兔|闪送|货拉拉|饿了么|菜鸟|跑腿",
        "司机|卸货|装货|提货|那批货|车到了|取餐码|智能柜|京东|德邦|邮政|EMS|大件|上楼|在家吗|家里有人",
    ),
    "recruitment": _words(  # a recruiter and a candidate: a CV, an interview, a salary
        "候选人|简历|面试|薪资|期望薪资|招聘|应聘|岗位|猎头|入职|求职|到岗|五险一金|试用期|内推|面谈",
        "年薪|职位|看机会|新机会|换工作|跳槽|离职|底薪|提成|销售岗|双休|来公司聊聊",
    ),
    "landlord": _words(  # a landlord and a tenant: the rent, the deposit, the flat's repairs
        "房租|房东|租金|押金|水电费|退租|续租|租房|租客|交租|月租|合租|房子",
    ),
    "colleague": _words(
        "报销|报销单|周会|例会|周报|月报|打卡|请假|审批|考勤|考勤表|会议室|交给财务|工位",
        "领导|团队业绩|部门|KPI|加班|年会|出差申请|团建|值班|排班|出差|集合|公司门口|走流程|差旅|全员|体检",
    ),
    "personal": _words(
        "换号|新号码|新号|存一下|爬山|吃饭|聚餐|周末",
        "电影|生日|回家|哈哈|老同学|孩子|妈|爸",
    ),
}
PATTERNS: dict[str, re.Pattern[str]] = {  # cues that are shapes, not words
    "spreadsheet": re.compile(r"日期[:：]"),
    "bank_sms": re.compile(r"【[^】]{2,8}】"),
    "meeting_notice": re.compile(r"地点[:：]|联系人[:：]|人员[:：]"),
    # a notice's header: 【停电通知】, 【温馨提示】, a line that is only 通知 / 公告
    "group_notice": re.compile(r"【[^】]{0,8}(?:通知|公告|提示)】|^\s*(?:群公告|公告|通知)\s*[:：]?\s*$"
                               r"|(?:^|@所有人|@全体成员)\s*(?:群公告|公告|通知|温馨提示|提醒)\s*[:：]", re.MULTILINE),
}
# Everyday words a kind also uses, counted only beside one of its own cues: a supply or logistics customer talks of
# 配送, 送达 and 门卫 too, and a buyer asks whether goods are 送货上门.
COMPANIONS: dict[str, tuple[str, ...]] = {
    "courier": _words("配送|送达|送货|送到|送过去|楼下|下楼|门卫|小哥|到了给你打"),
}
INTENT = re.compile("|".join(_words(
    "预算|报价|采购|需求|方案|合作|了解一下|想了解|想咨询",
    "咨询一下|产品|试用|演示|项目|资料|价格|多少钱|贵司|你们公司|报个价|询价|想采购|想买",
)))
# One matcher over every kind's words (the text is scanned once), then each kind takes its own.
MATCHER = CueWords([w for words in (*CUES.values(), *COMPANIONS.values()) for w in words])
# A sender that is a service number, as a messages app titles a bank's or an operator's texts (95588, 1069…)
SERVICE_NUMBER = re.compile(r"(?:95\d{3,4}|96\d{3,4}|10\d{3,10}|12\d{3})")
# A line of a table: two or more amounts or counts after a word (「牛奶 2 6.50 13.00」, 「1 门禁系统 标准版 6000」)
COLUMNS = re.compile(r"\S+[ \t]+[\d.,¥￥]+(?:[ \t]+[\d.,¥￥]+)+\s*$", re.MULTILINE)
NOTICE_TITLE = re.compile(r"群公告|公告|群通知|通知")
# Someone's own number changed: what a friend or an acquaintance says, no business in it
NEW_NUMBER = re.compile(r"换了?个?(?:手机)?号(?:码)?|(?:手机)?号码?换了|新(?:手机)?号")
# What the image looked like, completing 「这张图看起来是…」: said to the rep, so plain words, no codes.
REASON_CN = {
    "receipt": "收据或支付凭证",
    "order_page": "购物订单页面",
    "spreadsheet": "表格或报价单",
    "bank_sms": "银行短信",
    "tender_notice": "招标公告",
    "meeting_notice": "会议通知",
    "group_notice": "群公告或群通知",
    "landlord": "和房东的聊天",
    "supplier": "供应商的推销聊天",
    "courier": "和快递员的聊天",
    "recruitment": "招聘求职的聊天",
    "colleague": "同事之间的聊天",
    "colleague_chat": "同事之间的聊天",
    "personal": "和亲友的闲聊",
    "group_chat": "群聊，分不清谁是客户",
}


def looks_like(kind: str | None) -> str | None:
    """「看起来是和亲友的闲聊」, 「不像聊天截图」: what the image seemed to be, as a phrase after 「这张图」; None when
    the kind is unknown."""
    if kind == "not_chat":
        return "不像聊天截图"
    return f"看起来是{REASON_CN[kind]}" if kind in REASON_CN else None


@dataclass(frozen=True)
class Looks:
    """What a page looks like: its negative kind (None: nothing in particular) and how many cues say so."""

    kind: str | None
    cues: float = 0.0
    leaning: str | None = None  # the kind two cues point to, however many topic words: a page where nobody buys


def classify(text: str, *, is_chat: bool, common: Callable[[str], bool] | None = None,
             title: str | None = None) -> str | None:
    """The negative kind `text` looks like, or None (see `weigh`)."""
    return weigh(text, is_chat=is_chat, common=common, title=title).kind


def weigh(text: str, *, is_chat: bool, common: Callable[[str], bool] | None = None,
          title: str | None = None) -> Looks:
    """The negative kind `text` looks like. Two different cues of one kind are needed (a cue read with one
    character misread counts half; a service-number sender and price columns count as one each), and more of
    them than buying-intent words (a customer asking for a quote may mention 单价 once). `common`: everyday
    two-character words, for the near matches."""
    exact, near = MATCHER.found(text.replace("\n", "|"), common)
    flat = text
    for w in exact:
        flat = flat.replace(w, "")  # 报价表 is a cue, not a customer asking for 报价
    intent = len(set(INTENT.findall(flat)))
    best = Looks(None)
    leaning, most = None, 0.0
    for kind, words in CUES.items():
        said = set(words) | set(COMPANIONS.get(kind, ()))
        hits = len(exact & said) + 0.5 * len(near & said) + _built(kind, text, title)
        if rx := PATTERNS.get(kind):
            hits += len(set(rx.findall(text)))
        if kind in COMPANIONS and not (exact | near) & set(words):
            hits = 0  # companions count only beside a cue of the kind's own
        if kind == "personal" and intent:
            continue  # a friend who is also a customer
        if hits >= 2 and hits > most:  # (when nobody buys, topic words such as 产品 outweigh nothing)
            leaning, most = kind, hits
        if hits >= 2 and hits > intent and hits > best.cues:
            best = Looks(kind, hits)
    if best.kind is None and not is_chat:
        return Looks("not_chat")
    return Looks(best.kind, best.cues, best.kind or leaning)


def _built(kind: str, text: str, title: str | None) -> int:
    """A page's build as one more cue: a bank's texts come from a service number; receipts, order pages and price
    tables set their figures in columns; a 群公告 page is titled so (two cues), and so is a message that is only a
    new number."""
    if kind == "bank_sms":
        return int(bool(title and SERVICE_NUMBER.fullmatch(title.strip())))
    if kind == "personal":  # a new number said in so many words is the whole message
        return 2 * bool(NEW_NUMBER.search(text))
    if kind == "group_notice":  # a messenger's 群公告 page is titled so
        return 2 * bool(title and NOTICE_TITLE.fullmatch(title.strip()))
    if kind in ("receipt", "spreadsheet"):
        return int(len(COLUMNS.findall(text)) >= 3)
    return 0
