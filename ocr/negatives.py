"""Images that carry phone numbers or amounts but are no customer lead, and what they look like.

Each kind is recognised by words that only its kind of page uses together; a screenshot that also shows a
customer's buying intent (预算, 报价, 采购 …) is left to the lead rules. REASON_CN names each kind for the reply.
"""

from __future__ import annotations

import re


def _words(*groups: str) -> re.Pattern[str]:
    return re.compile("|".join(groups))


CUES: dict[str, re.Pattern[str]] = {
    "receipt": _words(
        "合计|实收|找零|收银|小票|交易单号|商户单号",
        "支付成功|付款成功|流水号|谢谢惠顾|欢迎再次光临|会员积分",
    ),
    "order_page": _words(
        "订单号|订单编号|订单详情|实付款|收货地址|确认收货",
        "下单时间|物流详情|退换货|加入购物车|待发货|已发货",
    ),
    "spreadsheet": _words(
        "报价表|价格表|价目表|单价|型号|规格|数量",
        "小计|序号|含税|税率|备注栏|合计金额|日期[:：]",
    ),
    "bank_sms": _words(
        "银行|尾号|余额|入账|支出|转入|转出|账户",
        "验证码|信用卡|还款|交易金额|【[^】]{2,8}】",
    ),
    "tender_notice": _words(
        "招标|投标|中标|开标|标书|采购公告|招标公告",
        "比选|磋商|资格预审|采购编号|项目编号|报名截止",
    ),
    "group_notice": _words(
        "群公告|@所有人|@全体成员|全体成员",
        "群通知|请大家|各位同事|各位家长|接龙",
    ),
    "meeting_notice": _words(
        "会议|召开|地点[:：]|参会|议程|会务|签到|报到|的通知|通知如下",
        "主办|承办|协办|届时|敬请|出席|与会|报名|联系人[:：]|人员[:：]",
    ),
    "courier": _words(  # parcels, deliveries, takeout riders: where a package is, when it comes, who takes it
        "快递|取件|派送|派件|驿站|运单|丰巢|签收|包裹|快递柜|取件码|放门口|代收点",
        "外卖|骑手|送餐|餐到了|寄件|揽收|到付|件到了|有个件|你的件|你的货|你的外卖",
        "顺丰|中通|圆通|申通|韵达|极兔|闪送|货拉拉|饿了么|菜鸟|跑腿",
    ),
    "colleague": _words(
        "报销|周会|例会|周报|月报|打卡|请假|审批",
        "领导|团队业绩|部门|KPI|考勤|加班|年会|出差申请",
    ),
    "personal": _words(
        "换号|新号码|新号|存一下|爬山|吃饭|聚餐|周末",
        "电影|生日|回家|哈哈|老同学|孩子|妈|爸",
    ),
}
# Everyday words a kind also uses, counted only beside one of its own cues: a supply or logistics customer talks of
# 配送, 送达 and 门卫 too, and a buyer asks whether goods are 送货上门.
COMPANIONS: dict[str, re.Pattern[str]] = {
    "courier": _words("配送|送达|送货|送到|楼下|下楼|门卫|小哥"),
}
INTENT = _words(
    "预算|报价|采购|需求|方案|合作|了解一下|想了解|想咨询",
    "咨询一下|产品|试用|演示|项目|资料|价格|多少钱|贵司|你们公司",
)
# What the image looked like, completing 「这张图看起来是…」: said to the rep, so plain words, no codes.
REASON_CN = {
    "receipt": "收据或支付凭证",
    "order_page": "购物订单页面",
    "spreadsheet": "表格或报价单",
    "bank_sms": "银行短信",
    "tender_notice": "招标公告",
    "meeting_notice": "会议通知",
    "group_notice": "群公告",
    "courier": "和快递员的聊天",
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


def classify(text: str, *, is_chat: bool) -> str | None:
    """The negative kind `text` looks like, or None. Two different cue words of one kind are needed, and more
    of them than buying-intent words (a customer asking for a quote may mention 单价 once)."""
    best, best_hits = None, 0
    for kind, rx in CUES.items():
        hits = len(set(rx.findall(text)))
        if hits and kind in COMPANIONS:
            hits += len(set(COMPANIONS[kind].findall(text)))
        intent = len(set(INTENT.findall(rx.sub("", text))))  # 报价表 is a cue, not a customer asking for 报价
        if kind == "personal" and intent:
            continue  # a friend who is also a customer
        if hits >= 2 and hits > intent and hits > best_hits:
            best, best_hits = kind, hits
    if best is None and not is_chat:
        return "not_chat"
    return best
