"""Lead fields from OCR'd chat text: pure functions, no I/O.

Customer fields come only from the customer's (left) bubbles and the title bar; the rep's own
(right) words never become customer fields — only an agreed follow-up time may come from them.
Unknown stays None: nothing is guessed. Every found field carries a confidence.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jieba

from bot.clock import to_cn
from bot.segmenter import private_tokenizer
from ocr.engine import LEFT, RIGHT, TIME, ChatText, join_lines
from ocr.timeparse import Found, agreed, find_times, parse_anchor

# The 百家姓 (single and compound surnames) plus common modern ones it lacks.
SURNAMES = set(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤"
    "花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄"
    "米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万"
    "支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松"
    "井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰"
    "从鄂索咸籍赖卓蔺屠蒙池乔阴胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍郤璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴"
    "瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛"
    "阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公晋楚闫法汝鄢涂钦岳帅缑亢况佘佴墨哈谯笪年爱阳佟"
    "付肖覃兰冼揭粟练银代区庹母"
)
COMPOUND_SURNAMES = (
    "万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 "
    "公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙 端木 巫马 公西 漆雕 "
    "乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 归海 羊舌 微生 梁丘 左丘 东门 西门 南宫 第五"
).split()
COMPANY_SUFFIX = r"(?:股份有限公司|有限责任公司|有限公司|集团|医院|大学|学院|银行|研究院|研究所|事务所|中心)"
TITLE_WORDS = (
    r"(?:总经理|副总经理|总监|经理|主任|科长|处长|院长|副院长|主管|负责人|总裁|董事长|CEO|CTO|CIO|CFO|专员|工程师)"
)
NEEDS_PATH = Path(__file__).with_name("needs.toml")  # product-need vocabulary, editable
CONTACT_TRAP = re.compile(r"(介绍|推荐|他的?|她的?|同事|朋友|领导|老板|助理|秘书)[^，。,.]{0,6}(电话|手机|号码|微信)")
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
WECHAT_KEY = re.compile(r"(?:微信号?|v信|威信|vx|VX|Vx|wx|WX|wechat|WeChat)\s*(?:号)?\s*[:：是]?\s*")
WECHAT_ID = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z][A-Za-z0-9_\-]{5,19}(?![A-Za-z0-9_\-@.])")
AMOUNT = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[零一二两三四五六七八九十百千]+)\s*"
    r"(?P<unit>万元|万|[wW](?![a-zA-Z])|亿|[kK](?![a-zA-Z])|千|元|块)"
    r"(?:(?P<tail>[1-9一二三四五六七八九])千?(?![\d万千百十亿月日号点年天周]))?"  # 2万5 = 25,000
)
BUDGET_HINT = re.compile(r"预算|经费|资金|投入|控制在|不超过|以内|左右|大概|预计|准备花")
BUDGET_WORD = re.compile(r"预算|经费|资金|投入|准备花|控制在|不超过")
NOT_MONEY_AFTER = re.compile(r"多?(?:人|个|家|名|位|户|台|件|套|张|条|次|平|米|用户|客户|员工|门店|学生|床)")
OTHER_MONEY = re.compile(r"营收|收入|销售额|营业额|产值|市值|估值|融资|利润|规模|去年|上次|之前|花了|报价")
GROUP_TITLE = re.compile(r"[（(]\s*\d{1,4}\s*[)）]\s*$")
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


def is_person_name(text: str) -> bool:
    """Surname + one or two given characters ("温婷", "欧阳明月"); four characters only with a compound surname,
    so a nickname such as 阳光明媚 is not a name."""
    if not re.fullmatch(r"[\u4e00-\u9fff]{2,4}", text) or re.search(r"经理|总|老师|先生|女士|公司|科技|医院", text):
        return False
    if text[:2] in COMPOUND_SURNAMES and len(text) >= 3:
        return True
    return text[0] in SURNAMES and len(text) <= 3


def normalise_phone(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if re.fullmatch(r"1[3-9]\d{9}", digits) else None


def find_phones(text: str) -> list[tuple[str, bool]]:
    """(11-digit phone, is_trap) in order; a referrer's / colleague's number is a trap."""
    out = []
    for m in PHONE.finditer(text):
        phone = normalise_phone(m.group(1))
        if phone:
            before = text[max(0, m.start() - 16) : m.start()]
            out.append((phone, bool(CONTACT_TRAP.search(before[-14:])) or _referred(before)))
    return out


def _referred(before: str) -> bool:
    m = REFERRER.search(before)
    who = m.group("who") if m else ""
    return bool(who) and (is_person_name(who) or bool(REFERRED_PERSON.fullmatch(who)))


def parse_amount(num: str, unit: str, tail: str | None = None) -> int | None:
    """'50' + '万' → 500000; '2' + '万' + '5' (2万5) → 25000; '1,200' + '万' → 12000000."""
    num = num.replace(",", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", num):
        value = float(num)
    else:
        value = _cn_big(num)
        if value is None:
            return None
    mult = {"万": 10_000, "万元": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1000, "K": 1000,
            "千": 1000, "元": 1, "块": 1}[unit]
    if tail and mult >= 10:
        value += float(tail) / 10 if tail.isdigit() else (_cn_big(tail) or 0) / 10
    return round(value * mult)


def _cn_big(text: str) -> float | None:
    digits = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    units = {"十": 10, "百": 100, "千": 1000}
    total, cur = 0, 0
    for ch in text:
        if ch in digits:
            cur = digits[ch]
        elif ch in units:
            total += (cur or 1) * units[ch]
            cur = 0
        else:
            return None
    return float(total + cur)


def find_budget(text: str) -> int | None:
    """The amount the customer budgets: one tied to 预算/经费/… wins over others; headcounts
    (5千人, 三千多个客户) and other money (营收两亿, 去年花了80万) are not budgets."""
    if not BUDGET_HINT.search(text):
        return None
    plain: int | None = None
    for m in AMOUNT.finditer(text):
        value = parse_amount(m.group("num"), m.group("unit"), m.group("tail"))
        if not value or value < 1000 or NOT_MONEY_AFTER.match(text, m.end()):
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
    if not m or m.group("unit") in ("元", "块") or NOT_MONEY_AFTER.match(text, m.end()):
        return None
    return parse_amount(m.group("num"), m.group("unit"), m.group("tail"))


_needs_lock = threading.Lock()
_needs: tuple[dict[str, str], jieba.Tokenizer] | None = None


def need_matcher() -> tuple[dict[str, str], jieba.Tokenizer]:
    """Lower-case word → need name, and a private jieba that keeps every such word whole (loaded once)."""
    global _needs
    with _needs_lock:
        if _needs is None:
            data = tomllib.loads(NEEDS_PATH.read_text("utf-8"))
            vocabulary: dict[str, str] = {}
            for item in data.get("need", []):
                for word in (item["name"], *item.get("synonyms", ())):
                    vocabulary[word.lower()] = item["name"]
            tok = private_tokenizer()
            for word in [*vocabulary, *data.get("not_needs", ())]:
                tok.add_word(word, freq=max(tok.FREQ.get(word, 0), 20_000))
            _needs = vocabulary, tok
        return _needs


def find_needs(text: str) -> list[str]:
    """Product needs named in `text`: jieba words found in the need vocabulary, case-insensitive, in order."""
    vocabulary, tok = need_matcher()
    found = (vocabulary.get(w) for w in tok.lcut(text.lower(), HMM=False))
    return list(dict.fromkeys(n for n in found if n))


def find_email(text: str) -> str | None:
    m = EMAIL.search(text)
    return m.group(0).lower() if m else None


def find_wechat(main: str, latin: str) -> str | None:
    for source in (latin, main):
        k = WECHAT_KEY.search(source)
        if k:
            m = WECHAT_ID.search(source, k.end())
            if m and m.start() - k.end() <= 3 and "@" not in m.group(0):
                return m.group(0)
    k = WECHAT_KEY.search(main)
    if k and latin:  # keyword read by chi_sim, id only legible in the eng reading
        ids = [m.group(0) for m in WECHAT_ID.finditer(latin) if re.search(r"\d", m.group(0))]
        if ids:
            return ids[-1]
    return None


def parse_title_bar(title: str | None) -> tuple[str | None, str | None, bool]:
    """(name, company, is_group) from the chat title: WeCom "张伟@华东医疗", remarks "张伟-华东医疗"."""
    if not title:
        return None, None, False
    title = title.strip()
    if GROUP_TITLE.search(title):
        return None, None, True
    name, company = title, None
    m = re.match(r"^(.+?)\s*[@＠]\s*(.+)$", title) or re.match(r"^(.+?)\s*[-—－_|（(]\s*(.+?)[)）]?$", title)
    if m:
        name, company = m.group(1), m.group(2)
    name, company = name.strip(), (company or "").strip()
    if company.lower() in PERSONAL_WECHAT:  # WeCom shows a contact on personal WeChat as "张伟@微信"
        company = ""
    return (name if is_person_name(name) else None), company or None, False


def is_colleague_title(title: str | None) -> bool:
    """"刘洋(同事)": a chat between colleagues, however many numbers it passes on."""
    return bool(title and COLLEAGUE_TITLE.search(title.strip()))


PERSONAL_WECHAT = {"微信", "wechat", "weixin"}
COLLEAGUE_TITLE = re.compile(r"[（(]\s*(?:同事|内部|本公司)\s*[)）]$")
COMPANY_RE = re.compile(rf"[\u4e00-\u9fff]{{2,20}}{COMPANY_SUFFIX}")
INTRO_RE = re.compile(
    r"(?:我是|我叫|本人|我姓)(?:(?P<co>[\u4e00-\u9fffA-Za-z]{2,24}?)的)?"
    rf"(?P<t>[\u4e00-\u9fffA-Z]{{0,4}}?{TITLE_WORDS})?"
    r"(?P<name>[\u4e00-\u9fff]{2,4}?)(?=[，,。！!\s]|$|在|负责)"
)
IN_CO_RE = re.compile(r"(?:[，,]\s*在|来自|就职于)(?P<co>[\u4e00-\u9fffA-Za-z]{2,24}?)(?=[，,。\s]|$|工作|上班|负责)")
TITLE_RE = re.compile(rf"(?:职位是|职务是|担任|我是)?(?P<t>[\u4e00-\u9fffA-Z]{{0,4}}?{TITLE_WORDS})")


def _clean_company(co: str) -> str | None:
    co = re.sub(r"^(?:你好|您好|我是|我们是|在|是)", "", co)
    return co if len(co) >= 2 and not is_person_name(co) else None


# ---------------------------------------------------------------- customer fields from left bubbles


@dataclass
class _Acc:
    values: dict[str, object] = field(default_factory=dict)
    conf: dict[str, float] = field(default_factory=dict)

    def put(self, key: str, value: object, conf: float, *, override: bool = False) -> None:
        if value is None or value == "" or value == ():
            return
        if key not in self.values or override:
            self.values[key] = value
            self.conf[key] = conf


def _card_lines(lines: list[str], acc: _Acc) -> bool:
    """名片 style message: name / title / company on their own lines."""
    if len(lines) < 3 or not is_person_name(lines[0].strip()):
        return False
    acc.put("customer_name", lines[0].strip(), 0.9, override=True)
    for line in lines[1:]:
        line = line.strip()
        if re.search(r"\d{3}|@|[:：]", line):
            continue
        if re.fullmatch(rf"[\u4e00-\u9fffA-Z]{{0,6}}{TITLE_WORDS}", line):
            acc.put("title", line, 0.85)
        elif COMPANY_RE.fullmatch(line) or (2 <= len(line) <= 24 and "company" not in acc.values):
            acc.put("company", line, 0.8, override=bool(COMPANY_RE.fullmatch(line)))
    return True


def _customer_message(text: str, latin: str, acc: _Acc) -> None:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    flat = join_lines(lines)
    card = _card_lines(lines, acc)
    phones = find_phones(flat)
    for phone, trap in phones:
        if not trap:
            acc.put("phone", phone, 0.95)
    if not phones and latin and not CONTACT_TRAP.search(flat):
        for phone, trap in find_phones(latin):  # digits only legible in the eng reading
            if not trap:
                acc.put("phone", phone, 0.85)
    if not THIRD_PARTY_CONTACT.search(flat):
        acc.put("email", find_email(latin) or find_email(flat), 0.85)
        acc.put("wechat_id", find_wechat(flat, latin), 0.75)
    m = None if card else INTRO_RE.search(flat)
    if m and is_person_name(m.group("name")):
        acc.put("customer_name", m.group("name"), 0.85, override=True)
        if m.group("co"):
            acc.put("company", _clean_company(m.group("co")), 0.8, override=True)
        acc.put("title", m.group("t"), 0.8)
    m = None if card else IN_CO_RE.search(flat)
    if m:
        acc.put("company", _clean_company(m.group("co")), 0.8, override=True)
    full = None if card else COMPANY_RE.search(flat)
    if full and not CONTACT_TRAP.search(flat):
        co = _clean_company(re.sub(r"^.*(?:我是|在|来自)", "", full.group(0)))
        acc.put("company", co, 0.85, override=True)
    m = re.search(rf"(?:职位是|职务是|担任)(?P<t>[\u4e00-\u9fffA-Z]{{0,6}}?{TITLE_WORDS})", flat)
    if m:
        acc.put("title", m.group("t"), 0.85, override=True)
    acc.put("budget_cny", find_budget(flat), 0.85)
    needs = find_needs(flat)
    if needs:
        old = list(acc.values.get("needs", ()))  # type: ignore[call-overload]
        acc.values["needs"] = tuple(old + [n for n in needs if n not in old])
        acc.conf["needs"] = 0.8


# ---------------------------------------------------------------- public API


def extract(chat: ChatText, now: datetime) -> LeadFields:
    """Lead fields from an OCR'd chat; `now` is the receive time (aware)."""
    text = chat.text
    if not chat.is_chat:
        return LeadFields(text=text, reject_reason="not_chat")
    name, company, group = parse_title_bar(chat.title)
    if group:
        return LeadFields(text=text, reject_reason="group_chat")
    if is_colleague_title(chat.title):
        return LeadFields(text=text, reject_reason="colleague_chat")
    acc = _Acc()
    acc.put("customer_name", name, 0.9)
    acc.put("company", company, 0.75)
    for r in chat.regions:
        if r.kind == LEFT:
            _customer_message(r.text, r.latin, acc)
    dialogue = tuple((r.kind, r.text, r.latin) for r in chat.regions if r.text)
    settled = agreed(chat_times(dialogue, now))
    follow = settled.when if settled else None
    if name and acc.values.get("customer_name") != name and acc.conf.get("customer_name", 0) < 0.9:
        acc.put("customer_name", name, 0.9, override=True)
    if follow is not None:
        acc.put("follow_up", follow, 0.8)
    return dataclasses.replace(_finish(acc, text), chat_title=chat.title, dialogue=dialogue,
                               follow_up_precision=settled.precision if settled else None)


def chat_times(dialogue: tuple[tuple[str, str, str], ...], now: datetime) -> list[Found]:
    """Every time said in the chat (either side), resolved against the latest timestamp above it, not in its past."""
    anchor = to_cn(now)
    out: list[Found] = []
    for kind, text, _latin in dialogue:
        if kind == TIME:
            anchor = parse_anchor(text, now) or anchor
        elif kind in (LEFT, RIGHT):
            flat = join_lines([ln for ln in text.split("\n") if ln.strip()])
            out.extend(f for f in find_times(flat, anchor) if f.when >= anchor)
    return out


def overall_confidence(field_confidence: dict[str, float], is_lead: bool) -> float:
    """Mean field confidence, damped when fewer than four fields are known; capped for non-leads."""
    found = list(field_confidence.values())
    conf = (sum(found) / len(found)) * min(1.0, len(found) / 4) if found else 0.0
    return round(conf if is_lead else min(conf, 0.3), 3)


def _finish(acc: _Acc, text: str) -> LeadFields:
    v = acc.values
    contact = any(v.get(k) for k in ("phone", "email", "wechat_id"))
    identity = bool(v.get("customer_name") and v.get("company") and (v.get("needs") or v.get("budget_cny")))
    is_lead = contact or identity
    field_confidence = {k: acc.conf[k] for k in FIELDS if k in acc.conf}
    return LeadFields(
        customer_name=v.get("customer_name"),  # type: ignore[arg-type]
        company=v.get("company"),  # type: ignore[arg-type]
        title=v.get("title"),  # type: ignore[arg-type]
        phone=v.get("phone"),  # type: ignore[arg-type]
        email=v.get("email"),  # type: ignore[arg-type]
        wechat_id=v.get("wechat_id"),  # type: ignore[arg-type]
        budget_cny=v.get("budget_cny"),  # type: ignore[arg-type]
        needs=tuple(v.get("needs", ())),  # type: ignore[call-overload]
        follow_up=v.get("follow_up"),  # type: ignore[arg-type]
        confidence=overall_confidence(field_confidence, is_lead),
        field_confidence=field_confidence,
        text=text,
        is_lead=is_lead,
        reject_reason=None if is_lead else "no_details",
    )


def extract_from_text(text: str, now: datetime) -> LeadFields:
    """Free text typed by a rep: '新线索 张伟 华东医疗 13812345678 预算50万 明天下午3点回电'."""
    acc = _Acc()
    body = re.sub(r"^\s*(?:新线索|线索|新客户|客户)[:：]?\s*", "", text.strip())
    for phone, _trap in find_phones(body):
        acc.put("phone", phone, 0.95)
    acc.put("email", find_email(body), 0.9)
    acc.put("wechat_id", find_wechat(body, ""), 0.8)
    acc.put("budget_cny", budget_in(body), 0.85)
    needs = find_needs(body)
    if needs:
        acc.put("needs", tuple(needs), 0.8)
    times = [f for f in find_times(body, now) if f.when >= to_cn(now)]
    if times:
        acc.put("follow_up", times[0].when, 0.85)
    plain = PHONE.sub(" ", EMAIL.sub(" ", body))
    for tok in re.split(r"[\s，,、;；/]+", plain):
        tok = tok.strip()
        if not tok or re.search(r"\d", tok) or find_times(tok, now):
            continue
        if "customer_name" not in acc.values and is_person_name(tok):
            acc.put("customer_name", tok, 0.8)
        elif re.fullmatch(rf"[\u4e00-\u9fffA-Z]{{0,6}}{TITLE_WORDS}", tok):
            acc.put("title", tok, 0.8)
        elif "company" not in acc.values and re.fullmatch(r"[\u4e00-\u9fffA-Za-z（）()]{2,30}", tok) and \
                not find_needs(tok) and not re.search(r"预算|回电|联系|跟进|需求|微信|电话|邮箱", tok):
            acc.put("company", tok, 0.7)
    return _finish(acc, text)
