"""Typed button keys (bot/actions.py): every action round-trips, old keys on users' cards still read, and no
product code builds or splits a key by hand."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

import bot.actions as actions
from bot.actions import Action, Big, Cancel, ConfirmAdmin, ConfirmBudget, KbNext, MergeDraft, ReassignTo

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
