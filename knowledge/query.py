"""What a rep typed, made searchable: 繁體 → 简体 (OpenCC), full-width → half-width, emoji and chat filler
removed, and chatter (greetings, thanks, commands) recognised so it is neither searched nor logged as a gap."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

from bot.engines import Engine

# Multi-character chat filler that carries no topic (single characters are handled as stopwords).
FILLER = ("哈哈哈", "哈哈", "呵呵", "嘿嘿", "嘻嘻", "求助", "求救", "救命", "在线等", "急急急", "急求", "咋整", "咋办",
          "肿么办", "怎么整", "怎么破", "怎么搞", "怎么回复", "怎么回", "怎么应对", "如何应对", "如何回复", "怎么说",
          "怎么办", "请问", "请教", "大佬们", "大佬", "各位", "有没有人知道", "帮帮忙", "帮忙看看", "麻烦问下",
          "问一下", "问下", "emmm", "emm", "嗯嗯", "唉", "哎呀", "哎", "啊啊", "么么哒", "老师们", "兄弟们", "家人们",
          "谁知道", "help", "pls", "plz", "asap", "在吗")
FILLER_RE = re.compile("|".join(re.escape(f) for f in sorted(FILLER, key=len, reverse=True)))
KEEP = re.compile(r"[^0-9a-z\u4e00-\u9fff\s.,，。;；:：、!?！？\-+%/&]")  # emoji, symbols, brackets → space
CHATTER = frozenset(
    "你好 您好 hi hello 在吗 在不在 谢谢 谢谢你 多谢 感谢 谢了 thx thanks thank you 好的 好 收到 ok okay 嗯 嗯嗯 哦 "
    "早 早上好 早安 午安 下午好 晚上好 晚安 辛苦了 辛苦 拜拜 再见 bye 好吧 行 可以 明白 知道了 了解 没事了 不用了 "
    "哈哈 哈哈哈 呵呵 测试 test 1 ? ？ 。 谢谢您 谢谢老师 "
    "感谢 太感谢了 非常感谢 麻烦了 麻烦你了 了解了 好嘞 好滴 好哒 在么 在嘛 "
    "新年快乐 节日快乐 春节快乐 中秋快乐 周末愉快 早上好 中午好 没问题 ok了 好了".split()
)
PARTICLES = re.compile(r"[啦呀哈哦噢呢嘛哟哒嘞咯~]+$")  # 谢谢哈, 早上好呀, 辛苦啦
COMMAND = re.compile(r"^\s*[/#!！]\S")


class Simplifier:
    """繁體 → 简体 with OpenCC (its dictionaries are read when it is made) and the characters it changes (~3,500;
    listed once, ~0.2 s): most text has none, and then the (pure Python, ~0.4 ms per sentence) conversion is
    skipped — 20,000 cards are tokenised in seconds. An engine (`SIMPLIFIER`): the services keep one."""

    def __init__(self) -> None:
        self._t2s = OpenCC("t2s")
        self._traditional = frozenset(ch for ch in map(chr, range(0x4E00, 0xA000)) if self._t2s.convert(ch) != ch)
        self._simplified = lru_cache(maxsize=4096)(self._read)

    def has_traditional(self, text: str) -> bool:
        return not self._traditional.isdisjoint(text)

    def convert(self, text: str) -> str:
        """`text` with its 繁體 in 简体 (as it is when it has none)."""
        return self._t2s.convert(text) if self.has_traditional(text) else text

    def simplified(self, text: str) -> str:
        """NFKC (full-width → half-width), lower case, traditional → simplified."""
        return self._simplified(text)

    def _read(self, text: str) -> str:
        return self.convert(unicodedata.normalize("NFKC", text).lower())


SIMPLIFIER = Engine("opencc.t2s", Simplifier)


def clean(text: str, t2s: Simplifier) -> str:
    """Searchable form: simplified, emoji/symbols and chat filler removed, runs of spaces squeezed."""
    text = KEEP.sub(" ", t2s.simplified(text))
    text = FILLER_RE.sub(" ", text)
    return with_compact_verbs(" ".join(text.split()))


POTENTIAL = re.compile(r"([\u4e00-\u9fff])(?:不了|不到|不完|不上|不起|得了)([\u4e00-\u9fff])")


def with_compact_verbs(text: str) -> str:
    """「发不了货」 also reads as 「发货」: the potential complement splits the words cues are made of."""
    compact = POTENTIAL.sub(r"\1\2", text)
    return text if compact == text else f"{text} {compact}"


def is_chatter(text: str, t2s: Simplifier) -> bool:
    """A greeting, thanks, acknowledgement or a command: not a question for the knowledge base."""
    if COMMAND.match(text):
        return True
    bare = re.sub(r"[\s.,，。!?！？~～、…]+", " ", KEEP.sub(" ", t2s.simplified(text))).strip()
    if not bare:
        return True
    words = bare.split()
    return " ".join(words) in CHATTER or all(_chatter_word(w) for w in words)


def _chatter_word(word: str) -> bool:
    """One word of greetings or thanks, also with a trailing particle or run together (收到收到, 好的谢谢)."""
    word = PARTICLES.sub("", word) or word
    reach = [True] + [False] * len(word)  # reach[i]: word[:i] splits into chatter words
    for i in range(len(word)):
        if reach[i]:
            for j in range(i + 1, min(len(word), i + 6) + 1):
                reach[j] = reach[j] or word[i:j] in CHATTER
    return reach[-1]
