"""Typed button keys (bot/actions.py): every action round-trips, old keys on users' cards still read, and no
product code builds or splits a key by hand."""

from __future__ import annotations

import ast
import dataclasses
import re
import typing
from pathlib import Path

import pytest

import bot.actions as actions
from bot.actions import (
    Action,
    Big,
    Cancel,
    ConfirmAdmin,
    ConfirmBudget,
    ConfirmOffboard,
    ExtendFrozen,
    KbNext,
    MergeDraft,
    ReassignTo,
    SnoozeReminder,
    UndoHandover,
    ViewLead,
    lead_of_card,
)

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("app", "bot", "handlers", "reminders", "knowledge", "ocr", "storage")
EXAMPLE = {int: 12, float: 2.5, str: "rep02", Big: Big(5_000_000_000)}


def every_action() -> list[type[Action]]:
    return [c for c in vars(actions).values()
            if isinstance(c, type) and issubclass(c, Action) and c is not Action]


def example(cls: type[Action]) -> Action:
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(typing.cast(typing.Any, cls)):
        kind = next((t for t in typing.get_args(hints[f.name]) if t is not type(None)), hints[f.name])
        values[f.name] = EXAMPLE[kind]
    return cls(**values)


@pytest.mark.parametrize("cls", every_action(), ids=lambda c: c.__name__)
def test_every_action_round_trips_and_refuses_other_keys(cls: type[Action]) -> None:
    action = example(cls)
    assert cls.unpack(action.pack()) == action
    assert cls.unpack("zz:" + action.pack()) is None
    others = [c for c in every_action() if c is not cls]
    assert not [c.__name__ for c in others if c.unpack(action.pack()) is not None]  # one class reads a key


def test_keys_already_on_cards_keep_their_format() -> None:
    assert MergeDraft(3, 9).pack() == "cap:merge:3:9"
    assert KbNext(41, "K012").pack() == "kb:next:41:K012"
    assert ReassignTo(12, "rep02").pack() == "lead:to:12:rep02"
    assert Cancel().pack() == "front:cancel" and Cancel.unpack("front:cancel") == Cancel()
    assert Cancel.unpack("front:cancelled") is None
    assert ConfirmBudget.unpack("front:budget:7:12000000000") == ConfirmBudget(7, Big(12_000_000_000))  # 120 亿
    assert ConfirmAdmin.unpack("adm:ok:1795400000:放假 2026-12-08") == ConfirmAdmin(Big(1795400000), "放假 2026-12-08")


@pytest.mark.parametrize("key", ["cap:merge:3", "cap:merge:x:9", "kb:next:41", "front:budget:7:1e9",
                                 "lead:to:9999999999:rep02", "adm:ok::放假"])
def test_a_malformed_key_reads_as_nothing(key: str) -> None:
    assert not [c.__name__ for c in every_action() if c.unpack(key) is not None]


def test_no_product_code_builds_or_splits_a_key_by_hand() -> None:
    by_hand = re.compile(r'Button\(\s*f?"[a-z]+:|click_key or ""\)\s*(\.split|\[)|card_action\(\s*"')
    found = [f"{p.relative_to(ROOT)}:{n}" for folder in PRODUCT for p in (ROOT / folder).rglob("*.py")
             for n, line in enumerate(p.read_text("utf-8").splitlines(), 1) if by_hand.search(line)]
    assert found == []


def _key_readers(code: str) -> list[int]:
    """The lines of regular expressions in `code` that read a button key: they match a packed key past its first ':' and
    name the key's own prefix (a general pattern such as 「姓名：」 matches a key too, but names no action)."""
    keys = [example(cls).pack() for cls in every_action()]
    found = []
    for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        source = node.args[0].value
        try:
            pattern = re.compile(source)
        except re.error:
            continue
        if any((m := pattern.match(k)) and m.end() > k.index(":") and k.split(":")[0] in source for k in keys):
            found.append(node.lineno)
    return found


def test_no_product_code_reads_a_key_with_a_regular_expression() -> None:
    found = [f"{p.relative_to(ROOT)}:{n}" for folder in PRODUCT for p in sorted((ROOT / folder).rglob("*.py"))
             for n in _key_readers(p.read_text("utf-8"))]
    assert found == []


def test_the_key_reader_guard_sees_a_hand_written_key_pattern() -> None:
    """The pattern front.py once used to find the lead of the last card; a general pattern is no key reader."""
    assert _key_readers('import re\nKEY = re.compile(r"^(?:lead|cap):[a-z]+:(\\d+)")\n') == [2]
    assert _key_readers('import re\nWHO = re.compile(r"^([A-Za-z]+)[:：]\\s*(.*)$")\n') == []


def test_the_lead_of_a_card_comes_from_its_typed_buttons() -> None:
    assert lead_of_card([Cancel().pack(), ViewLead(7).pack()]) == 7
    assert lead_of_card([ReassignTo(12, "rep02").pack()]) == 12
    assert lead_of_card([MergeDraft(3, 9).pack()]) == 3  # a draft card: the draft
    assert lead_of_card([ExtendFrozen(5, 2).pack(), SnoozeReminder(4).pack()]) is None  # an escalation is no lead card


@pytest.mark.parametrize("action", [UndoHandover(1, Big(2), "dt:abc", "rep01"),
                                    UndoHandover(1, Big(2), "a%3Ab", "x:y"),
                                    ConfirmOffboard("dt:abc", "dt:def")])
def test_a_colon_inside_a_field_survives_the_round_trip(action: Action) -> None:
    assert type(action).unpack(action.pack()) == action
