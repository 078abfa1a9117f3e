"""A learned second opinion for the reader: a multinomial naive Bayes over character 1–3 grams and jieba words,
trained at start-up on the shipped examples (handlers/intent_examples.jsonl: labelled messages, customer and
colleague names written as {客户} / {同事}).

The rules (handlers/intent.py) stay first: they carry the slots and are exact on what they know. The model is
asked only when they found nothing but a knowledge question (or a bare 「你是想…」), and its answer is taken only
when its margin over the runner-up clears `MIN_MARGIN` (calibrated by cross-validation over our own tables:
scripts/intent_examples.py --calibrate) — a guess below it stays a knowledge question.

Why naive Bayes in pure Python: ~1 000 short examples, ~40 classes; training is one pass of counting (well under a
second, in an executor) and a reading is a few hundred dictionary look-ups (far under a millisecond). A library
(scikit-learn, ~30 MB with scipy) would buy nothing at this size.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jieba

from bot.engines import EnginePer, Engines
from bot.segmenter import private_tokenizer
from bot.services import Shared

log = logging.getLogger(__name__)
EXAMPLES = Path(__file__).with_name("intent_examples.jsonl")
CUSTOMER, PERSON = "{客户}", "{同事}"  # how the examples write a name; the reader maps them to one mark each
_MARKS = {CUSTOMER: "\ue000", PERSON: "\ue001"}
_PHONE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
ALPHA = 0.1  # additive smoothing: small, the classes are small
# the best intent's log-odds over the runner-up, per feature of the message, below which the model's guess is not
# taken (scripts/intent_examples.py --calibrate: leave-one-table-out over our tables)
MIN_MARGIN = 0.3
# lower when the reading names one of the caller's leads or customers (a knowledge question names none)
MIN_MARGIN_NAMED = 0.05

Example = tuple[str, str, str]  # role, text (names as {客户} / {同事}), intent


def masked(text: str, customers: Iterable[str] = (), people: Iterable[str] = ()) -> str:
    """The text with the caller's customers' and colleagues' names as the examples write them (longest first)."""
    for name, mark in sorted([(n, CUSTOMER) for n in customers if n] + [(n, PERSON) for n in people if n],
                             key=lambda p: -len(p[0])):
        text = text.replace(name, mark)
    return text


def features(text: str, role: str, words: jieba.Tokenizer) -> list[str]:
    """Character 1–3 grams (a mobile number as one mark, any other number as another) and jieba words (`words`: a
    tokenizer of jieba's dictionary, bot/segmenter.private_tokenizer)."""
    t = _PHONE.sub("☎", text.lower())
    for said, mark in _MARKS.items():
        t = t.replace(said, mark)
    t = re.sub(r"\d+", "#", t)
    t = re.sub(r"\s+", " ", t).strip()
    padded = f"^{t}$"
    grams = [padded[i:i + n] for n in (1, 2, 3) for i in range(len(padded) - n + 1) if padded[i:i + n].strip()]
    return [*grams, *(f"w:{w}" for w in words.lcut(t, HMM=False) if w.strip()), f"r:{role}"]


@dataclass
class IntentModel:
    """Multinomial naive Bayes: per feature, the log-probability under each intent."""

    intents: list[str]
    prior: list[float]
    weights: dict[str, list[float]] = field(repr=False)
    words: jieba.Tokenizer = field(repr=False)  # how its examples were cut, and so every message

    def classify(self, text: str, role: str) -> tuple[str, float]:
        """(the likeliest intent, its log-odds margin over the runner-up per feature of the message)."""
        scores = list(self.prior)
        said = features(text, role, self.words)
        for f in said:
            w = self.weights.get(f)
            if w is not None:  # a feature no example had says nothing
                for i, v in enumerate(w):
                    scores[i] += v
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        return self.intents[order[0]], (scores[order[0]] - scores[order[1]]) / len(said)


def train(examples: Iterable[Example], words: jieba.Tokenizer) -> IntentModel:
    counts: dict[str, Counter[str]] = {}
    docs: Counter[str] = Counter()
    for role, text, intent in examples:
        counts.setdefault(intent, Counter()).update(features(text, role, words))
        docs[intent] += 1
    intents = sorted(counts)
    vocab = sorted({f for c in counts.values() for f in c})
    total = sum(docs.values())
    denom = [sum(counts[i].values()) + ALPHA * len(vocab) for i in intents]
    weights = {f: [math.log((counts[i][f] + ALPHA) / d) for i, d in zip(intents, denom, strict=True)] for f in vocab}
    return IntentModel(intents, [math.log(docs[i] / total) for i in intents], weights, words)


def load_examples(path: Path = EXAMPLES) -> list[Example]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["role"], r["text"], r["intent"]) for r in rows]


def shipped_model(engines: Engines, path: Path = EXAMPLES) -> IntentModel:
    """The model of the shipped examples, with a tokenizer of `engines`' jieba dictionary (blocking: jieba and
    counting; a process trains it once per holder, `SHIPPED`)."""
    return train(load_examples(path), private_tokenizer(engines))


# the shipped examples' model, built from code and machine only: kept by the `Engines` holder whose jieba cuts it
# (the key), so every services of a process (a test worker's many) shares one training
SHIPPED: EnginePer[Engines, IntentModel] = EnginePer("intent_model.shipped", shipped_model)


class ModelSlot:
    """The services' one model: trained in an executor on first need (start-up warms it), awaited by every
    message that comes before it is ready."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._task: asyncio.Future[IntentModel] | None = None
        self._failed = False

    async def get(self) -> IntentModel | None:
        """The model, or None when it could not be trained (logged once; the rules read alone)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().run_in_executor(None, self._engines.get_for, SHIPPED,
                                                                    self._engines)
        try:
            return await self._task
        except Exception:
            if not self._failed:
                log.exception("intent model not trained; the reader runs on its rules alone")
            self._failed = True
            return None


READER = Shared("intent_model", lambda s: ModelSlot(s.engines))  # the learned reader, trained once (start-up warms it)
