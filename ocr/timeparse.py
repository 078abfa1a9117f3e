"""Chinese time expressions → aware Asia/Shanghai datetimes.

Two jobs: `parse_anchor` reads a chat's own centred timestamps ("昨天 14:20", "星期三 11:00",
"10月22日 上午9:30") relative to the receive time; `find_time` resolves an agreed time in a message
("明天下午3点", "下周二", "下个月12号", "3月15日", "9点半", "周五之前") against that anchor.

Conventions (stable, the benchmark ground truth uses them): a date without a clock time → 09:00;
上午 → 09:00, 中午 → 12:00, 下午 → 14:00, 晚上 → 19:00 when no hour is given; a bare hour 1–6 is
afternoon; a bare weekday is the next such day strictly after the anchor's date; a clock time alone is
today if still ahead of the anchor, else tomorrow; "之前" keeps the named day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import CN_TZ, to_cn

_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2, "4": 3,
           "5": 4, "6": 5, "7": 6}
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


# ---------------------------------------------------------------- agreed times in messages

_DAY = (
    r"(?P<rel>今天|今晚|明天|明早|明晚|后天|大后天)"
    rf"|(?P<nw>下下?(?:个)?(?:周|星期|礼拜))(?P<nwd>[一二三四五六日天1-7])"
    rf"|(?P<tw>(?:这|本)?(?:周|星期|礼拜))(?P<twd>[一二三四五六日天])"
    rf"|下(?:个)?月(?P<nmd>{NUM})[号日]"
    rf"|(?P<md_m>{NUM})月(?P<md_d>{NUM})[号日]"
    rf"|(?<![月\d])(?P<dom>{NUM})[号日]"
    r"|(?P<eom>(?:下个?)?月底)"
)
_TIME = (
    r"(?P<half>上午|中午|下午|晚上|傍晚|早上|凌晨)?"
    rf"(?:(?P<h>{NUM})(?:[点:：时](?P<min>半|[一三]刻|[0-5]?\d(?:分)?|[一二三四五]?十[一二三四五六七八九]?(?:分)?)?)|(?P<hh>\d{{1,2}})[:：](?P<mm>\d{{2}}))?"
)
EXPR = re.compile(rf"(?:{_DAY})?\s*{_TIME}\s*(?P<before>之前|以前|前)?")


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


def _hour_of(m: re.Match[str]) -> tuple[int, int] | None:
    half = m.group("half")
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
        return {"上午": (9, 0), "早上": (9, 0), "中午": (12, 0), "下午": (14, 0), "傍晚": (18, 0),
                "晚上": (19, 0), "凌晨": (6, 0)}[half]
    return None


def _day_of(m: re.Match[str], anchor: datetime) -> date | None:
    d0 = anchor.date()
    if m.group("rel"):
        rel = m.group("rel")
        return d0 + timedelta(days={"今天": 0, "今晚": 0, "明天": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3}[rel])
    if m.group("nwd"):
        weeks = 2 if m.group("nw").startswith("下下") else 1
        return d0 - timedelta(days=d0.weekday()) + timedelta(days=7 * weeks + WEEKDAY[m.group("nwd")])
    if m.group("twd"):
        wd = WEEKDAY[m.group("twd")]
        if m.group("tw").startswith(("这", "本")):
            return d0 - timedelta(days=d0.weekday()) + timedelta(days=wd)
        return d0 + timedelta(days=(wd - d0.weekday()) % 7 or 7)
    if m.group("nmd"):
        dom = cn_int(m.group("nmd"))
        y, mo = (d0.year + 1, 1) if d0.month == 12 else (d0.year, d0.month + 1)
        return _safe_date(y, mo, dom)
    if m.group("md_m"):
        month, dom = cn_int(m.group("md_m")), cn_int(m.group("md_d"))
        day = _safe_date(d0.year, month, dom)
        if day is not None and day < d0:
            day = _safe_date(d0.year + 1, month, dom)
        return day
    if m.group("eom"):
        y, mo = (d0.year, d0.month)
        if m.group("eom").startswith("下"):
            y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
        return _safe_date(y, mo, calendar.monthrange(y, mo)[1])
    if m.group("dom"):
        dom = cn_int(m.group("dom"))
        day = _safe_date(d0.year, d0.month, dom)
        if day is not None and day < d0:
            y, mo = (d0.year + 1, 1) if d0.month == 12 else (d0.year, d0.month + 1)
            day = _safe_date(y, mo, dom)
        return day
    return None


def _safe_date(y: int, mo: int | None, d: int | None) -> date | None:
    if mo is None or d is None:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def find_times(text: str, anchor: datetime) -> list[Found]:
    """Every time expression in `text`, resolved against `anchor` (aware)."""
    anchor = to_cn(anchor)
    out: list[Found] = []
    for m in EXPR.finditer(text):
        if m.end() == m.start():
            continue
        has_day = any(m.group(g) for g in ("rel", "nwd", "twd", "nmd", "md_m", "dom", "eom"))
        hm = _hour_of(m)
        if not has_day and hm is None:
            continue
        if _not_a_time(text, m, has_day):
            continue
        if has_day:
            day = _day_of(m, anchor)
            if day is None:
                continue
        else:
            assert hm is not None
            day = anchor.date()
            if hm <= (anchor.hour, anchor.minute):
                day += timedelta(days=1)
        if m.group("rel") in ("今晚", "明晚") and hm is None:
            hm = (19, 0)
        if m.group("rel") in ("今晚", "明晚") and hm is not None and hm[0] < 12:
            hm = (hm[0] + 12, hm[1])
        if hm is None:
            hm = (9, 0)
        when = datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=CN_TZ)
        has_hour = m.group("h") is not None or m.group("hh") is not None
        out.append(Found(when, m.span(), has_day, has_hour or m.group("half") is not None, has_hour))
    return out


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


def find_time(text: str, anchor: datetime) -> datetime | None:
    """The first future time expression in `text`, or None."""
    for f in find_times(text, anchor):
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
