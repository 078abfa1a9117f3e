"""Lead fields from OCR'd chat text: pure functions, no I/O.

Customer fields come only from the customer's (left) bubbles and the title bar; the rep's own
(right) words never become customer fields — only an agreed follow-up time may come from them.
Unknown stays None: nothing is guessed. Every found field carries a confidence.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import to_cn
from ocr.catalog import DEFAULT_PATH, Catalog, load_catalog, product_like
from ocr.engine import LEFT, RIGHT, TIME, ChatText, TextRegion, join_lines
from ocr.internal import colleagues_on_a_customer, is_department
from ocr.negatives import Looks, classify, weigh
from ocr.people import (
    COMPANY_EDGE,
    COMPANY_RE,
    HONORIFIC,
    LATIN_GIVEN,
    ROLE_SPAN,
    SURNAMES,
    TITLE,
    TITLE_CORE,
    NameLists,
    Person,
    TitleBar,
    clean_company,
    company_in,
    department_in,
    group_company,
    handed_to,
    is_person_name,
    is_referral,
    is_title,
    looks_like_company,
    named_with,
    parse_title_bar,
    person_in,
    rank_for,
    repair_surname,
    role_in,
    signature_block,
    signature_in,
    split_department,
    strip_title_noise,
    surer_reading,
    surname_said,
)
from ocr.requests import ASKS, requested_things
from ocr.selling import selling_to_us, someone_buys
from ocr.sides import INDUSTRY, LABEL, hands_over, is_ours, own_companies, speaks_for_us, title_names_ours
from ocr.timeparse import Found, agreed, find_times, parse_anchor
from storage.leads import cn_number, parse_budget

NEEDS_PATH = DEFAULT_PATH  # the default catalog (kept for callers that edit or read it)
CONTACT_TRAP = re.compile(r"(介绍|推荐|他的?|她的?|同事|朋友|领导|老板|助理|秘书)[^，。,.]{0,6}(电话|手机|号码|微信)"
                          # "王总介绍我来的，他电话…" with the 他 misread (a blurred photo): still the referrer's
                          r"|(介绍|推荐)[^，。,.]{0,5}[，,]\s*[^\d\s，。,.我]的?(电话|手机|号码)"
                          # 「邵经理电话 150…」: a number given as another person's, by their surname and rank
                          r"|(?<![我是])[\u4e00-\u9fff](经理|总监|老师|主任|主管|科长|处长|部长|院长)的?(电话|手机|号码)")
# "你可以联系王经理，电话139…": a number given for someone else the customer points to
REFERRER = re.compile(
    r"(?:联系|找|对接|打给|问问?)(?:我们|咱们)?(?!方式|我|电话|手机|号码)(?P<who>[\u4e00-\u9fff]{1,5}?)[，,\s]*"
    r"(?:他|她)?的?(?:电话|手机号?|号码)?(?:是|[:：])?\s*$"
)
# "找我同事周敏…邮箱zhoumin@…", "加我同事微信 tech_li": an email / WeChat id in such a bubble is someone else's
THIRD_PARTY_CONTACT = re.compile(
    r"(?:同事|朋友|助理|秘书|介绍|推荐|[他她]的)[^。！？!?\n]{0,40}(?:邮箱|微信|mail|wx|vx)", re.IGNORECASE)
REFERRED_PERSON = re.compile(
    r"[\u4e00-\u9fff]{1,2}(?:经理|总监|总|老师|主任|主管|工|先生|女士|姐|哥|秘书|助理|科长|处长|院长)|他|她"
)
PHONE = re.compile(r"(?<![\d])(?:\(?\+?\s*86\)?[\s\-]*)?(1[3-9]\d(?:[\s\-]*\d){8})(?![\d])")
EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# "vx" as OCR also reads it ("VXx", "Vvx"), whatever the case
WECHAT_KEY = re.compile(r"(?:微信号?|v信|威信|[vV]{1,2}[xX]{1,2}|wx|WX|wechat|WeChat)\s*(?:号)?\s*[:：是]?\s*")
WECHAT_ID = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z][A-Za-z0-9_\-]{5,19}(?![A-Za-z0-9_\-@.])")
# Right after its label, an id shorter than WeChat's 6 characters still counts when it mixes letters and digits
# ("微信号：hu792"): people type their id from memory and other apps' ids are shorter.
SHORT_WECHAT_ID = re.compile(r"[A-Za-z][A-Za-z_\-]*\d[A-Za-z0-9_\-]*(?![A-Za-z0-9_\-@.])")
AMOUNT = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)? ?[十百千](?= ?(?:万|亿))|\d+(?:\.\d+)?"
    r"|[零一二两三四五六七八九十百千]+)"
    r"\s*(?:来|多|余|出头)?个?\s*"
    r"(?P<unit>万元|万|[wW](?![a-zA-Z])|亿|[kK](?![a-zA-Z])|千|元|块)"
    r"(?:(?P<tail>[1-9一二三四五六七八九])千?(?![\d万千百十亿月日号点年天周]))?"  # 2万5 = 25,000
    r"|[¥￥]\s*(?P<yuan>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"  # ¥350,000
    # ¥ as OCR misreads it on a small screenshot (y, Y, 半, 羊): taken only before digits grouped by commas
    r"|(?<![A-Za-z0-9])[yY半羊]\s*(?P<misread_yuan>\d{1,3}(?:\s?[,，]\s?\d{3})+)(?![\d,])"
)
# what is approved or available is a budget too: 「批了260w」, 「维修基金能动用的是…」, 「拨了120万」, 「总共就90万」
APPROVED = (r"批了|批下来|批复|审批下来|能动用|可动用|可以动用|能用的|可用的?|拨了|拨款|下拨|到位|基金|专项"
            r"|总共就|一共就|总共有")
BUDGET_HINT = re.compile(rf"预算|经费|资金|投入|控制在|不超过|以内|左右|上下|大概|预计|准备花|{APPROVED}")
BUDGET_WORD = re.compile(rf"预算|经费|资金|投入|准备花|控制在|不超过|{APPROVED}")
PER_UNIT = re.compile(r"\s*(?:/|每|一)\s*(?:台|套|个|件|张|把|只|路|点|平|米|间|户|年|月)")  # a price: 3200元一套
NOT_MONEY_AFTER = re.compile(r"多?(?:人|个|家|名|位|户|台|件|套|张|条|次|平|米|用户|客户|员工|门店|学生|床)")
# a budget typed without a unit after its word: 「预算 50000000」, 「预算5e7」, 「经费：300,000元」 (units: AMOUNT)
BUDGET_PLAIN = re.compile(r"(?:预算|经费|投入|资金)\s*(?:是|为|大概|大约|约|在|有)?\s*[:：]?\s*"
                          r"(?P<v>\d[\d,]*(?:\.\d+)?(?:e\+?\d+)?)\s*(?:元|块|人民币)?"
                          r"(?![\d.,]|\s*(?:千万|百万|十万|亿|万|[wWkK千年月日号点天周个人家台套次%]))", re.IGNORECASE)
OTHER_MONEY = re.compile(r"营收|收入|销售额|营业额|产值|市值|估值|融资|利润|规模|去年|上次|之前|花了|报价|单价"
                         r"|薪资|薪水|月薪|年薪|工资|底薪|待遇"
                         r"|每[台套个件张]")
PAGE_WORDS = re.compile(r"支付成功|交易单号|商户单号|收款方|支付方式|报价单|单价|合计|实付|发票|小计")
FIELDS = ("customer_name", "company", "title", "phone", "email", "wechat_id", "budget_cny", "needs", "follow_up")


@dataclass(frozen=True)
class LeadFields:
    customer_name: str | None = None
    company: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat_id: str | None = None
    budget_cny: int | None = None
    needs: tuple[str, ...] = ()
    follow_up: datetime | None = None
    confidence: float = 0.0
    field_confidence: dict[str, float] = field(default_factory=dict)
    text: str = ""
    follow_up_precision: str | None = None  # "hour" | "part" | "day" (see timeparse.Found.precision)
    chat_title: str | None = None  # the chat's title bar as read: tells screenshots of different chats apart
    dialogue: tuple[tuple[str, str, str], ...] = ()  # (region kind, text, eng reading) top to bottom; left = customer
    is_lead: bool = False
    reject_reason: str | None = None  # "not_chat" | "group_chat" | "colleague_chat" | "no_details"


# ---------------------------------------------------------------- small parsers


def normalise_phone(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if re.fullmatch(r"1[3-9]\d{9}", digits) else None


def find_phones(text: str, *, typed: bool = False) -> list[tuple[str, bool]]:
    """(11-digit phone, is_trap) in order; a referrer's / colleague's number, or one that is no mobile's, is a
    trap (see `phone_roles`)."""
    return [(phone, role == OTHER or role.startswith(THIRD)) for phone, role in phone_roles(text, typed=typed)]


OTHER, OWN, FIXED, PLAIN = "other", "own", "fixed", "plain"
# how surely a number is the lead's, by its role (a later one replaces an earlier one only when surer)
PHONE_SURE = {PLAIN: 0.9, OWN: 0.95, FIXED: 0.97}
# an 11-digit number labelled as something else: an order, waybill, ticket, contract or account number, a QQ
NOT_MOBILE = re.compile(r"(?:订单|单号|运单|快递号|工单号|合同号|编号|发票号|账号|帐号|卡号|QQ|qq|扣扣|税号|批次号"
                        r"|序列号|货号|流水号|票号|会员号|身份证|证件号|型号|条码|取件码)[号码]?\s*[:：是为]?\s*$")
# the rep's own number as the customer quotes it back: 「你给我的那个号码…打不通」, 「您的电话…」
YOURS = re.compile(r"(?:你|您)(?:之前|上次|刚才)?(?:给我|发我|留给我|给)?的?(?!打|拨|存|记|加|联系|可以|直接|随时|就)"
                   r"[^，。；;我]{0,6}?(?:电话|手机号?|号码|号)")
# a third person named just before a number: 「采购小韩 136…」, 「老周 139…」, 「找王工 138…」 (not 「我是小韩，…」)
THIRD_PERSON = re.compile(r"(?<![我是叫])(?:(?:小|老)(?P<a>[\u4e00-\u9fff])"
                          r"|(?P<b>[\u4e00-\u9fff])(?:工|总|经理|主任|主管|老师|师傅))的?(?:电话|手机号?|号码)?\s*[:：是]?\s*$")
# the introducer of a typed lead or of a chat: 「介绍人李总138…」
INTRODUCER = re.compile(r"(?:介绍人|推荐人|引荐人)[^，。,;；\d]{0,6}$")
# the number given as the speaker's own (or, typed by a rep, as the customer's)
OWN_NUMBER = re.compile(r"(?:我|本人)的?(?:手机号?|电话|号码|联系方式|的是)|(?:打|联系|找|call)我|我的$")
CUSTOMERS = re.compile(r"(?:客户|对方|联系人)的?(?:手机号?|电话|号码|联系方式)")
REPS_OWN = re.compile(r"(?:我|本人)的?(?:手机号?|电话|号码)")  # typed by a rep: the rep's own number
# a number given again to correct the one before: 「不对，刚才打错了，是…」, 「新号码…」
CORRECTS = re.compile(r"不对|打错|写错|输错|错了|少打|多打|更正|纠正|改一下|应该是|重新发|以这个为准|新号|换号")


def phone_roles(text: str, *, typed: bool = False) -> list[tuple[str, str]]:
    """(11-digit phone, role) in order. OTHER: a referrer's, a colleague's, the rep's own as the customer quotes
    it, or a number labelled as no mobile (订单号, 运单号, QQ…); FIXED: given to correct an earlier one; OWN: said
    to be the speaker's (「我手机…」), or in text a rep typed, the customer's (「客户电话…」) — there the rep's
    「我的电话」 is OTHER; PLAIN: a number with nothing said about it."""
    out = []
    for m in PHONE.finditer(text):
        phone = normalise_phone(m.group(1))
        if not phone:
            continue
        before = text[max(0, m.start() - 16) : m.start()]
        clause = re.split(r"[，,。；;！!？?\n]|\d", before)[-1]
        other = bool(CONTACT_TRAP.search(before[-14:])) or _referred(before) or bool(
            NOT_MOBILE.search(clause) or YOURS.search(clause) or INTRODUCER.search(clause))
        if typed:
            other = other or bool(REPS_OWN.search(clause) and not CUSTOMERS.search(clause))
            role = OTHER if other else OWN if CUSTOMERS.search(clause) else PLAIN
        else:
            third = _third_person(clause)
            said = text[max(0, m.start() - 30) : m.start()]
            role = OTHER if other else f"{THIRD}{third.group('a') or third.group('b')}" if third else \
                FIXED if CORRECTS.search(said) else OWN if OWN_NUMBER.search(clause) else PLAIN
        out.append((phone, role))
    return out


def _third_person(clause: str) -> re.Match[str] | None:
    """A person named by surname just before a number (「老吕」, 「王工」), not a job title (「行政经理」, 「老板」)."""
    m = THIRD_PERSON.search(clause)
    if m is None or (m.group("a") or m.group("b")) not in SURNAMES:
        return None
    job = re.search(rf"(?:{TITLE.pattern})\s*[:：是]?\s*$", clause)
    return None if m.group("b") and job and job.start() <= m.start("b") else m


THIRD = "third:"  # + the surname: a number given for a person named by surname and rank (「程总电话…」)


def put_phone(acc: _Acc, phone: str, role: str, conf: float) -> None:
    """Keep the surest number given as the lead's; two different numbers given alike with nothing to choose
    between them (neither the speaker's own, nor a correction) leave none — a wrong number is worse than none."""
    sure = PHONE_SURE[role] * conf / 0.95
    known = acc.text("phone")
    if known is None or sure > acc.conf.get("phone", 0):
        acc.put("phone", phone, sure, override=True)
        acc.values.pop("phone_doubt", None)
    elif known != phone and role == PLAIN and acc.conf.get("phone", 0) <= sure:
        acc.values["phone_doubt"] = True


def _referred(before: str) -> bool:
    m = REFERRER.search(before)
    who = m.group("who") if m else ""
    return bool(who) and (is_person_name(who) or bool(REFERRED_PERSON.fullmatch(who)))


def amount_of(m: re.Match[str]) -> int | None:
    """The yuan value of an AMOUNT match: 50万, 两百来万, 六十个w, 120k, ¥350,000."""
    yuan = m.group("yuan") or m.group("misread_yuan")
    if yuan:
        return round(float(re.sub(r"[,，\s]", "", yuan)))
    return parse_amount(m.group("num"), m.group("unit"), m.group("tail"))


def parse_amount(num: str, unit: str, tail: str | None = None) -> int | None:
    """'50' + '万' → 500000; '2' + '万' + '5' (2万5) → 25000; '1,200' + '万' → 12000000."""
    num = num.replace(",", "").replace(" ", "")
    value: float | None
    scaled = re.fullmatch(r"(\d+(?:\.\d+)?)([十百千])", num)  # 5千万, 3百万
    if scaled:
        value = float(scaled.group(1)) * {"十": 10, "百": 100, "千": 1000}[scaled.group(2)]
    elif re.fullmatch(r"\d+(?:\.\d+)?", num):
        value = float(num)
    else:
        value = cn_number(num)
        if value is None:
            return None
    mult = {"万": 10_000, "万元": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1000, "K": 1000,
            "千": 1000, "元": 1, "块": 1}[unit]
    if tail and mult >= 10:
        value += float(tail) / 10 if tail.isdigit() else (cn_number(tail) or 0) / 10
    return round(value * mult)


def find_budget(text: str) -> int | None:
    """The amount the customer budgets: one tied to 预算/经费/… wins over others; headcounts
    (5千人, 三千多个客户) and other money (营收两亿, 去年花了80万) are not budgets."""
    if not BUDGET_HINT.search(text):
        return None
    m = BUDGET_PLAIN.search(text)
    typed = parse_budget(m.group("v")) if m else None
    if typed is not None and typed >= 1000:
        return typed
    plain: int | None = None
    for m in AMOUNT.finditer(text):
        value = amount_of(m)
        if not value or value < 1000 or NOT_MONEY_AFTER.match(text, m.end()) or PER_UNIT.match(text, m.end()):
            continue
        clause = re.split(r"[，。；;！!？?,\n]", text[: m.start()])[-1]
        if BUDGET_WORD.search(clause):
            return value
        if plain is None and not OTHER_MONEY.search(clause):
            plain = value
    return plain


def budget_in(text: str) -> int | None:
    """A budget typed by a rep ("三十万", "两百万左右", "预算1,200万")."""
    found = find_budget(text)
    if found is not None:
        return found
    m = AMOUNT.search(text)
    if not m or m.group("unit") in ("元", "块", None) or NOT_MONEY_AFTER.match(text, m.end()):
        return None
    return amount_of(m)


def need_matcher() -> Catalog:
    """The default catalog, loaded once (warm-up)."""
    return load_catalog(None)


def find_email(text: str) -> str | None:
    m = EMAIL.search(text)
    return m.group(0).lower() if m else None


def find_wechat(main: str, latin: str) -> str | None:
    """A WeChat id after 微信/wx; none for 「微信同号」 (the id is the phone number) or an id holding a phone."""
    if re.search(r"微信\s*(?:和|也)?\s*同号|同微信", main) and not re.search(r"微信号?\s*[:：是]?\s*[A-Za-z]", main):
        return None
    found = _wechat(main, latin)
    return None if found and re.search(r"\d{7,}", found) else found


def _wechat(main: str, latin: str) -> str | None:
    for source in (latin, main):
        k = WECHAT_KEY.search(source)
        if k:
            m = WECHAT_ID.search(source, k.end())
            if m and m.start() - k.end() <= 3 and "@" not in m.group(0):
                return m.group(0)
            short = SHORT_WECHAT_ID.match(source, k.end())
            if short and 4 <= len(short.group(0)) <= 5:
                return short.group(0)
    k = WECHAT_KEY.search(main)
    if k and latin:  # keyword read by chi_sim, id only legible in the eng reading
        ids = [m.group(0) for m in WECHAT_ID.finditer(latin) if re.search(r"\d", m.group(0))]
        if ids:
            return ids[-1]
    return None


# ---------------------------------------------------------------- customer fields from left bubbles


@dataclass
class _Acc:
    values: dict[str, object] = field(default_factory=dict)
    conf: dict[str, float] = field(default_factory=dict)

    def put(self, key: str, value: object, conf: float, *, override: bool = False) -> None:
        if value is None or value == "" or value == ():
            return
        if key == "company" and isinstance(value, str):
            value, dept = tidy_company(value)
            if dept and (key not in self.values or override):
                self.put("title", dept, min(conf, 0.6))  # 「东盛机械厂安环部」: the department is the title's
        if key not in self.values or override:
            self.values[key] = value
            self.conf[key] = conf

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) else None

    def number(self, key: str) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) else None

    def moment(self, key: str) -> datetime | None:
        value = self.values.get(key)
        return value if isinstance(value, datetime) else None

    def words(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key, ())
        return tuple(value) if isinstance(value, (tuple, list)) else ()


def tidy_company(value: str) -> tuple[str, str | None]:
    """A company as a field holds it, and a department that was run on to it: no label (「公司深圳某某科技有限公司」
    typed as label + value), no brackets around it (「（青松中学）」), no second mention (「恒达物业的物业」)."""
    value = COMPANY_LABEL.sub("", value.strip())
    value = re.sub(r"^[（(【\[]\s*(.+?)\s*[)）】\]]$", r"\1", value)
    head, _, tail = value.partition("的")
    if tail and looks_like_company(head) and not REGISTERED_END.search(value):
        value = head
    return split_department(value)


REGISTERED_END = re.compile(r"(?:有限公司|有限责任公司|集团)$")


def _rejoin_company(lines: list[str]) -> list[str]:
    """A long company name the bubble wrapped (「金桥农村商业银行股份」 / 「有限公司」) as one line again: the tail
    alone would read as a company of its own."""
    out: list[str] = []
    for line in (ln.strip() for ln in lines):
        prev = out[-1] if out else ""
        if prev and len(line) <= 6 and not COMPANY_RE.fullmatch(prev) and COMPANY_RE.fullmatch(prev + line) \
                and not re.search(r"\d{3}|@|[:：]", prev):
            out[-1] = prev + line
        else:
            out.append(line)
    return out


def _card_lines(lines: list[str], acc: _Acc) -> bool:
    """名片 style message: name / title / company on their own lines."""
    if len(lines) < 3 or not is_person_name(lines[0].strip()):
        return False
    acc.put("customer_name", lines[0].strip(), 0.9, override=True)
    for line in _rejoin_company(lines[1:]):
        if re.search(r"\d{3}|@|[:：]", line):
            continue
        if is_title(line):
            acc.put("title", line, 0.85)
        elif COMPANY_RE.fullmatch(line) or (2 <= len(line) <= 24 and "company" not in acc.values):
            acc.put("company", line, 0.8, override=bool(COMPANY_RE.fullmatch(line)))
    return True


@dataclass
class _Context:
    catalog: Catalog
    referral: bool = False  # the customer is passing on someone else: that person is the lead
    asked: bool = False  # the customer has asked for something so far: a rep's 「我们的X」 may answer it
    own_contact: bool = False  # a customer-side speaker gave their own number (「我手机…」): in a group, the lead
    budget_open: bool = False  # the budget was just brought up without an amount: the customer's next bubble says it


OWN_CONTACT = re.compile(r"我的?(?:手机|电话|号码|微信|联系方式)|(?:联系|找|打给|打)我|本人(?:手机|电话)"
                         r"|(?:有事|随时)(?:打|拨|联系)(?:这个|此)")


def _contacts(flat: str, latin: str, acc: _Acc, ctx: _Context) -> None:
    """Phone, email and WeChat id; in a referral the referred person's (他电话…) are the lead's."""
    phones = phone_roles(flat)
    ctx.own_contact = ctx.own_contact or bool(phones and OWN_CONTACT.search(flat))
    name = acc.text("customer_name") or ""
    misread = {p for p, _ in phone_roles(latin)} if latin else set()
    for phone, role in phones:
        if any(0 < sum(a != b for a, b in zip(phone, other, strict=True)) <= 2 for other in misread):
            continue  # the two readings of the line disagree on a digit or two: which one is right is unknown
        sure = 0.95
        if role.startswith(THIRD):  # the lead's when the lead is the person named (「程总电话…」 for 程国栋), or
            # may be when no one else is known to be (a contact passing the purchase on), below any number given plainly
            sure = 0.95 if name[:1] == role[len(THIRD):] else 0.9
            role = PLAIN if not name or name[:1] == role[len(THIRD):] else OTHER
        if role == OWN and ctx.referral:
            continue  # the referrer's own number: the lead is the person referred
        if role != OTHER:
            put_phone(acc, phone, role, sure)
        elif ctx.referral and not re.search(r"我的?(?:电话|手机)", flat):
            put_phone(acc, phone, PLAIN, 0.95)
    if not phones and latin and (ctx.referral or not CONTACT_TRAP.search(flat)):
        for phone, role in phone_roles(latin):  # digits only legible in the eng reading
            if role == PLAIN or role in PHONE_SURE or ctx.referral:
                put_phone(acc, phone, role if role in PHONE_SURE else PLAIN, 0.85)
    if ctx.referral or not THIRD_PARTY_CONTACT.search(flat):
        acc.put("email", _email(flat, latin), 0.85)
        acc.put("wechat_id", find_wechat(flat, latin), 0.75)


def _email(flat: str, latin: str) -> str | None:
    """The address as `eng` read it (chi_sim turns qq.com into dd.com), but starting where chi_sim starts it:
    `eng` reads Chinese just before the address as Latin letters run into it (「发到iris@…」 → "araarbiris@…")."""
    flat, latin = _mend_email(flat), _mend_email(latin)
    found = find_email(_join_email(latin))
    own = re.search(r"([A-Za-z0-9][A-Za-z0-9._%+\-]*)@", flat)
    if found and own:
        local, _, domain = found.partition("@")
        mine = own.group(1).lower()
        if local != mine and (local.endswith(mine) or mine.endswith(local)):
            return f"{mine}@{domain}"
    return found or find_email(flat)


def _mend_email(text: str) -> str:
    """tesseract reads a small 「@」 as 「Q@」 (「chenQ@」, 「chen Q@」), and a bubble wraps the local part
    (「邮箱chen」 / 「lin@…」): drop the Q after a lower-case local part and join a wrapped local part that follows
    a Chinese label."""
    text = re.sub(r"(?<=[a-z0-9._\-])\s?Q@", "@", text)
    return re.sub(r"(?<=[\u4e00-\u9fff：:])([a-z0-9._\-]{1,20}) ([a-z0-9._\-]*@)", r"\1\2", text)


def _join_email(latin: str) -> str:
    """An address broken over two bubble lines reads "jack@example co.com.cn": close the gap."""
    return re.sub(r"(@[A-Za-z0-9\-]+)\s+([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})", r"\1\2", latin)


def _identity(flat: str, acc: _Acc) -> None:
    """Name, company and title from an introduction or from what the speaker says about their role."""
    person = person_in(flat)
    if person.name:
        acc.put("customer_name", person.name, 0.92, override=True)
        acc.put("company", person.company, 0.85, override=True)
        acc.put("title", person.title, 0.85, override=True)
    elif person.company:  # an introduction whose name OCR misread: its company still stands
        acc.put("company", person.company, 0.8)
        acc.put("title", person.title, 0.8)
    acc.put("title", role_in(flat), 0.85, override=acc.conf.get("title", 0) < 0.8)
    acc.put("department", department_in(flat), 0.7)
    co = company_in(flat)
    known = acc.values.get("company")
    # a sentence never lengthens a known company at its front (「请按附件报价」 + the signature's company)
    if co and not CONTACT_TRAP.search(flat) and not (isinstance(known, str) and known != co
                                                     and (co in known or co.endswith(known)
                                                          or (co.startswith(known) and not REGISTERED_END.search(co)))):
        full = bool(COMPANY_RE.fullmatch(co))
        acc.put("company", co, 0.85 if full else 0.8, override=full or acc.conf.get("company", 0) < 0.8)


def _needs(flat: str, acc: _Acc, ctx: _Context) -> None:
    """Catalog products the customer names; a thing asked for that the catalog lacks is kept in their words."""
    _add_needs(needs_in(flat, ctx.catalog), acc)


def needs_in(flat: str, catalog: Catalog) -> list[str]:
    """Catalog products named in `flat`, then the things asked for that no catalog product covers, in the
    customer's words: 「需要扫码枪，也想了解一下无人机」 is both."""
    needs = catalog.find(flat)
    for thing in requested_things(TITLE.sub("，", flat)):
        named = catalog.near(thing)
        if named is None and (catalog.find(thing) or not _a_thing(thing)):
            continue  # the catalog already read this request, or what was read is no thing at all
        if (named or thing) not in needs:
            needs.append(named or thing)
    return needs


# the front of a verb phrase or a request's grammar, never a product asked for (「安装一下」, 「帮忙看看」)
VERB_FRAGMENT = re.compile(r"^(?:帮|给|让|把|被|跟|和|去|来|再|先|都|也|还|就|能|会|可以|看|做|装|换|弄|搞|改|修)"
                           r"|(?:一下|看看|一些|一点|起来|过来|出来|对接|负责|跟进)$")  # 「由我们采购<姓名>对接」


def _a_thing(thing: str) -> bool:
    """A thing asked for in the customer's words that names a thing: no money or number (「3200元」), no person's
    name or a piece of one (「张经」), no verb phrase."""
    if re.search(r"\d|[零一二两三四五六七八九十百千万]+(?:元|块|万|千)", thing) or AMOUNT.search(thing):
        return False
    if (len(thing) == 3 and is_person_name(thing) and not product_like(thing)) or HONORIFIC.match(thing) or (
            len(thing) <= 3 and thing[0] in SURNAMES and re.search(r"[总经老工主]", thing[1:])):
        return False
    return not VERB_FRAGMENT.search(thing)


def _add_needs(needs: list[str], acc: _Acc) -> None:
    if needs:
        old = list(acc.words("needs"))
        acc.values["needs"] = tuple(old + [n for n in needs if n not in old])
        acc.conf["needs"] = 0.8


# A rep answering a request names the product asked for: 「没问题，我们的X在行业里用得很多」, 「您要的X」. A clause
# that advertises something else (另外 / 也在做活动 / 推荐) is not a need.
RESTATES = re.compile(
    r"^[^\u4e00-\u9fff]{0,8}(?:没问题|好的|可以|明白|收到|有的|当然)?[，,！!]?\s*"
    r"(?:我们的|您要的|您说的|您关注的|您需要的|关于|针对)"
)
ADVERTISES = re.compile(r"另外|也在|活动|优惠|促销|推荐|顺便|还有|新品|上新|新出")


# 「没问题，我们的X…」 answers a request even when the request itself has scrolled off the top of the screenshot
ANSWERS = re.compile(r"^[^\u4e00-\u9fff]{0,8}(?:没问题|好的|可以|明白|收到|有的|当然|您要的|您说的|您关注的|您需要的)")


def _rep_restates(text: str, acc: _Acc, ctx: _Context) -> None:
    flat = join_lines([ln for ln in text.split("\n") if ln.strip()])
    for clause in re.split(r"[。！!？?；;]", flat):
        answering = ctx.asked or ANSWERS.search(clause)  # else nothing was asked: the rep is advertising
        m = RESTATES.search(clause)
        if answering and m and not ADVERTISES.search(clause):  # what the restating part names, not a price after it
            _add_needs(ctx.catalog.find(re.split(r"[，,]", clause[m.end() :])[0]), acc)


FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if chr(c) not in "，：；（）！？"})


def half_width(text: str) -> str:
    """Full-width digits and Latin letters as ASCII (１３８ → 138); Chinese punctuation kept."""
    return text.translate(FULL_WIDTH).replace("\u3000", " ")


# the rep asking what the budget is: the customer's answer may name an amount alone (「五十万左右吧」)
BUDGET_ASKED = re.compile(r"(?:预算|经费|资金)[^。！!]{0,12}(?:多少|大概|范围|吗|[？?])")


def _customer_message(text: str, latin: str, acc: _Acc, ctx: _Context) -> None:
    text = half_width(text)
    lines = [ln for ln in text.split("\n") if ln.strip()]
    flat = join_lines(lines)
    card = _card_lines(lines, acc)
    # a signature starts a line of its own, which the bubble may have wrapped
    wrapped = (join_lines(lines[i:]) for i in reversed(range(len(lines))))
    for signed in (*(signature_in(ln) for ln in (*lines, *wrapped)), signature_block(lines)):
        if signed.name:
            acc.put("customer_name", signed.name, 0.9, override=True)
            acc.put("company", signed.company, 0.85, override=True)
            acc.put("title", signed.title, 0.85, override=True)
            break
    acc.put("surname", surname_said(flat), 0.6)
    _contacts(flat, latin, acc, ctx)
    if not card:
        _identity(flat, acc)
    budget = find_budget(flat)
    if budget is None and ctx.budget_open:  # 「预算这块领导批了」 … 「差不多四十来万吧」
        budget = find_budget("预算" + flat)
    acc.put("budget_cny", budget, 0.85)
    ctx.budget_open = budget is None and bool(BUDGET_WORD.search(flat))
    _needs(flat, acc, ctx)
    ctx.asked = ctx.asked or bool(ASKS.search(flat))


# ---------------------------------------------------------------- public API


def extract(chat: ChatText, now: datetime, catalog: Catalog | None = None, *, names: NameLists,
            own: Iterable[str] = ()) -> LeadFields:
    """Lead fields from an OCR'd chat; `now` is the receive time (aware); `catalog` the company's products
    (default: ocr/needs.toml); `names` the name lists (the services' engine, ocr/people.NAMES); `own` our own
    company's names (`[ocr] own_company`)."""
    text = chat.text
    if not chat.is_chat:
        return LeadFields(text=text, reject_reason=classify(text, is_chat=False, common=names.is_word))
    bar = parse_title_bar(chat.title, names)
    ours = own_companies(tuple(_without_header(r) for r in chat.regions)) | {o for o in own if len(o) >= 2}
    regions = _replies_apart(_sides(chat.regions, bar.is_group, ours))
    labels: dict[int, str] = {}
    if bar.is_group:
        regions, labels = _split_labels(regions)
    else:
        regions = tuple(_without_name_line(r, bar, chat.title) for r in regions)
    left = [r for r in regions if r.kind == LEFT]
    if bar.is_colleague or (not bar.is_group and _colleague(chat.title, bar, left, ours, own)):
        return LeadFields(text=text, chat_title=chat.title, reject_reason="colleague_chat")
    referral = any(is_referral(r.text.replace("\n", "")) for r in left)
    catalog = catalog or load_catalog(None)
    # (a colleague passing on a customer's 「对接人是…」 is a colleague chat first: no hand-over is looked for there)
    if not bar.is_group and not referral and colleagues_on_a_customer(
            chat.title, regions, buying=_buying(bar, left, ours, catalog), ours=ours):
        return LeadFields(text=text, chat_title=chat.title, reject_reason="colleague_chat")
    if selling_to_us(chat.title, regions):  # a supplier pitching to us: we are the buyer here
        return LeadFields(text=text, chat_title=chat.title, reject_reason="supplier")
    handed = _handed_over(left) if not bar.is_group else Person()
    ctx = _Context(catalog, referral=referral or bool(handed.name))
    looks = weigh(text, is_chat=True, common=names.is_word, title=chat.title)
    if _document(looks.kind, regions):
        return LeadFields(text=text, reject_reason=looks.kind)
    acc = _Acc()
    if bar.is_group:  # a customer project group: the group's name may carry the customer's company (not ours)
        named = group_company(chat.title, ctx.catalog)
        # (a project word run on to it, 「梧桐包装设备采购群」, is what the group is about, not anyone's department)
        acc.put("company", None if is_ours(named, ours) or not named else tidy_company(named)[0], 0.6)
    elif handed.name:  # the contact handed the purchase to a colleague: the same company, another person
        acc.put("company", bar.company, 0.75)
    elif not ctx.referral:  # in a referral the title bar is the referrer
        acc.put("customer_name", bar.name, 0.9)
        acc.put("company", bar.company, 0.75)
        acc.put("title", bar.title, 0.7)
    customer = {n for n in (bar.name, bar.name_guess, strip_title_noise(chat.title or "")) if n}
    members: dict[str | None, _Member] = {}  # in a group: each customer-side member's own messages, by their label
    member: str | None = None
    for i, r in enumerate(regions):
        kind, said = _speaker(r.kind, r.text, customer)
        quoted = r.text[: len(r.text) - len(said)].rstrip(":： ")
        if kind == LEFT and r.kind == RIGHT and names.is_remark_name(quoted):
            acc.put("customer_name", quoted, 0.85)  # the rep quotes the customer by the name the chat shows
        if kind == LEFT:
            if labels and r.kind == LEFT:  # a message without a label read goes with the member above it
                member = _known_member(labels[i], members) if i in labels else _new_speaker(said, member)
            who = members.setdefault(member, _Member(_Acc(), dataclasses.replace(ctx))) if labels else None
            _customer_message(said, r.latin if said == r.text else "", who.acc if who else acc, who.ctx if who else ctx)
            if who:
                who.intro = who.intro or bool(SELF_INTRO.search(said))
                who.asks = who.asks or bool(ASKS_FOR.search(said.replace("\n", "")))
                who.said.append(said.replace("\n", ""))
                ctx.asked = ctx.asked or who.ctx.asked
        elif kind == RIGHT:
            _rep_restates(said, acc, ctx)
            if BUDGET_ASKED.search(said.replace("\n", "")):  # (a rep's price in between leaves it open)
                for c in (ctx, *(m.ctx for m in members.values())):
                    c.budget_open = True
    if members:
        ctx.own_contact = _take_lead(members, acc)
    if handed.name:
        acc.put("customer_name", handed.name, 0.92, override=True)
        acc.put("title", handed.title, 0.85, override=True)
    surname = acc.text("surname")
    if surname and not members and "customer_name" not in acc.values:  # 「…，姓贝」 then 「贝思远，电话…」
        said_in_full = (named_with(surname, r.text) for r in left)
        acc.put("customer_name", next(filter(None, said_in_full), None), 0.85)
    introduced = acc.values.get("customer_name")
    shown = bar.name or (_addressed(regions, introduced, names) if isinstance(introduced, str) else None)
    if shown and isinstance(introduced, str):  # one name read two ways: the reading the chat bears out
        body = [r.text.replace("\n", "") for r in regions if r.kind in (LEFT, RIGHT)]
        ids = [str(acc.values[k]) for k in ("email", "wechat_id") if acc.values.get(k)]
        if better := surer_reading(shown, introduced, body, ids, names):
            acc.put("customer_name", better, acc.conf["customer_name"], override=True)
    if not ctx.referral and "customer_name" not in acc.values:
        rep_lines = [r.text.split("\n")[0] for r in regions if r.kind == RIGHT]
        acc.put("customer_name", repair_surname(bar.name_guess, rep_lines, names), 0.7)
    _assemble_title(acc, [r.text.replace("\n", "") for r in regions if r.kind == RIGHT])
    dialogue = tuple((r.kind, r.text, r.latin) for r in regions if r.text)
    settled = agreed(chat_times(dialogue, now, group=bar.is_group))
    if settled is not None:
        acc.put("follow_up", settled.when, 0.8)
    lead = dataclasses.replace(_finish(acc, text), chat_title=chat.title, dialogue=dialogue,
                               follow_up_precision=settled.precision if settled else None)
    # a customer project group is a lead once a customer-side member gives their own number or a budget
    spoke = ctx.own_contact or bool(acc.values.get("budget_cny"))
    listed = any(ctx.catalog.find(n) for n in lead.needs)
    buying = ctx.referral or someone_buys(regions)
    reason = _not_a_lead(lead, acc, bar.is_group and not spoke, looks, listed=listed, buying=buying)
    if reason is None:
        return lead
    if reason == "no_details":  # a chat, maybe a second screenshot of one: its few fields may still merge
        return dataclasses.replace(lead, is_lead=False, reject_reason=reason)
    return LeadFields(text=text, chat_title=chat.title, dialogue=dialogue, reject_reason=reason)


def _new_speaker(said: str, member: str | None) -> str | None:
    """The member a message without a label read is from: the member above it, unless it introduces someone else
    by name (「我是现场资料员<姓名>，送货前打我电话…」 under a label the engine lost) — then that person."""
    flat = said.replace("\n", "")
    if member and SELF_INTRO.search(flat):
        intro = person_in(flat).name
        if intro and is_person_name(_label_name(member)) and not _names(member, intro):
            return intro
    return member


def _known_member(label: str, members: dict[str | None, _Member]) -> str:
    """The member a label names: a label read with one character wrong (「袁丽兰」, 「责丽兰」) is the same member."""
    for key in members:
        if key and len(key) == len(label) >= 3 and sum(a != b for a, b in zip(key, label, strict=True)) <= 1:
            return key
    return label


def _handed_over(left: list[TextRegion]) -> Person:
    """The colleague the contact hands the purchase to (「我们采购部<姓名>负责这块，他电话…」), when the contact
    gives no number of their own: that colleague is the one to follow up with, the number given theirs. A
    colleague's number given while the contact keeps the purchase (「采购还是我来对接，我电话…」) is not."""
    flats = [half_width(join_lines([ln for ln in r.text.split("\n") if ln.strip()])) for r in left]
    handed = next((p for p in map(handed_to, flats) if p.name), Person())
    if not handed.name:
        return handed
    for flat in flats:
        for m, (_phone, role) in zip(PHONE.finditer(flat), phone_roles(flat), strict=False):
            before = flat[max(0, m.start() - 12) : m.start()]
            if not (role == OTHER or role.startswith(THIRD) or handed.name in before or re.search(r"[他她]", before)):
                return Person()  # the contact's own number
    return handed


@dataclass
class _Member:
    """One customer-side member of a group: what their own messages say."""

    acc: _Acc
    ctx: _Context
    intro: bool = False  # they introduced themself (「我是…」)
    asks: bool = False  # they asked for the product, a quote or a proposal (「麻烦先出个报价」)
    said: list[str] = field(default_factory=list)

    def weight(self) -> int:
        """How surely this member is the lead: asking for the product or the quote outweighs giving a number (a
        colleague of theirs gives theirs too: 「合同的事可以找我，我电话…」), which outweighs an introduction
        (「我是财务部的…，发票找我」) or a budget (finance states it as often as the contact)."""
        v = self.acc.values
        contact = self.ctx.own_contact or any(v.get(k) for k in ("phone", "email", "wechat_id"))
        wants = self.asks or bool(v.get("needs"))
        named = self.intro and bool(v.get("customer_name") or v.get("company") or v.get("title"))
        return 4 * wants + 2 * contact + named + bool(v.get("budget_cny"))


GROUP_WIDE = ("needs", "budget_cny")  # what the project needs, whoever in the customer's team said it


def _take_lead(members: dict[str | None, _Member], acc: _Acc) -> bool:
    """The group's lead: the customer-side member who gave their number, stated the need or introduced themself
    (the first such on a tie). Who they are (name, company, title, contacts) is theirs alone; what the project
    needs and its budget may come from any member. The member's label names them when they did not. True when
    the lead gave their own number."""
    handed = _handed_in_group(members)
    given: str | None = None
    if handed is not None and not any(_names(k, handed[1].name) for k in members):
        return _referred_lead(members, acc, *handed)
    lead_key = max(members, key=lambda k: members[k].weight())  # max keeps the first of equals
    if handed is not None:  # the member the purchase was handed to, who then spoke in the group
        lead_key = next(k for k in members if _names(k, handed[1].name))
    lead = members[lead_key]
    for key, value in lead.acc.values.items():
        acc.put(key, value, lead.acc.conf[key], override=key != "company" or lead.acc.conf[key] >= 0.75)
    for member in members.values():
        for key in GROUP_WIDE:
            if key == "needs":
                _add_needs(list(member.acc.words(key)), acc)
            elif key in member.acc.values:
                acc.put(key, member.acc.values[key], member.acc.conf[key])
    if lead_key and is_person_name(lead_key) and "customer_name" not in lead.acc.values and lead.weight():
        # 「大家好，我是瑞丰的技术负责人，电话…」 under the label 「曾文」: 曾文
        acc.put("customer_name", lead_key, 0.92 if lead.intro else 0.8, override=True)
    name = acc.text("customer_name")
    if "phone" not in lead.acc.values and name:
        others = [m for m in members.values() if m is not lead]
        acc.put("phone", _phone_for(name, others) or (lead_key and _phone_for(lead_key, others)), 0.9)
    if handed is not None:  # what the member who handed the purchase over said of them
        acc.put("title", handed[1].title, 0.75)
        given = _phone_handed(members[handed[0]], handed[1].name or "")
        acc.put("phone", given, 0.9)
        giver = members[handed[0]].acc
        acc.put("company", giver.values.get("company"), 0.75, override=giver.conf.get("company", 0) >= 0.75)
    if "title" not in lead.acc.values and name:  # 「各位好，<公司><职务><姓名>，负责这次改造」
        own = next((m.group("t") for t in lead.said if (m := re.search(rf"(?P<t>{ROLE_SPAN}){re.escape(name)}", t))),
                   None)
        acc.put("title", own, 0.75)
    if "company" not in lead.acc.values and name:  # 「我是X公司总经理…，这个项目我们采购主管<lead>对接」
        vouching = [m for m in members.values() if m is not lead and any(name in t for t in m.said)]
        if vouching and vouching[0].acc.conf.get("company", 0) >= 0.8:
            acc.put("company", vouching[0].acc.values["company"], 0.75, override=True)
        role = next((m.group("t") for v in vouching for t in v.said
                     if (m := re.search(rf"(?P<t>{ROLE_SPAN}){re.escape(name)}", t))), None)
        if role and "title" not in lead.acc.values:
            acc.put("title", role, 0.75, override=True)
    return lead.ctx.own_contact or given is not None  # a number given for the lead counts as theirs


def _names(key: str | None, name: str | None) -> bool:
    """The member's label names `name` (or its reading with one character wrong)."""
    if not key or not name:
        return False
    label = _label_name(key)
    return len(label) == len(name) and sum(a != b for a, b in zip(label, name, strict=True)) <= 1


def _handed_in_group(members: dict[str | None, _Member]) -> tuple[str | None, Person] | None:
    """A customer-side member handing the purchase to a colleague by name (「材料采购这块由我们采购主管<姓名>对接，
    他电话…」): that colleague is the lead, whether or not they speak in the group. The member's key and the
    person handed to."""
    for key, member in members.items():
        for said in member.said:
            person = handed_to(half_width(said))
            named = person.name and (person.title or len(person.name) == 3)  # not 「后续对接找我」's 「后续」
            if named and is_person_name(person.name or "") and not re.search(r"[我你他她们]", person.name or "") \
                    and not _names(key, person.name):
                return key, person
    return None


def _phone_handed(giver: _Member, name: str) -> str | None:
    """The number the member who handed the purchase over gives for that person (「他电话…」, 「<姓>经理电话…」),
    never their own."""
    for text in map(half_width, giver.said):
        for m in PHONE.finditer(text):
            before = re.sub(r"\s", "", text[max(0, m.start() - 12) : m.start()])
            if re.search(rf"[他她]|{re.escape(name)}|{re.escape(name[:1])}(?:{RANKED})", before) and \
                    not re.search(r"我的?(?:电话|手机)", before):
                return normalise_phone(m.group(1))
    return None


def _referred_lead(members: dict[str | None, _Member], acc: _Acc, key: str | None, person: Person) -> bool:
    """The group's lead is a colleague of a member, named and handed the purchase but silent in the group: who
    they are comes from the member who named them (their company, the title and number given for them); the
    project's needs and budget from anyone. True when a number was given for them."""
    giver = members[key]
    acc.put("customer_name", person.name, 0.9, override=True)
    acc.put("title", person.title, 0.8, override=True)
    acc.put("company", giver.acc.values.get("company"), 0.75, override="company" in giver.acc.values)
    phone = _phone_handed(giver, person.name or "")
    acc.put("phone", phone, 0.9, override=True)
    for member in members.values():
        _add_needs(list(member.acc.words("needs")), acc)
        if "budget_cny" in member.acc.values:
            acc.put("budget_cny", member.acc.values["budget_cny"], member.acc.conf["budget_cny"])
    return phone is not None


RANKED = r"经理|总监|总|老师|主任|主管|工|科长|处长|部长|院长"
NAMED_FOR = rf"(?:{RANKED})?的?(?:电话|手机号?|号码|联系方式)[:：是为]?$"


def _phone_for(name: str, others: list[_Member]) -> str | None:
    """A number another member says is the lead's (「邵经理电话 150…」, 「邵俊峰手机…」): a member's own number,
    or one given for anyone else, is not."""
    said_for = re.compile(rf"(?:{re.escape(name)}|{re.escape(name[0])}(?={RANKED}))" + NAMED_FOR)
    for member in others:
        for text in map(half_width, member.said):
            for m in PHONE.finditer(text):
                if said_for.search(re.sub(r"\s", "", text[max(0, m.start() - 12) : m.start()])):
                    return normalise_phone(m.group(1))
    return None


def _assemble_title(acc: _Acc, said: list[str]) -> None:
    """A department said in one place and the rank the rep addresses the customer by elsewhere (「我在采购部」 …
    「牛经理」) make one title, 「采购部经理」; so does a title that is only a department."""
    title, dept = acc.text("title"), acc.text("department")
    dept = title if title and not TITLE_CORE_END.search(title) else dept if title is None else None
    name = acc.text("customer_name") or acc.text("surname")
    rank = rank_for(name[0] if name else None, said) if dept else None
    if dept and rank:
        acc.put("title", dept + rank, 0.75, override=True)


TITLE_CORE_END = re.compile(rf"{TITLE_CORE}$")
ADDRESSED = re.compile(r"([\u4e00-\u9fff]{2,3})(?:经理|总|老师|主任|工|先生|女士|您好)")


def _addressed(regions: tuple[TextRegion, ...], introduced: str, names: NameLists) -> str | None:
    """The customer's name as the rep writes it (「蔡斌经理，…」) when it is the introduced name read with one
    character differing (a group has no title bar to compare with)."""
    for r in regions:
        if r.kind == RIGHT:
            for m in ADDRESSED.finditer(r.text.replace("\n", "")):
                if names.likelier_name(m.group(1), introduced):
                    return m.group(1)
    return None


# A PC client's header over a message: the sender and when (「张伟 10:32」, 「云启软件-李娜 昨天 09:15」)
PC_HEADER = re.compile(r"^(?P<who>[\u4e00-\u9fffA-Za-z0-9\-—_·@（）() ]{2,24}?)\s*(?:\d{4}[/\-]\d{1,2}[/\-]\d{1,2}\s*)?"
                       r"(?:昨天|前天|星期[一二三四五六日天]|周[一二三四五六日])?\s*\d{1,2}:\d{2}(?::\d{2})?$")
WHEN_WORDS = re.compile(r"天|周|星期|礼拜|月|号|点|上午|下午|中午|晚上|早上|凌晨|傍晚")


def _without_header(r: TextRegion, *, keep_sender: bool = False) -> TextRegion:
    """A message without the sender-and-time line a PC client writes over it: that clock time is when it was sent,
    never a time anyone proposed. `keep_sender` (a group): the sender stays as the message's label line, as a
    phone shows it (「苏晴 10:32」 → 「苏晴」), so the member and a colleague's 「<公司>-<姓名>」 are still known."""
    first, _, rest = r.text.partition("\n")
    m = PC_HEADER.match(first.strip())
    if r.kind not in (LEFT, RIGHT) or not rest.strip() or not m or _said_when(m.group("who")):
        return r
    who = m.group("who").strip()
    if keep_sender and (GROUP_LABEL.fullmatch(who) or LABEL.match(who)):
        return dataclasses.replace(r, text=f"{who}\n{rest}")
    return dataclasses.replace(r, text=rest)


def _without_name_line(r: TextRegion, bar: TitleBar, title: str | None) -> TextRegion:
    """A customer's message without the contact's name a PC or iPad client writes over it in a one-to-one chat
    (the title bar's name or remark alone on the first line): read into a sentence under it, it ran into
    「你好，我是…」 as a company. A signature's own first line (name, then a short job title) stays; a label over
    a signature (its name line again) goes."""
    first, _, rest = r.text.partition("\n")
    names = {re.sub(r"\s", "", n) for n in (bar.name, bar.name_guess, title) if n}
    after = rest.strip().partition("\n")[0]
    sentence = len(after) > SIGNATURE_LINE or bool(re.search(r"[，,。！？!?：:]", after))
    label = re.sub(r"\s", "", first)
    named = label in names or (GROUP_LABEL.fullmatch(label) is not None and label in rest)  # 「赵华红 / 我叫赵华红」
    if r.kind != LEFT or not named or not (sentence or re.sub(r"\s", "", after) in names):
        return r
    return dataclasses.replace(r, text=rest)


SIGNATURE_LINE = 10  # a signature's job-title line is shorter than this; a sentence under a name line is longer


def _said_when(who: str) -> bool:
    """What stands before a clock time is itself a time (「下周三上午 10:00」: words of a proposal, no sender): made of
    time words only, where a sender's name (「周航」) is not; a longer phrase only needs to hold one."""
    short = re.sub(r"\s", "", who)
    return bool(re.fullmatch(WHEN_CHARS, short)) if len(short) <= 4 else bool(WHEN_WORDS.search(short))


WHEN_CHARS = (r"(?:今天|明天|后天|昨天|前天|星期|礼拜|上午|下午|中午|晚上|早上|凌晨|傍晚"
              r"|[周一二三四五六日天月号点下这本上个\d])+")


def _sides(regions: tuple[TextRegion, ...], group: bool, ours: set[str]) -> tuple[TextRegion, ...]:
    """Messages without a PC client's header lines; in a group, the rep's colleagues write on the left too: their
    bubbles (a label or introduction naming `ours`, our company, or a vendor role) are the rep's side."""
    regions = tuple(_without_header(r, keep_sender=group) for r in regions)
    if not group:
        return regions
    return tuple(dataclasses.replace(r, kind=RIGHT) if r.kind == LEFT and speaks_for_us(r.text, ours) else r
                 for r in regions)


# A member asking for what is bought (not a proposal talked about: 「方案直接和他对接」)
ASKS_FOR = re.compile(r"报价|询价|想了解|了解一下|想咨询|需要|想要|想买|想上|要上|(?:想|要|准备|计划)采购|多少钱|价格"
                      r"|有需求|选型")
SELF_INTRO = re.compile(r"我是|我叫|本人")  # a member introducing themself: their label is their name
GROUP_LABEL = re.compile(r"[\u4e00-\u9fff]{2,4}")  # a member's name over their message
# 「邵俊峰(鹿城中心医院)」 as a group nickname (the closing bracket often cut off or unread)
NAME_AND_COMPANY = re.compile(r"^(?P<name>[\u4e00-\u9fff]{2,4})\s*[（(](?P<co>[\u4e00-\u9fffA-Za-z]{2,16})[)）]?$")
# WeCom's external members: 「邵俊峰@微信」 (on personal WeChat), 「邵俊峰@鹿城中心医院」 (their company's short name)
NAME_AT = re.compile(r"^(?P<name>[\u4e00-\u9fff]{2,4})\s*[@＠]\s*(?P<co>[\u4e00-\u9fffA-Za-z]{2,16})$")


def _label_name(label: str) -> str:
    """The person a member's label names: 「嘉禾置地-卜佩玲」 and 「卜佩玲(嘉禾置地)」 are 卜佩玲; a label whose
    parts are no person's name stays as it is (still one member's key)."""
    m = NAME_AND_COMPANY.match(label) or NAME_AT.match(label)
    if m:
        return m.group("name")
    m = LABEL.match(label)
    if m:
        return next((p for p in (m.group("rest"), m.group("co")) if is_person_name(p)), label)
    return label


def _split_labels(regions: tuple[TextRegion, ...]) -> tuple[tuple[TextRegion, ...], dict[int, str]]:
    """A group's messages without the member name read over them (the engine keeps that small grey label as the
    message's first line), and the labels by message position. A colleague's label (「云启软件-李娜」) was used
    by `_sides` already and is dropped the same way."""
    out, labels = [], {}
    for i, r in enumerate(regions):
        first, _, rest = r.text.partition("\n")
        first = first.strip()
        if r.kind in (LEFT, RIGHT) and rest.strip() and (GROUP_LABEL.fullmatch(first) or LABEL.match(first)
                                                          or NAME_AND_COMPANY.match(first) or NAME_AT.match(first)):
            labels[i] = _label_name(first)
            r = dataclasses.replace(r, text=rest, latin="" if first in r.latin else r.latin)
        out.append(r)
    return tuple(out), labels


def _colleague(title: str | None, bar: TitleBar, left: list[TextRegion], ours: set[str], own: Iterable[str]) -> bool:
    """The other party is from the rep's own company: the title bar names one of `ours` (the configured names
    `own` as a whole part of it: 「李娜-云启软件-销售」, see `title_names_ours`), their introduction names it, or
    they hand a customer over."""
    if (is_ours(bar.company, ours) and not INDUSTRY.fullmatch(bar.title or "")) or title_names_ours(title, own):
        return True
    return any(hands_over(r.text) or speaks_for_us(r.text, ours) for r in left)


def _buying(bar: TitleBar, left: list[TextRegion], ours: set[str], catalog: Catalog) -> bool:
    """The other party shows a purchase of their own: a budget, a catalog product, or a company in the title bar
    that is not ours."""
    flat = join_lines([ln for r in left for ln in half_width(r.text).split("\n") if ln.strip()])
    theirs = bar.company and not is_department(bar.company) and not is_ours(bar.company, ours)
    return bool(find_budget(flat) or catalog.find(flat) or theirs)


# A page with fields rather than speech (会议通知: 时间：… 地点：… 联系人：…)
FIELD_LINE = re.compile(r"^[\u4e00-\u9fff]{2,6}[:：]")
SPEECH = re.compile(r"我|咱|你|您")
DOCUMENTS = frozenset({"receipt", "order_page", "spreadsheet", "bank_sms", "tender_notice", "group_notice",
                       "meeting_notice"})


def _document(kind: str | None, regions: tuple[TextRegion, ...]) -> bool:
    """A document photographed or captured (a notice, receipt, price table, bank SMS) that the layout took for a
    chat: no one answers on the rep's side, its lines are fields, nobody speaks in the first or second person,
    and its words are a document kind's."""
    sides = [r for r in regions if r.kind in (LEFT, RIGHT)]
    if not sides or any(r.kind == RIGHT for r in sides):
        return False
    lines = [ln for r in sides for ln in r.text.split("\n") if ln.strip()]
    fields = sum(bool(FIELD_LINE.match(ln)) for ln in lines)
    spoken = sum(bool(SPEECH.search(ln)) for ln in lines)
    return kind in DOCUMENTS and (fields >= 2 or spoken == 0)


# A quoted reply (引用) shows "说话人：原话" in a grey block under the bubble that quotes it: the words belong to the
# quoted speaker, whichever side the block sits on. Field labels (电话：…) are not speakers.
QUOTE_HEAD = re.compile(r"^(?P<who>[\u4e00-\u9fffA-Za-z]{2,8})[:：]\s*(?=\S)")
NOT_SPEAKER = re.compile(r"电话|手机|微信|邮箱|地址|公司|姓名|预算|需求|时间|职位|联系|备注|号码|单位|部门|方式|QQ"
                         r"|一下|推荐|介绍|通知|公告|提醒|注意|补充|说明|要求|安排"
                         r"|(?i:^v+x+$|^wx$|^v信$|wechat|^tel$|phone|mobile|e-?mail)")


# DingTalk draws a reply's quote inside the replying bubble, on its first line: 「回复 说话人：原话」.
REPLY_LINE = re.compile(r"^[|｜丨Il!\s]*(?:回复|引用)\s*(?P<who>[\u4e00-\u9fffA-Za-z]{2,8})\s*[:：;；]\s*")


def _replies_apart(regions: tuple[TextRegion, ...]) -> tuple[TextRegion, ...]:
    """A bubble opening with a 「回复 X：…」 line: that line is X's words (a quote, read by `_speaker`), the rest the
    bubble's own."""
    out: list[TextRegion] = []
    for r in regions:
        head, _, rest = r.text.partition("\n")
        m = REPLY_LINE.match(head) if r.kind in (LEFT, RIGHT) else None
        if m and rest.strip():
            # (its colon is often read as a semicolon)
            out += [TextRegion(r.kind, f"{m.group('who')}：{head[m.end() :]}"), dataclasses.replace(r, text=rest)]
        else:
            out.append(r)
    return tuple(out)


def _speaker(kind: str, text: str, customer: set[str]) -> tuple[str, str]:
    """(LEFT when the customer said it, RIGHT for the rep, the region kind otherwise; the words said)."""
    m = QUOTE_HEAD.match(text) if kind in (LEFT, RIGHT) else None
    if not m or NOT_SPEAKER.search(m.group("who")) or "\n" in text[: m.end()]:
        return kind, text
    who, said = m.group("who"), text[m.end() :]
    if who in customer:
        return LEFT, said
    if is_person_name(who) or len(who) <= 4:
        # Someone the title bar does not name. One quotes the other side far more often than oneself: under the
        # rep's bubble the customer is quoted, under the customer's the rep (or a colleague).
        return (LEFT if kind == RIGHT else RIGHT), said
    return kind, text


MANY_CUES = 3


def _not_a_lead(lead: LeadFields, acc: _Acc, group: bool, looks: Looks, *, listed: bool, buying: bool) -> str | None:
    """Why a chat with a number in it is still no lead: a courier, a colleague, a bank SMS… (the customer's own
    buying words or introduction outweigh such cues; an introduction, or a thing asked for that is not in the
    catalog (`listed` false), only while fewer than MANY_CUES say so: a courier says 「我是迅达的师傅」 and a
    driver asks 「需要叉车吗」 too). A number with nothing bought — no product asked for, no budget,
    company or title, no one asking to buy and no offer from our rep (`buying`) — is no lead either once two
    cues lean to a kind (a number and a time alone may be the second screenshot of a customer's chat). A
    group (`group` false once a customer-side member gave their own number) only counts when a customer-side
    member has introduced themselves."""
    kind = looks.kind
    if not lead.is_lead:
        if group and kind not in DOCUMENTS:
            return "group_chat"
        return {"colleague": "colleague_chat"}.get(kind or "", kind) or lead.reject_reason
    introduced = acc.conf.get("customer_name", 0) >= 0.92 and lead.company and looks.cues < MANY_CUES
    asked = listed or (bool(lead.needs) and looks.cues < MANY_CUES)
    strong = bool(asked or lead.budget_cny or introduced or (buying and looks.cues < MANY_CUES))
    if kind and not strong:
        return "colleague_chat" if kind == "colleague" else kind
    if group and acc.conf.get("customer_name", 0) < 0.92:
        return "group_chat"
    said_who = _said(acc, "company") or _said(acc, "title")
    if not (strong or buying or said_who) and looks.leaning:
        return "colleague_chat" if looks.leaning == "colleague" else looks.leaning
    return None


def typed_times(flat: str, now: datetime) -> list[Found]:
    """The times a rep typed with a lead that are still ahead, as `chat_times` keeps them: no purchase deadline, no
    time for goods or work or one turned down (「周四不行 改周五下午」), one when someone is away only if no other."""
    out: list[Found] = []
    busy: list[Found] = []
    for f in find_times(flat, now):
        said = _clause(flat, f, "，,。；;！!？? ")
        if f.when < to_cn(now) or _deadline(flat, f) or ELSEWHERE.search(said):
            continue
        (busy if AWAY.search(said) else out).append(f)
    return out or busy


def chat_times(dialogue: tuple[tuple[str, str, str], ...], now: datetime, *, group: bool = False) -> list[Found]:
    """Every time said in the chat (either side), resolved against the latest timestamp above it, not in its past;
    not a deadline for the purchase (「年底前要到货」) nor a time the rep proposed that was not taken up: in a
    group only an answer that agrees counts; in a one-to-one chat a proposal the screenshot ends on counts (the
    answer is below), one the customer answered otherwise does not."""
    anchor = to_cn(now)
    out: list[Found] = []
    busy: set[int] = set()  # positions in `out` of times someone is away or busy (a meeting, a trip)
    for i, (kind, text, _latin) in enumerate(dialogue):
        if kind == TIME or SEPARATOR.fullmatch(re.sub(r"\s+", "", text)):  # a separator the layout took for a bubble
            anchor = parse_anchor(text, now) or anchor
        elif kind in (LEFT, RIGHT):
            flat = join_lines([ln for ln in text.split("\n") if ln.strip()])
            for f in find_times(flat, anchor):
                if f.when < anchor or _deadline(flat, f) or (
                        kind == RIGHT and _proposed(flat, f) and not _taken_up(dialogue[i + 1 :], group)):
                    continue
                said = _clause(flat, f, "，,。；;！!？?")
                if ELSEWHERE.search(said):
                    continue
                if AWAY.search(said):
                    busy.add(len(out))
                out.append(f)
    kept = [f for j, f in enumerate(out) if j not in busy]
    return kept or out  # 「明天我出差，电话联系吧」: the only time said is still the one


# a time said for something other than talking to the customer again: goods arriving or work done
# (「设备下周一到货」), or a time turned down (「周四不行」, 「后天我不在店里」, 「下周一不用」)
ELSEWHERE = re.compile(r"到货|发货|送货|送到|交货|交付|装完|完工|施工|进场|验收|付款|打款|到账|开票"
                       r"|不行|不用|不方便|不可以|没空|没时间|不在|来不了|去不了|走不开|抽不开"
                       # goods as the clause's subject (「设备下周一到」, a wrapped line's last character lost)
                       r"|^(?:设备|货物?|机器|机组|主机|材料|配件|产品|样品)[^，。]{0,8}(?:到|送|发)")
# someone away or busy then (「明天上午我在外地出差」, 「我明天在总部开会」): no follow-up when another time is said
AWAY = re.compile(r"出差|开会|在外地|在外面|培训|休假|请假|有安排|有会")


# a chat's time separator as a line of its own: 「星期二 15:02」, 「昨天 17:20」, 「10月14日 11:20」 — when the chat was
# written, never a time anyone agreed
SEPARATOR = re.compile(r"(?:(?:\d{4}年)?\d{1,2}月\d{1,2}日|\d{4}[/\-]\d{1,2}[/\-]\d{1,2}|昨天|前天|今天|(?:星期|周)"
                       r"[一二三四五六日天])?(?:上午|下午|中午|晚上|凌晨|早上)?\d{1,2}[:：]\d{2}")
BEFORE = re.compile(r"(?:之|以)?前|以内|之内")
# what a customer needs done by a date: the purchase's deadline, not a time to talk again
DELIVERED = re.compile(r"到货|交付|交货|上线|完成|落地|用上|装好|部署|安装|投产|开工|验收|定下来|确定|招标|签|下单|"
                       r"发货|送到|采购|买|换|建好|做完|搞定|实施")
PROPOSES = re.compile(r"[？?]|方便吗|可以吗|行吗|好吗|如何|怎么样|有空吗|有时间吗|您看|是否方便")
TAKES_UP = re.compile(r"好|可以|行|没问题|OK|ok|嗯|来吧|欢迎|到时|见|定了|就这样|同意|那就")


def _clause(flat: str, f: Found, stops: str) -> str:
    start = max(flat.rfind(c, 0, f.span[0]) for c in stops) + 1
    ends = [j for c in stops if (j := flat.find(c, f.span[1])) >= 0]
    return flat[start : min(ends, default=len(flat))]


def _deadline(flat: str, f: Found) -> bool:
    """「年底前要到货」, 「月底前定下来」: a date the purchase must be done by."""
    before = flat[f.span[0] : f.span[1]].endswith("前") or BEFORE.match(flat, f.span[1])
    return bool(before) and bool(DELIVERED.search(_clause(flat, f, "，,。；;！!")))


def _proposed(flat: str, f: Found) -> bool:
    """The rep asks whether a time suits (「周四下午3点过来当面聊？」)."""
    return bool(PROPOSES.search(_clause(flat, f, "。；;！!\n") + flat[f.span[1] :][:1]))


def _taken_up(after: tuple[tuple[str, str, str], ...], group: bool) -> bool:
    """The customer takes a proposal up after it (agrees), or, outside a group, has not answered yet."""
    answers = [text for kind, text, _ in after if kind == LEFT]
    return any(TAKES_UP.search(text) for text in answers) or (not group and not answers)


def overall_confidence(field_confidence: dict[str, float], is_lead: bool) -> float:
    """Mean field confidence, damped when fewer than four fields are known; capped for non-leads."""
    found = list(field_confidence.values())
    conf = (sum(found) / len(found)) * min(1.0, len(found) / 4) if found else 0.0
    return round(conf if is_lead else min(conf, 0.3), 3)


SAID = {"company": 0.8, "title": 0.75}  # read at this confidence, it was said in the chat (not the title bar's guess)


def _said(acc: _Acc, key: str) -> bool:
    return bool(acc.values.get(key)) and acc.conf.get(key, 0) >= SAID[key]


def _finish(acc: _Acc, text: str) -> LeadFields:
    v = acc.values
    if v.pop("phone_doubt", None):  # two numbers given alike, nothing to choose between them: none
        v.pop("phone", None)
        acc.conf.pop("phone", None)
    contact = any(v.get(k) for k in ("phone", "email", "wechat_id"))
    wants = bool(v.get("needs") or v.get("budget_cny"))
    said_who = _said(acc, "company") and bool(v.get("title"))
    identity = bool(v.get("customer_name") and v.get("company")) or bool((v.get("customer_name") or v.get("company"))
                                                                        and wants) or said_who
    is_lead = contact or identity
    field_confidence = {k: acc.conf[k] for k in FIELDS if k in acc.conf}
    return LeadFields(
        customer_name=acc.text("customer_name"),
        company=(str(v["company"]).strip(COMPANY_EDGE) or None) if v.get("company") else None,
        title=acc.text("title"),
        phone=acc.text("phone"),
        email=acc.text("email"),
        wechat_id=acc.text("wechat_id"),
        budget_cny=acc.number("budget_cny"),
        needs=acc.words("needs"),
        follow_up=acc.moment("follow_up"),
        confidence=overall_confidence(field_confidence, is_lead),
        field_confidence=field_confidence,
        text=text,
        is_lead=is_lead,
        reject_reason=None if is_lead else "no_details",
    )


def extract_from_text(text: str, now: datetime, catalog: Catalog | None = None, *, names: NameLists) -> LeadFields:
    """Free text typed by a rep, one or more lines: '新线索 张伟 华东医疗 13812345678 预算50万 明天下午3点回电',
    or sentences ('客户是华东医疗的采购经理张伟，想了解CRM'). Same recognisers as screenshots."""
    acc = _Acc()
    body = re.sub(r"^\s*(?:(?:新线索|线索|新客户|客户(?!是))[:：]?\s*){1,2}", "", half_width(text).strip())
    body = GLUED_DEPARTMENT.sub(_part_department, body)  # 「采购部周主任」 is 「采购部 周主任」
    flat = join_lines([ln.strip() for ln in body.splitlines() if ln.strip()])
    for phone, role in phone_roles(flat, typed=True):
        if role in PHONE_SURE:
            put_phone(acc, phone, role, 0.95)
    acc.put("email", find_email(flat), 0.9)
    acc.put("wechat_id", find_wechat(flat, ""), 0.8)
    acc.put("budget_cny", budget_in(flat), 0.85)
    acc.put("needs", tuple(needs_in(flat, catalog or load_catalog(None))), 0.8)
    times = typed_times(flat, now)
    if times:
        acc.put("follow_up", times[0].when, 0.85)
    _identity(re.sub(r"^(?:客户是|对方是|联系人是?)", "我是", flat), acc)
    # 「5 千万」: no company
    _terse_tokens(AMOUNT.sub(" ", PHONE.sub(" ", EMAIL.sub(" ", body))), now, acc, catalog, names)
    return _finish(acc, text)


FIELD_LABELS = {"公司", "单位", "电话", "手机", "客户", "姓名", "联系人", "职位", "职务", "预算", "微信", "邮箱"}


COMPANY_LABEL = re.compile(r"^(?:公司|单位)(?:名称|名字|名)?\s*[:：是为]?\s*(?=\S{4})")
LABELLED = re.compile(r"^(?:公司|单位|客户|姓名|联系人|职位|职务)(?:名称|名字|名)?\s*[:：是为]?\s*(?=\S{2})")


# a department run into the titled contact after it, with no space: 「技术部卓主任」
GLUED_DEPARTMENT = re.compile(
    r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{1,3}部)(?=(?P<contact>[\u4e00-\u9fff]{2,4})(?:\s|$))")


def _part_department(m: re.Match[str]) -> str:
    return m.group(1) + " " if _honorific(m.group("contact")) else m.group(1)


def _honorific(tok: str) -> bool:
    m = HONORIFIC.match(tok)
    return m is not None and m.group("s") in SURNAMES


NOT_GIVEN_EN = frozenset({"budget", "please", "call", "demo", "email", "phone", "wechat", "meeting", "visit",
                          "today", "tomorrow", "next", "week", "lead", "new", "client", "customer", "company"})


def _company_head(head: str) -> bool:
    """What stands before a title in one token (「福满楼厨师长」): a company, or a name of two or more characters
    that is no person, department or phrase."""
    return looks_like_company(head) or (len(head) >= 2 and clean_company(head, slot=True) == head
                                        and not is_person_name(head) and not is_title(head))


def _terse_tokens(plain: str, now: datetime, acc: _Acc, catalog: Catalog | None, names: NameLists) -> None:
    """'张伟 华东医疗 采购经理' or '张伟-华东医疗': a name, a title and a company as separate words; 'Tom 华为':
    a Latin given name is the person, and a Chinese word that only looks like a name (华为) is then the company."""
    toks = [LABELLED.sub("", t.strip()) for t in re.split(r"[\s，,;；]+", plain)]  # 「公司某某科技」: label dropped
    latin = next((t for t in toks if LATIN_GIVEN.fullmatch(t) and t.lower() not in NOT_GIVEN_EN), None)
    if latin is not None and not any(_honorific(t) for t in toks):
        acc.put("customer_name", latin, 0.75)
    titled = any(_honorific(t) for t in toks)  # 「严总」: the contact is named with a title
    for tok in toks:
        if not tok or re.search(r"\d", tok) or find_times(tok, now) or tok in FIELD_LABELS or (
                tok == latin and acc.text("customer_name") == latin):
            continue
        if titled and len(tok) >= 4 and is_person_name(tok):  # 「东方港务 严总」: a name-like 4 characters is the firm
            acc.put("company", tok, 0.7)
            continue
        if latin is not None and acc.text("customer_name") == latin and is_person_name(tok):
            acc.put("company", tok, 0.6)
            continue
        bar = parse_title_bar(tok, names) if re.search(r"[@＠\-—－|/、]", tok) else None
        if bar and (bar.name or bar.company):
            acc.put("customer_name", bar.name, 0.8)
            acc.put("company", bar.company, 0.7)
            acc.put("title", bar.title, 0.75)
        elif (is_person_name(tok) or _honorific(tok)) and acc.text("customer_name") and looks_like_company(tok):
            acc.put("company", tok, 0.7)  # 「贝小雨 金建设」: the person named, a second name-like word is the firm
        elif is_person_name(tok) or _honorific(tok):  # 张伟, 刘总, 吴经理 (not 采购经理)
            acc.put("customer_name", tok, 0.8)
        elif is_title(tok):
            acc.put("title", tok, 0.8)
        elif (m := TITLE.match(tok)) and is_person_name(tok[m.end() :]):  # 「店长严雪」
            acc.put("title", m.group(0), 0.8)
            acc.put("customer_name", tok[m.end() :], 0.8)
        elif (m := TITLE.search(tok)) and m.end() == len(tok) and _company_head(tok[: m.start()]):
            acc.put("company", tok[: m.start()], 0.75)  # 「华东医疗器械有限公司采购经理」
            acc.put("title", m.group(0), 0.8)
        elif re.fullmatch(r"[\u4e00-\u9fffA-Za-z（）()]{2,30}", tok) and not (catalog or load_catalog(None)).find(tok) \
                and not re.search(r"预算|回电|联系|跟进|需求|微信|电话|邮箱|想|要|了解|采购", tok):
            acc.put("company", tok, 0.7)
