"""Cue words read with one character misread count; a word read as written, or a misread that makes another
everyday word, does not."""

from __future__ import annotations

import pytest

from ocr.nearmatch import CueWords
from tests.test_ocr_people import NAMES

CUES = CueWords(["师傅", "简历", "面试", "快递", "取件码", "例会", "周会"])


@pytest.mark.parametrize(("text", "cue"), [("谢谢师传", "师傅"), ("看了您的简厉", "简历"), ("快逆到了", "快递"),
                                           ("取仵码5017", "取件码")])
def test_a_cue_read_with_one_character_misread_is_found_near(text: str, cue: str) -> None:
    exact, near = CUES.found(text, NAMES.is_word)
    assert cue in near and cue not in exact


@pytest.mark.parametrize("text", ["这个很简单", "我们当面说吧", "列会改到三楼", "老师说了", "师了"])
def test_an_everyday_word_an_unlike_character_or_an_ambiguous_cue_is_not(text: str) -> None:
    """简单 and 当面 are words; 列会 could be 例会 or 周会 (no guess); 了 looks nothing like 傅."""
    assert CUES.found(text, NAMES.is_word) == (set(), set())


def test_without_the_dictionary_only_exact_cues_count() -> None:
    assert CUES.found("面试时间 谢谢师传", None) == ({"面试"}, set())
