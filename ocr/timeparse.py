"""Chinese time expressions → aware Asia/Shanghai datetimes.

Two jobs: `parse_anchor` reads a chat's own centred timestamps ("昨天 14:20", "星期四 10:20",
"10月22日 上午9:30") relative to the receive time; `find_time` resolves an agreed time in a message
("明天下午3点", "下周二", "下个月12号", "3月15日", "9点半", "周五之前") against that anchor.

Conventions (stable, the benchmark ground truth uses them): a date without a clock time → 09:00;
上午 → 09:00, 中午 → 12:00, 下午 → 14:00, 晚上 → 19:00 when no hour is given; a bare hour 1–6 is
afternoon; a bare weekday is the next such day strictly after the anchor's date; a clock time alone is
today if still ahead of the anchor, else tomorrow; "之前" keeps the named day.

Also read (chat and screenshots alike): offsets (3天后, 过两天, 两小时后, 半小时后, 一周后), 下周 / 下个月 without a
day (→ the first working day of that week / month at work_start), 下班前 (the person's work_end; a weekday said on
that very day — 周五下班前 on a Friday afternoon — is today while still ahead), holidays (春节后, 国庆后, 节后 → the
first working day after that holiday, from the statutory calendar), 明儿, 今儿, 年底. Working days and hours come
from an optional `Workdays` (the caller's calendar and own hours); without one: Monday–Friday minus statutory
holidays, 09:00–18:00.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import chinese_calendar

from bot.clock import CN_TZ, to_cn

_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2, "4": 3,
           "5": 4, "6": 5, "7": 6, "末": 5}
NUM = r"[0-9]{1,2}|[零〇一二两三四五六七八九十]{1,3}"


def cn_int(text: str) -> int | None:
    """'12' / '十二' / '二十八' / '三' → int; None if not a number."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN and c != "十" for c in text):
        return None
    if "十" in text:
        head, _, tail = text.partition("十")
        tens = _CN.get(head, 1) if head else 1
        return tens * 10 + (_CN.get(tail, 0) if tail else 0)
    if len(text) > 1:
        return None  # "两三" is a range (两三点顾虑), not 23
    return _CN[text]


# ---------------------------------------------------------------- anchors

_CLOCK = re.compile(r"(上午|下午|中午|晚上|凌晨|早上)?\s*(\d{1,2})[:：](\d{2})")
_ANCHOR_DAY = re.compile(
    r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?P<d>\d{1,2})日|(?P<rel>昨天|前天|今天)|(?:星期|周)(?P<wd>[一二三四五六日天])"
)


def _clock(half: str | None, hour: int, minute: int) -> tuple[int, int] | None:
    if half in ("晚上", "凌晨") and hour == 12:
        hour = 0  # 晚上12点 is midnight
    elif half in ("下午", "傍晚", "晚上") and hour < 12:
        hour += 12
    if half == "中午" and hour < 11:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute


def parse_anchor(text: str, now: datetime) -> datetime | None:
    """A chat timestamp → the absolute time it shows, relative to `now` (the receive time)."""
    t = re.sub(r"\s+", "", text)
    m = _CLOCK.search(t)
    if not m:
        return None
    hm = _clock(m.group(1), int(m.group(2)), int(m.group(3)))
    if hm is None:
        return None
    today = to_cn(now).date()
    rest = t[: m.start()]
    day = today
    d = _ANCHOR_DAY.search(rest)
    if d:
        if d.group("m"):
            year = int(d.group("y")) if d.group("y") else today.year
            try:
                day = date(year, int(d.group("m")), int(d.group("d")))
            except ValueError:
                return None
            if not d.group("y") and day > today:
                day = date(year - 1, day.month, day.day)
        elif d.group("rel"):
            day = today - timedelta(days={"今天": 0, "昨天": 1, "前天": 2}[d.group("rel")])
        else:
            wd = WEEKDAY[d.group("wd")]
            day = today - timedelta(days=(today.weekday() - wd) % 7 or 7)
    elif rest.strip():
        return None  # something else before the clock: not a timestamp
    return datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=CN_TZ)


# ---------------------------------------------------------------- working days and holidays

def statutory_workday(day: date) -> bool:
    """Monday–Friday minus Chinese statutory holidays, plus 调休 working weekends (years the package lacks:
    Monday–Friday)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@dataclass(frozen=True)
class Workdays:
    """Whose time it is: their working hours and which days are working days (the team's calendar)."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    is_workday: Callable[[date], bool] = field(default=statutory_workday)

    def first_from(self, day: date) -> date:
        """`day` if a working day, else the next working day (a broken calendar: `day`)."""
        probe = day
        for _ in range(60):
            if self.is_workday(probe):
                return probe
            probe += timedelta(days=1)
        return day


DEFAULT_DAYS = Workdays()

SPRING, NATIONAL, NEW_YEAR, LABOUR = "Spring Festival", "National Day", "New Year's Day", "Labour Day"
HOLIDAY_WORDS = {"春节": SPRING, "过年": SPRING, "年": SPRING, "国庆": NATIONAL, "十一": NATIONAL, "元旦": NEW_YEAR,
                 "五一": LABOUR, "劳动节": LABOUR, "清明": "Tomb-sweeping Day", "端午": "Dragon Boat Festival",
                 "中秋": "Mid-autumn Festival", "节": None}
# Chinese New Year's Day (lunar 正月初一) for years the holiday package may not cover yet.
_LUNAR_NEW_YEAR = {2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13), 2030: (2, 3),
                   2031: (1, 23), 2032: (2, 11), 2033: (1, 31), 2034: (2, 19), 2035: (2, 8)}
_FIXED_HOLIDAYS = ((NEW_YEAR, 1, 1, 1), ("Tomb-sweeping Day", 4, 4, 3), (LABOUR, 5, 1, 5), (NATIONAL, 10, 1, 7))


def _fallback_holiday(day: date) -> str | None:
    """The usual holiday periods, for a year the package has no data for (春节: 除夕 … 初七)."""
    lny = _LUNAR_NEW_YEAR.get(day.year + (1 if day.month == 12 else 0))
    if lny:
        first = date(day.year + (1 if day.month == 12 else 0), *lny) - timedelta(days=1)
        if first <= day <= first + timedelta(days=7):
            return SPRING
    for name, month, dom, length in _FIXED_HOLIDAYS:
        if date(day.year, month, dom) <= day < date(day.year, month, dom) + timedelta(days=length):
            return name
    return None


def holiday_on(day: date) -> str | None:
    """The statutory holiday `day` belongs to ("Spring Festival", …), or None."""
    try:
        on, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return _fallback_holiday(day)
    return str(getattr(name, "value", name)) if on and name else None


def after_holiday(name: str | None, today: date, days: Workdays = DEFAULT_DAYS) -> date | None:
    """The first working day after the next `name` holiday (None: any holiday) that has not ended by `today`."""
    day = today
    for _ in range(400):
        got = holiday_on(day)
        if got is not None and (name is None or got == name):
            while holiday_on(day + timedelta(days=1)) == got:
                day += timedelta(days=1)
            return days.first_from(day + timedelta(days=1))
        day += timedelta(days=1)
    return None


# ---------------------------------------------------------------- agreed times in messages

_HOL = "|".join(w for w in HOLIDAY_WORDS if w not in ("年", "节", "十一"))
_DAY = (
    rf"(?P<off>{NUM}|半|几|一个半)个?(?P<unit>天|日|周|星期|礼拜|月|小时|钟头|分钟)(?:之后|以后|后)"
    r"|过(?P<pass>两|几|一两|两三|三|四|五|[2-5])天"
    rf"|(?P<hol>{_HOL}|(?<![0-9零〇一二两三四五六七八九十明今去前后几多每]){'年'}|(?<![\u4e00-\u9fff])节|(?<!\d)十一)"
    r"(?:假期|长假|假)?(?:之后|以后|过后|后)(?!面|续|期)"
    r"|(?P<rel>今天|今晚|今儿个?|明天|明早|明晚|明儿个?|后天|大后天)"
    rf"|(?P<nw>下下?个?(?:周|星期|礼拜))(?P<nwd>[一二三四五六日天1-7末])"
    rf"|(?P<tw>(?:这|本)?(?:周|星期|礼拜))(?P<twd>[一二三四五六日天末])"
    rf"|下个?月(?P<nmd>{NUM})[号日]"
    r"|(?<![\d.])(?P<iso_y>20\d{2})[-/.](?P<iso_m>\d{1,2})[-/.](?P<iso_d>\d{1,2})(?![\d.])"
    r"|(?<![\d./-])(?P<sl_m>1[0-2]|0?[1-9])/(?P<sl_d>3[01]|[12]\d|0?[1-9])(?![\d/%]|\s*[台个套件人份倍])"
    rf"|(?:(?P<md_y>\d{{4}}|\d{{2}})年)?(?P<md_m>{NUM})月(?P<md_d>{NUM})[号日]"
    rf"|(?<![月\d])(?P<dom>{NUM})[号日]"
    r"|(?P<eom>(?:下个?)?月底)"
    r"|(?P<eoy>年底|年末)"
    r"|(?P<nwk>下下?个?(?:周|星期|礼拜))"
    r"|(?P<nm>下个?月)初?"
)
_TIME = (
    r"(?P<half>上午|中午|下午|晚上|傍晚|早上|凌晨|一大早|大清早|一早|清早|早晨)?"
    rf"(?:(?P<h>{NUM})(?:[点:：时](?P<min>半|[一三]刻|[0-5]?\d(?:分)?|[一二三四五]?十[一二三四五六七八九]?(?:分)?)?)"
    r"|(?P<hh>\d{1,2})[:：](?P<mm>\d{2})|(?P<offwork>下班)(?=之?前|以前|之?后|以后))?"
)
EXPR = re.compile(rf"(?:{_DAY})?\s*{_TIME}\s*(?P<before>之前|以前|前)?")
# 「等会儿提醒我」: chat only (a screenshot's 「我等会儿打给你」 is not the follow-up the chat agreed on), read as
# SOON_MINUTES after the message
SOON = re.compile(r"(?:等|待|过)一?会儿?|一会儿|稍后|晚一会儿?")
SOON_MINUTES = 30
# 「尽快提醒我」, 「asap call 周立」 (read as 尽快): chat only, read as now when inside the person's working hours,
# else the start of their next working day (`asap_time`)
ASAP = re.compile(r"尽快|尽早|越快越好")
_DAY_GROUPS = ("rel", "nwd", "twd", "nmd", "md_m", "iso_y", "sl_m", "dom", "eom", "off", "pass", "hol", "eoy", "nwk",
               "nm")
_UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7}


@dataclass(frozen=True)
class Found:
    when: datetime
    span: tuple[int, int]
    has_day: bool
    has_clock: bool
    has_hour: bool = False  # an hour was said ("3点", "15:00"), not only a part of day ("下午")

    @property
    def precision(self) -> str:
        """"hour" (3点), "part" (下午) or "day" (明天): how exactly the time was said."""
        return "hour" if self.has_hour else "part" if self.has_clock else "day"

    @classmethod
    def said(cls, when: datetime, precision: str) -> Found:
        """A time known only by its value and how exactly it was said (e.g. kept on a draft)."""
        return cls(when, (0, 0), True, precision != "day", precision == "hour")


def _minutes(raw: str | None) -> int:
    if not raw:
        return 0
    if raw == "半":
        return 30
    if raw.endswith("刻"):
        return 15 if raw[0] == "一" else 45
    v = cn_int(raw.rstrip("分"))
    return v if v is not None and v < 60 else 0


def _hour_of(m: re.Match[str], days: Workdays = DEFAULT_DAYS) -> tuple[int, int] | None:
    half = m.group("half")
    if m.group("offwork"):
        return days.end.hour, days.end.minute
    if m.group("hh"):
        return _clock(half, int(m.group("hh")), int(m.group("mm")))
    if m.group("h"):
        h = cn_int(m.group("h"))
        if h is None or h > 24:
            return None
        minute = _minutes(m.group("min"))
        if half is None and 1 <= h <= 6:
            h += 12
        return _clock(half, h, minute)
    if half:
        return {"上午": (9, 0), "早上": (9, 0), "一大早": (9, 0), "大清早": (9, 0), "一早": (9, 0), "清早": (9, 0),
                "早晨": (9, 0), "中午": (12, 0), "下午": (14, 0), "傍晚": (18, 0),
                "晚上": (19, 0), "凌晨": (6, 0)}[half]
    return None


def _count(raw: str) -> float | None:
    return {"半": 0.5, "几": 3, "一个半": 1.5}.get(raw) or cn_int(raw)


def offset_of(m: re.Match[str], anchor: datetime) -> datetime | date | None:
    """「3天后」→ a date, 「两小时后」 → an exact moment."""
    n = _count(m.group("off"))
    unit = m.group("unit")
    if n is None or n <= 0 or n > 400:
        return None
    if unit in ("小时", "钟头"):
        return anchor + timedelta(hours=n)
    if unit == "分钟":
        return anchor + timedelta(minutes=n)
    if unit == "月":
        return _add_months(anchor.date(), n)
    return anchor.date() + timedelta(days=round(n * _UNIT_DAYS[unit]))


def _add_months(day: date, n: float) -> date:
    if n != int(n):
        return day + timedelta(days=round(n * 30))
    y, mo = divmod(day.month - 1 + int(n), 12)
    year, month = day.year + y, mo + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _next_month(d0: date) -> tuple[int, int]:
    return (d0.year + 1, 1) if d0.month == 12 else (d0.year, d0.month + 1)


def _day_of(m: re.Match[str], anchor: datetime, days: Workdays = DEFAULT_DAYS) -> date | None:
    d0 = anchor.date()
    if m.group("rel"):
        rel = m.group("rel").rstrip("个").replace("儿", "天")
        return d0 + timedelta(days={"今天": 0, "今晚": 0, "明天": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3}[rel])
    if m.group("pass"):
        said = m.group("pass")
        ahead = int(said) if said.isdigit() else {"两": 2, "几": 3, "一两": 2, "两三": 3, "三": 3, "四": 4, "五": 5}[
            said]
        return days.first_from(d0 + timedelta(days=ahead))
    if m.group("hol"):
        word = m.group("hol")
        return after_holiday(HOLIDAY_WORDS.get(word, NATIONAL), d0, days)
    if m.group("nwd"):
        weeks = 2 if m.group("nw").startswith("下下") else 1
        return d0 - timedelta(days=d0.weekday()) + timedelta(days=7 * weeks + WEEKDAY[m.group("nwd")])
    if m.group("nwk"):
        weeks = 2 if m.group("nwk").startswith("下下") else 1
        return days.first_from(d0 - timedelta(days=d0.weekday()) + timedelta(days=7 * weeks))
    if m.group("twd"):
        return _this_weekday(m, d0)
    if m.group("nmd"):
        return _safe_date(*_next_month(d0), cn_int(m.group("nmd")))
    if m.group("nm"):
        return days.first_from(date(*_next_month(d0), 1))
    return _dated(m, d0)


def _this_weekday(m: re.Match[str], d0: date) -> date:
    wd = WEEKDAY[m.group("twd")]
    if m.group("tw").startswith(("这", "本")):
        return d0 - timedelta(days=d0.weekday()) + timedelta(days=wd)
    if wd == d0.weekday() and (m.group("before") or m.group("offwork")):
        return d0  # 周五下班前 on a Friday: today (moved on by the caller once it has passed)
    return d0 + timedelta(days=(wd - d0.weekday()) % 7 or 7)


def _dated(m: re.Match[str], d0: date) -> date | None:
    """Calendar dates: 3月15日, 2027年3月15日, 2027-03-15, 3/15, 15号, 月底, 年底."""
    if m.group("iso_y"):
        return _with_year(int(m.group("iso_y")), int(m.group("iso_m")), int(m.group("iso_d")), d0)
    if m.group("md_y"):
        year = int(m.group("md_y"))
        return _with_year(year + 2000 if year < 100 else year, cn_int(m.group("md_m")), cn_int(m.group("md_d")), d0)
    if m.group("md_m") or m.group("sl_m"):
        month = cn_int(m.group("md_m") or m.group("sl_m"))
        dom = cn_int(m.group("md_d") or m.group("sl_d"))
        day = _safe_date(d0.year, month, dom)
        if day is not None and day < d0:
            day = _safe_date(d0.year + 1, month, dom)
        return day
    if m.group("eom"):
        y, mo = (d0.year, d0.month)
        if m.group("eom").startswith("下"):
            y, mo = _next_month(d0)
        return _safe_date(y, mo, calendar.monthrange(y, mo)[1])
    if m.group("eoy"):
        return date(d0.year, 12, 31)
    if m.group("dom"):
        dom = cn_int(m.group("dom"))
        day = _safe_date(d0.year, d0.month, dom)
        if day is not None and day < d0:
            day = _safe_date(*_next_month(d0), dom)
        return day
    return None



def _with_year(year: int, month: int | None, dom: int | None, d0: date) -> date | None:
    """A date written with its year is taken as written (a past one too: callers say it has passed); a year
    more than a year back or five ahead is not a follow-up time anyone agreed (「9999年1月1日」)."""
    if not d0.year - 1 <= year <= d0.year + 5:
        return None
    return _safe_date(year, month, dom)


def _safe_date(y: int, mo: int | None, d: int | None) -> date | None:
    if mo is None or d is None:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def find_times(text: str, anchor: datetime, days: Workdays | None = None) -> list[Found]:
    """Every time expression in `text`, resolved against `anchor` (aware); `days`: whose working days/hours."""
    anchor, days = to_cn(anchor), days or DEFAULT_DAYS
    out: list[Found] = []
    for m in EXPR.finditer(text):
        if m.end() == m.start():
            continue
        found = _resolve(text, m, anchor, days)
        if found is not None:
            out.append(found)
    return out


def _resolve(text: str, m: re.Match[str], anchor: datetime, days: Workdays) -> Found | None:
    has_day = any(m.group(g) for g in _DAY_GROUPS)
    hm = _hour_of(m, days)
    if (not has_day and hm is None) or _not_a_time(text, m, has_day):
        return None
    if m.group("off"):
        moved = offset_of(m, anchor)
        if isinstance(moved, datetime):
            return Found(moved.replace(second=0, microsecond=0), m.span(), True, True, True)
        day = moved
    elif has_day:
        day = _day_of(m, anchor, days)
    else:
        day = anchor.date()
    if day is None:
        return None
    if m.group("rel") in ("今晚", "明晚") and hm is None:
        hm = (19, 0)
    if m.group("rel") in ("今晚", "明晚") and hm is not None and hm[0] < 12:
        hm = (hm[0] + 12, hm[1])
    if hm is None and m.group("eom") and day == anchor.date():
        hm = (days.end.hour, days.end.minute)  # 「月底前」 on the month's last day: before work ends today
    clock = hm or (days.start.hour, days.start.minute)
    when = datetime(day.year, day.month, day.day, clock[0], clock[1], tzinfo=CN_TZ)
    if when <= anchor and (not has_day or (m.group("twd") and day == anchor.date())):
        when = _roll_forward(when, m, days)  # 3点 said at 16:00 → tomorrow; 下班前 after work → next working day
    has_hour = m.group("h") is not None or m.group("hh") is not None or m.group("offwork") is not None
    return Found(when, m.span(), has_day, has_hour or m.group("half") is not None, has_hour)


def _roll_forward(when: datetime, m: re.Match[str], days: Workdays) -> datetime:
    if m.group("twd"):
        return when + timedelta(days=7)
    step = when + timedelta(days=1)
    if m.group("offwork"):
        day = days.first_from(step.date())
        return step.replace(year=day.year, month=day.month, day=day.day)
    return step


# What follows "2号" / "三点" when they are not a date or a clock time: 2号楼, 3号线, 两点要求, 一点点, 3点几折, 三点：
_NOT_TIME_AFTER = re.compile(
    r"(?:[点几折楼线栋层室座床位门口站院期批个款项条种类：:]|单元|要求|建议|意见|问题|顾虑|疑问|考虑|原因|需求|想法"
    r"|担心|内容|理由|好处|优势|区别|不同|顾忌|看法|疑虑)"
)
_NOT_TIME_BEFORE = ("有", "这", "那", "几", "哪", "第", "差", "好", "点", ".")


def _not_a_time(text: str, m: re.Match[str], has_day: bool) -> bool:
    """'2号楼', '3号线', '我有两点要求', '一点点', '3点几折', '1.2亿' hold numbers, not dates or clock times."""
    numbered = m.group("dom") if has_day else m.group("h")
    if not numbered or m.group("half") or (has_day and m.group("h")):
        return False
    if _NOT_TIME_AFTER.match(text, m.end()) and not m.group("min") and not m.group("before"):
        return True
    before = text[max(0, m.start() - 1) : m.start()]
    return not has_day and (before.isdigit() or before in _NOT_TIME_BEFORE)


def find_time(text: str, anchor: datetime, days: Workdays | None = None) -> datetime | None:
    """The first future time expression in `text`, or None."""
    for f in find_times(text, anchor, days):
        if f.when > to_cn(anchor) - timedelta(hours=1):
            return f.when
    return None


def agreed(times: list[Found]) -> Found | None:
    """The follow-up a chat settles on: the latest mention, unless it only repeats the day (or the half day)
    of an earlier precise time — "明天下午3点" … "后天上午10点？" … "就明天" → 明天 15:00 — or only its clock
    time — "明天下午3点方便吗？" … "好的，3点" → 明天 15:00."""
    best: Found | None = None
    for i, f in enumerate(times):
        if f.has_hour:
            best = next((e for e in reversed(times[:i]) if _confirms(e, f)), f)
            continue
        best = next((e for e in reversed(times[:i]) if _refines(e, f)), f)
    return best


def _confirms(earlier: Found, later: Found) -> bool:
    """`later` repeats only the clock time of the dated `earlier`: "明天下午3点方便吗？" … "好的，3点"."""
    return (earlier.has_day and earlier.has_hour and not later.has_day
            and earlier.when.hour % 12 == later.when.hour % 12 and earlier.when.minute == later.when.minute)


def _refines(earlier: Found, later: Found) -> bool:
    """`later` names the same day as the precise `earlier`, with no hour and no other part of the day."""
    if not earlier.has_hour or earlier.when.date() != later.when.date():
        return False
    return not later.has_clock or (earlier.when.hour < 12) == (later.when.hour < 12)


def asap_time(now: datetime, days: Workdays | None = None) -> datetime:
    """「尽快」: now while inside the person's working hours on a working day, else the start of the next working
    time (later today before work starts, else the next working day)."""
    days, local = days or DEFAULT_DAYS, to_cn(now).replace(second=0, microsecond=0)
    if days.is_workday(local.date()) and days.start <= local.time() < days.end:
        return local
    day = local.date() if days.is_workday(local.date()) and local.time() < days.start else \
        days.first_from(local.date() + timedelta(days=1))
    return datetime.combine(day, days.start, tzinfo=CN_TZ)
