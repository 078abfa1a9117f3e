"""Private jieba tokenizers share one dictionary load but not each other's words."""

from __future__ import annotations

from bot.segmenter import main_dictionary, private_tokenizer


def test_words_added_to_one_tokenizer_stay_out_of_the_others() -> None:
    needs, other = private_tokenizer(), private_tokenizer()
    assert needs.lcut("温控专线报价", HMM=False) == other.lcut("温控专线报价", HMM=False) != ["温控专线", "报价"]
    needs.add_word("温控专线", freq=20_000)
    assert needs.lcut("温控专线报价", HMM=False) == ["温控专线", "报价"]
    assert "温控专线" not in other.lcut("温控专线报价", HMM=False)
    assert "温控专线" not in main_dictionary().FREQ
    assert private_tokenizer().total == main_dictionary().total  # a new one starts from jieba's words only
