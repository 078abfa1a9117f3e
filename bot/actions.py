"""Typed button keys: every card action is a small frozen class, defined once, here.

`pack()` gives the key a button carries ("lead:to:12:rep02"); `unpack(key)` reads a clicked key back into the
class, or None when the key is not this action or is malformed. The router registers a route by the class
(`@router.card_action(ReassignTo, lead="open")`) and hands the handler the unpacked value: no handler splits
a key string. Fields follow the prefix in order; a trailing field with a default may be left out of a key,
and a last `str` field takes the rest of the key (so a ':' or '%' in any other `str` field is written as %3A / %25).
Keys already on cards in users' chats keep working, so the
formats below never change (WeCom: a button key is at most 1024 bytes).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, NewType, Self, cast

_MISSING = dataclasses.MISSING


class Action:
    prefix: ClassVar[str]  # "lead:view": the key is "lead:view:<fields…>"

    def pack(self) -> str:
        parts = [self.prefix]
        fields = dataclasses.fields(cast(Any, self))  # every concrete Action is a dataclass
        for n, f in enumerate(fields, 1):
            value = getattr(self, f.name)
            if value is None:
                break  # an optional tail left out
            text = f"{value:g}" if isinstance(value, float) else str(value)
            parts.append(text if n == len(fields) or not isinstance(value, str) else _escape(text))
        return ":".join(parts)

    @classmethod
    def key_prefix(cls) -> str:
        """What every key of this action starts with (the whole key for an action without fields)."""
        return cls.prefix + ":" if dataclasses.fields(cast(Any, cls)) else cls.prefix

    @classmethod
    def unpack(cls, key: str) -> Self | None:
        if not key.startswith(cls.key_prefix()):
            return None
        specs = _specs(cls)
        if not specs:
            return cls() if key == cls.prefix else None
        raw = key[len(cls.key_prefix()):].split(":", len(specs) - 1)
        values: dict[str, Any] = {}
        for n, ((name, kind, _required), text) in enumerate(zip(specs, raw, strict=False), 1):
            value = _convert(kind, text if n == len(specs) or kind is not str else _unescape(text))
            if value is None:
                return None
            values[name] = value
        if any(required and name not in values for name, _, required in specs):
            return None
        return cls(**values)


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace(":", "%3A")


def _unescape(text: str) -> str:
    return text.replace("%3A", ":").replace("%25", "%")


def acts_on_a_lead(cls: type[Action]) -> bool:
    """Whether the action carries the `lead_id: int` a route declared with `lead=` is resolved by."""
    return any(name == "lead_id" and kind is int for name, kind, _ in _specs(cls))


def _specs(cls: type[Action]) -> list[tuple[str, Any, bool]]:
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cast(Any, cls)):
        kind = next((t for t in typing.get_args(hints[f.name]) if t is not type(None)), hints[f.name])
        specs.append((f.name, kind, f.default is _MISSING))
    return specs


Big = NewType("Big", int)  # a whole number past an id's range: an amount in yuan, a unix time


def _convert(kind: Any, text: str) -> Any:
    """The field's value from its key text, or None when it does not read as one."""
    if not text:
        return None
    if kind is int:
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None  # fits an INTEGER
    if kind is Big:
        return Big(int(text)) if text.isascii() and text.isdigit() and len(text) <= 18 else None  # a BIGINT
    if kind is float:  # any number: the use case refuses an absurd one in its own words (「最多延期 720 小时」)
        try:
            return float(text)
        except ValueError:
            return None
    return text


# -- leads (handlers/leads) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ViewLead(Action):
    prefix: ClassVar[str] = "lead:view"
    lead_id: int


@dataclass(frozen=True)
class FollowUpHint(Action):
    prefix: ClassVar[str] = "lead:fu"
    lead_id: int


@dataclass(frozen=True)
class VoiceTo(Action):
    """「记到这条线索」 on the card that asks where a voice note goes (handlers/chat/voice.py)."""

    prefix: ClassVar[str] = "voice:to"
    lead_id: int
    note: str  # which waiting note (each card carries its own words)


@dataclass(frozen=True)
class NextStage(Action):
    prefix: ClassVar[str] = "lead:next"
    lead_id: int


@dataclass(frozen=True)
class MarkWon(Action):
    prefix: ClassVar[str] = "lead:won"
    lead_id: int


@dataclass(frozen=True)
class ConfirmLost(Action):
    """The one confirm click a typed 输单 waits for (it closes the lead)."""

    prefix: ClassVar[str] = "lead:lostok"
    lead_id: int
    reason: str


@dataclass(frozen=True)
class LostHint(Action):
    prefix: ClassVar[str] = "lead:lost"
    lead_id: int


@dataclass(frozen=True)
class AwaitEvidence(Action):
    prefix: ClassVar[str] = "lead:ev"
    lead_id: int


@dataclass(frozen=True)
class ConfirmDraft(Action):
    prefix: ClassVar[str] = "lead:confirm"
    lead_id: int


@dataclass(frozen=True)
class DropDraft(Action):
    prefix: ClassVar[str] = "lead:drop"
    lead_id: int


@dataclass(frozen=True)
class ReassignPicker(Action):
    prefix: ClassVar[str] = "lead:reassign"
    lead_id: int


@dataclass(frozen=True)
class ReassignTo(Action):
    prefix: ClassVar[str] = "lead:to"
    lead_id: int
    rep_id: str


@dataclass(frozen=True)
class ApproveEvidence(Action):
    prefix: ClassVar[str] = "ev:ok"
    evidence_id: int


@dataclass(frozen=True)
class RejectEvidence(Action):
    prefix: ClassVar[str] = "ev:no"
    evidence_id: int


# -- screenshot drafts (handlers/chat/capture.py) -------------------------------------------------------------
@dataclass(frozen=True)
class EditDraft(Action):
    """「修改」 on a draft lead card: how to correct a field."""

    prefix: ClassVar[str] = "cap:edit"
    draft_id: int


@dataclass(frozen=True)
class CreateAnyway(Action):
    """「仍然新建」: the draft is not the existing lead it resembles."""

    prefix: ClassVar[str] = "cap:new"
    draft_id: int


@dataclass(frozen=True)
class MergeDraft(Action):
    """「合并到已有线索」: the draft's details go to the lead it duplicates."""

    prefix: ClassVar[str] = "cap:merge"
    draft_id: int
    target_id: int


# -- data-quality flags (handlers/chat/checks.py) --------------------------------------------------------
@dataclass(frozen=True)
class ClearFlag(Action):
    """A manager's 「核实无误，清除」 on a rep's answer to a flag."""

    prefix: ClassVar[str] = "flag:clear"
    flag_id: int


# -- knowledge answers (handlers/knowledge.py) -----------------------------------------------------------
@dataclass(frozen=True)
class KbUseful(Action):
    prefix: ClassVar[str] = "kb:up"
    query_id: int
    card_id: str


@dataclass(frozen=True)
class KbNotUseful(Action):
    prefix: ClassVar[str] = "kb:down"
    query_id: int
    card_id: str


@dataclass(frozen=True)
class KbNext(Action):
    """「换一个」: the next card ranked for the same question."""

    prefix: ClassVar[str] = "kb:next"
    query_id: int
    card_id: str


# -- the front door's questions back (handlers/chat/front.py) -------------------------------------------------
@dataclass(frozen=True)
class DoGuessed(Action):
    """「是的」 on 「你是想…？」: run `text` as if typed."""

    prefix: ClassVar[str] = "front:do"
    text: str


@dataclass(frozen=True)
class ConfirmBudget(Action):
    """「确认」 on the question a budget far above the team's asks."""

    prefix: ClassVar[str] = "front:budget"
    lead_id: int
    yuan: Big


@dataclass(frozen=True)
class UndoHandover(Action):
    """「撤销」 under a typed 接手 / 改派 that acted at once: `lead_id` back from `new_owner` to `previous`, if done
    within the window after `at` (unix time)."""

    prefix: ClassVar[str] = "front:undo"
    lead_id: int
    at: Big
    new_owner: str
    previous: str


@dataclass(frozen=True)
class UndoFrozen(Action):
    """「撤销」 under a 接手 / 改派 of a frozen lead (escalation `rid`) done at `at` (unix time): frozen again."""

    prefix: ClassVar[str] = "front:unfreeze"
    lead_id: int
    rid: int
    at: Big


@dataclass(frozen=True)
class ConfirmOffboard(Action):
    """An admin's 「确认」 on handing a leaver's leads to a successor."""

    prefix: ClassVar[str] = "front:offboard"
    leaving: str
    taking: str


@dataclass(frozen=True)
class Cancel(Action):
    """「不是」 / 「取消」 on any of the front door's questions."""

    prefix: ClassVar[str] = "front:cancel"


# -- admin commands that wait for a confirm click (bot/confirm.py) ----------------------------------------
@dataclass(frozen=True)
class ConfirmAdmin(Action):
    """「确认执行」: run `text`, issued at `issued` (unix seconds), if still valid."""

    prefix: ClassVar[str] = "adm:ok"
    issued: Big
    text: str


@dataclass(frozen=True)
class CancelAdmin(Action):
    prefix: ClassVar[str] = "adm:no"


# -- reminders and escalation (reminders/messages.py builds them, handlers/chat/escalation.py acts) ---------
@dataclass(frozen=True)
class SnoozeReminder(Action):
    prefix: ClassVar[str] = "rem:snooze"
    reminder_id: int
    hours: float = 1.0


@dataclass(frozen=True)
class PauseReminder(Action):
    prefix: ClassVar[str] = "rem:pause"
    reminder_id: int
    until: str = "nextweek"


@dataclass(frozen=True)
class TakeOver(Action):
    prefix: ClassVar[str] = "esc:take"
    lead_id: int
    reminder_id: int


@dataclass(frozen=True)
class AssignPicker(Action):
    prefix: ClassVar[str] = "esc:assign"
    lead_id: int
    reminder_id: int


@dataclass(frozen=True)
class AssignFrozenTo(Action):
    prefix: ClassVar[str] = "esc:to"
    lead_id: int
    reminder_id: int
    rep_id: str


@dataclass(frozen=True)
class ExtendFrozen(Action):
    prefix: ClassVar[str] = "esc:extend"
    lead_id: int
    reminder_id: int
    hours: float | None = None


# -- renewal warnings (reminders/messages.py builds the cards, handlers/chat/renewals.py acts) -------------
@dataclass(frozen=True)
class RenewalContacted(Action):
    prefix: ClassVar[str] = "ren:contacted"
    warning_id: int


@dataclass(frozen=True)
class RenewalProof(Action):
    prefix: ClassVar[str] = "ren:proof"
    warning_id: int


@dataclass(frozen=True)
class RenewalHelp(Action):
    prefix: ClassVar[str] = "ren:help"
    warning_id: int


@dataclass(frozen=True)
class RenewalLift(Action):
    prefix: ClassVar[str] = "ren:lift"
    warning_id: int


# -- new-rep ramp-up (handlers/ramp) --------------------------------------------------------------------
@dataclass(frozen=True)
class RampShow(Action):
    """「继续」: the rep's next task (or the next question of the task `task_id`)."""

    prefix: ClassVar[str] = "ramp:show"
    task_id: int


@dataclass(frozen=True)
class RampAnswer(Action):
    """A multiple-choice answer: option `choice` (1-based) of question `serial` of the task."""

    prefix: ClassVar[str] = "ramp:ans"
    task_id: int
    serial: int
    choice: int


@dataclass(frozen=True)
class RampRead(Action):
    prefix: ClassVar[str] = "ramp:read"
    task_id: int


@dataclass(frozen=True)
class RampAskConfirm(Action):
    """The rep asks the manager to confirm a shadowing task."""

    prefix: ClassVar[str] = "ramp:ask"
    task_id: int


@dataclass(frozen=True)
class RampConfirm(Action):
    """The manager confirms (ok=1) or sends back (ok=0) a rep's shadowing task."""

    prefix: ClassVar[str] = "ramp:ok"
    task_id: int
    ok: int
    rep_id: str


KbVote = KbUseful | KbNotUseful | KbNext  # one handler reads all three (handlers/knowledge.py)


# -- the lead a card is about (handlers/chat/front.py: 「它」, 「这个客户」 after a card) ------------------------------
_LEAD_BUTTONS: tuple[type[ViewLead | FollowUpHint | NextStage | MarkWon | LostHint | AwaitEvidence | ConfirmDraft
                          | DropDraft | ReassignPicker | ReassignTo], ...] = (
    ViewLead, FollowUpHint, NextStage, MarkWon, LostHint, AwaitEvidence, ConfirmDraft, DropDraft, ReassignPicker,
    ReassignTo)
_DRAFT_BUTTONS: tuple[type[EditDraft | CreateAnyway | MergeDraft], ...] = (EditDraft, CreateAnyway, MergeDraft)


def lead_of_card(keys: Iterable[str]) -> int | None:
    """The lead (or draft) a card's buttons act on: the first button that is a lead's or a draft's; None for a
    card about something else (a reminder, a knowledge answer, an escalation)."""
    for key in keys:
        for lead_button in _LEAD_BUTTONS:
            if (action := lead_button.unpack(key)) is not None:
                return action.lead_id
        for draft_button in _DRAFT_BUTTONS:
            if (draft := draft_button.unpack(key)) is not None:
                return draft.draft_id
    return None
