"""Private jieba tokenizers that share one load of jieba's main dictionary.

Three parts of salesbot cut Chinese with words of their own (knowledge index, screenshot needs, visit
summaries), so each needs a `jieba.Tokenizer` whose `add_word` does not leak into the others. jieba's
`initialize()` unmarshals its ~350k-word dictionary in one C call that holds the GIL: ~0.5 s, and the
event loop stalls ~250 ms each time (ACKs included). Here the dictionary is an engine (`JIEBA`, bot/engines.py):
loaded once by the services' `Engines`, and each tokenizer gets a copy of it (~10 ms, a few ms of stall).
"""

from __future__ import annotations

import logging
import os

import jieba

from bot.engines import Engine, Engines


def _main_dictionary() -> jieba.Tokenizer:
    """jieba's dictionary (blocking ~0.5 s: the server loads it before serving traffic)."""
    jieba.setLogLevel(logging.WARNING)  # "Building prefix dict…" on stderr at every load
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


JIEBA = Engine("jieba.dictionary", _main_dictionary)


def _word_tags() -> dict[str, str]:
    """jieba's part of speech of each word of its dictionary (dict.txt: `word frequency tag`), as jieba.posseg
    reads it (~0.3 s)."""
    tags: dict[str, str] = {}
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                word, _freq, tag = line.strip().split(" ")
                tags[word] = tag
    return tags


WORD_TAGS = Engine("jieba.word_tags", _word_tags)


def private_tokenizer(engines: Engines) -> jieba.Tokenizer:
    """A tokenizer of one's own: jieba's words (`engines`' copy of the dictionary) plus whatever the caller adds
    with `add_word`."""
    main = engines.get(JIEBA)
    tok = jieba.Tokenizer()
    tok.FREQ, tok.total, tok.initialized = dict(main.FREQ), main.total, True
    return tok
