"""Private jieba tokenizers share one dictionary load but not each other's words."""

from __future__ import annotations

from bot.engines import Engines
from bot.segmenter import JIEBA, private_tokenizer


def test_words_added_to_one_tokenizer_stay_out_of_the_others() -> None:
    engines = Engines()
    needs, other = private_tokenizer(engines), private_tokenizer(engines)
    assert needs.lcut("温控专线报价", HMM=False) == other.lcut("温控专线报价", HMM=False) != ["温控专线", "报价"]
    needs.add_word("温控专线", freq=20_000)
    assert needs.lcut("温控专线报价", HMM=False) == ["温控专线", "报价"]
    assert "温控专线" not in other.lcut("温控专线报价", HMM=False)
    assert "温控专线" not in engines.get(JIEBA).FREQ
    assert private_tokenizer(engines).total == engines.get(JIEBA).total  # a new one starts from jieba's words only
