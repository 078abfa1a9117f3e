"""SLA policies from `[reminders]`: which rules exist, their windows, warning points and ladders.

Levels of a timer row: 0 = warning before the breach; 1.. = escalation ladder steps.
  L1 remind the rep · L2 … L(max-1) remind the rep and CC the manager · L(max) freeze the lead,
  move it to the pool and send the manager a card 接手 / 改派 / 延期.
First contact climbs from L1; a stalled stage starts at L2 (the design: "stage stalled → rep + manager").
Cadence, dormancy and agreed follow-ups are one-shot touchpoints without a ladder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.config import RemindersSettings
from reminders.calendar import BusinessCalendar, WorkHours
from storage.models import Lead

FIRST_CONTACT = "first_contact"
STAGE_STALL = "stage_stall"
CADENCE = "cadence"
DORMANCY = "dormancy"
FOLLOW_UP = "follow_up"
RENEWAL = "renewal"  # an unanswered 续约预警 (handlers/renewals): remind → CC the manager → the manager steps in
NOTICE = "notice"  # an outgoing reminder message waiting for its recipient's working hours

SLA_RULES = (FIRST_CONTACT, STAGE_STALL)
RULES = (FIRST_CONTACT, STAGE_STALL, CADENCE, DORMANCY, FOLLOW_UP, RENEWAL)
TERMINAL_STAGES = ("won", "lost")

RULE_CN = {
    FIRST_CONTACT: "首次联系",
    STAGE_STALL: "阶段推进",
    CADENCE: "高价值跟进节奏",
    DORMANCY: "沉睡唤醒",
    FOLLOW_UP: "约定回访",
    RENEWAL: "续约预警",
}

# Rep-facing button defaults.
SNOOZE_DEFAULT_HOURS = 1.0
EXTEND_DEFAULT_HOURS = 24.0
EXTEND_DEFAULT_REASON = "主管延期"
PAUSE_NEXT_WEEK_REASON = "客户说下周再联系"
PAUSE_MAX_PER_CHAIN = 2  # "下周再联系" pauses one SLA chain may take (each moves it a week)


def promised_at(payload: Mapping[str, object] | None, due: datetime) -> datetime:
    """The time a timer row stands for, as every reader shows it (lead lists, the handover, the reminder itself):
    an agreed follow-up's time (its row fires `follow_up_before_min` early and carries the time in `at`), an SLA
    row's deadline (it may fire early with its warning), else the moment it fires."""
    for key in ("at", "deadline"):
        raw = (payload or {}).get(key)
        if isinstance(raw, str):
            return datetime.fromisoformat(raw)
    return due


def sla_window(rule: str, cfg: RemindersSettings, cal: BusinessCalendar, hours: WorkHours) -> timedelta:
    """Working time allowed per ladder step of an SLA rule."""
    if rule == FIRST_CONTACT:
        return timedelta(hours=cfg.first_contact_hours)
    if rule == STAGE_STALL:
        return cal.working_days(cfg.stage_stall_days, hours)
    raise ValueError(f"{rule} is not an SLA rule")


def freeze_level(cfg: RemindersSettings) -> int:
    return max(1, cfg.max_level)


def first_level(rule: str, cfg: RemindersSettings) -> int:
    """Ladder level of the first breach."""
    return min(2, freeze_level(cfg)) if rule == STAGE_STALL else 1


def next_level(rule: str, level: int, cfg: RemindersSettings) -> int | None:
    """The ladder level after `level` (0 = the warning), None past the top."""
    if level == 0:
        return first_level(rule, cfg)
    return level + 1 if level < freeze_level(cfg) else None


def warn_before(window: timedelta, cfg: RemindersSettings) -> timedelta | None:
    """How long before the breach the warning goes out; None → no warning."""
    if not 0 < cfg.warn_fraction < 1:
        return None
    return window * (1 - cfg.warn_fraction)


def cc_manager(level: int, cfg: RemindersSettings) -> bool:
    return 2 <= level < freeze_level(cfg)


def is_high_value(lead: Lead, cfg: RemindersSettings) -> bool:
    return lead.budget_cny is not None and lead.budget_cny >= cfg.high_value_cny


def cadence_days(cfg: RemindersSettings) -> list[int]:
    return sorted({d for d in cfg.cadence_days if d > 0})
