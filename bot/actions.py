"""Typed button keys: every card action is a small frozen class, defined once, here.

`pack()` gives the key a button carries ("lead:to:12:rep02"); `unpack(key)` reads a clicked key back into the
class, or None when the key is not this action or is malformed. The router registers a route by the class
(`@router.card_action(ReassignTo, lead="open")`) and hands the handler the unpacked value: no handler splits
a key string. Fields follow the prefix in order; a trailing field with a default may be left out of a key,
and a last `str` field takes the rest of the key. Keys already on cards in users' chats keep working, so the
formats below never change (WeCom: a button key is at most 1024 bytes).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self, cast

_MISSING = dataclasses.MISSING


class Action:
    prefix: ClassVar[str]  # "lead:view": the key is "lead:view:<fields…>"

    def pack(self) -> str:
        parts = [self.prefix]
        for f in dataclasses.fields(cast(Any, self)):  # every concrete Action is a dataclass
            value = getattr(self, f.name)
            if value is None:
                break  # an optional tail left out
            parts.append(f"{value:g}" if isinstance(value, float) else str(value))
        return ":".join(parts)

    @classmethod
    def key_prefix(cls) -> str:
        return cls.prefix + ":"

    @classmethod
    def unpack(cls, key: str) -> Self | None:
        if not key.startswith(cls.key_prefix()):
            return None
        specs = _specs(cls)
        raw = key[len(cls.key_prefix()):].split(":", len(specs) - 1)
        values: dict[str, Any] = {}
        for (name, kind, _required), text in zip(specs, raw, strict=False):
            value = _convert(kind, text)
            if value is None:
                return None
            values[name] = value
        if any(required and name not in values for name, _, required in specs):
            return None
        return cls(**values)


class LeadAction(Protocol):
    """An action on one lead: the dispatcher resolves `lead_id` for routes declared with `lead=`."""

    @property
    def lead_id(self) -> int: ...


def _specs(cls: type[Action]) -> list[tuple[str, type, bool]]:
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cast(Any, cls)):
        kind = next((t for t in typing.get_args(hints[f.name]) if t is not type(None)), hints[f.name])
        specs.append((f.name, kind, f.default is _MISSING))
    return specs


def _convert(kind: type, text: str) -> Any:
    """The field's value from its key text, or None when it does not read as one."""
    if not text:
        return None
    if kind is int:
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None  # fits an INTEGER
    if kind is float:
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
    """「记到这条线索」 on the card that asks where a voice note goes (handlers/voice.py)."""

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


# -- reminders and escalation (reminders/messages.py builds them, handlers/escalation.py acts) ---------
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


# -- renewal warnings (reminders/messages.py builds the cards, handlers/renewals/chat.py acts) -------------
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
class RampGrade(Action):
    """After a written answer and the card to compare: the rep's own verdict (1 = got the points, 0 = not)."""

    prefix: ClassVar[str] = "ramp:grade"
    task_id: int
    serial: int
    ok: int


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
