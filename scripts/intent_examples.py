"""Build handlers/intent_examples.jsonl (the reader model's training examples) from our own utterance tables, and
calibrate the model's margin by cross-validation over them.

    .venv/bin/python scripts/intent_examples.py            # rewrite the examples file
    .venv/bin/python scripts/intent_examples.py --calibrate # leave-one-table-out: accuracy and coverage by margin

Sources: tests/utterances*.py and bench/data/front_heldout4..10 (names as {客户} / {同事}), and the knowledge
questions of bench/data/kb_queries_dev + kb_heldout_queries (as `knowledge`). Never front_heldout11 or later
(fresh tables that measure first-run accuracy), never the independent evaluation sets.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.engines import Engines  # noqa: E402
from bot.segmenter import private_tokenizer  # noqa: E402
from handlers.intent_model import CUSTOMER, EXAMPLES, PERSON, Example, masked, train  # noqa: E402
from tests.utterances import CUSTOMERS, ROWS, TEAM  # noqa: E402
from tests.utterances_heldout import HELDOUT  # noqa: E402
from tests.utterances_heldout2 import HELDOUT2  # noqa: E402
from tests.utterances_heldout3 import HELDOUT3  # noqa: E402

DATA = ROOT / "bench" / "data"
TRAIN_TABLES = range(4, 11)  # front_heldout4..10; 11 and later are first-run measures
KB_QUESTIONS = ("kb_queries_dev.jsonl", "kb_heldout_queries.jsonl")
# what only the rules can say (they depend on the card shown, on two commands at once, on a malformed number)
RULES_ONLY = frozenset({"unclear", "guess", "multi", "bad_id", "too_long"})


def _mask(text: str) -> str:
    return masked(text, [n for _i, n in CUSTOMERS], [n for pair in TEAM for n in pair])


def tables() -> dict[str, list[Example]]:
    found: dict[str, list[Example]] = {}
    for name, rows in (("utterances", ROWS), ("heldout", HELDOUT), ("heldout2", HELDOUT2), ("heldout3", HELDOUT3)):
        found[name] = [(role, _mask(text), intent) for role, text, intent, _slots in rows]
    for n in TRAIN_TABLES:
        lines = (DATA / f"front_heldout{n}.jsonl").read_text(encoding="utf-8").splitlines()
        found[f"front{n}"] = [(r["role"], _mask(r["text"]), r["intent"]) for r in map(json.loads, filter(None, lines))]
    for name in KB_QUESTIONS:
        lines = (DATA / name).read_text(encoding="utf-8").splitlines()
        found[name] = [("rep", json.loads(line)["q"], "knowledge") for line in lines if line.strip()]
    return {k: [e for e in v if e[2] not in RULES_ONLY] for k, v in found.items()}


def write() -> None:
    rows = list(dict.fromkeys(e for rows in tables().values() for e in rows))
    EXAMPLES.write_text("".join(json.dumps({"role": r, "text": t, "intent": i}, ensure_ascii=False) + "\n"
                                for r, t, i in rows), encoding="utf-8")
    print(f"{len(rows)} examples, {len({i for _r, _t, i in rows})} intents → {EXAMPLES.relative_to(ROOT)}")
    assert CUSTOMER and PERSON


def calibrate() -> None:
    """Leave one table out: the model trained on the rest reads it; per margin threshold, how many non-knowledge
    readings it would take (coverage), how many of those are right, and how many knowledge questions it diverts."""
    found = tables()
    seen: list[tuple[str, float, str]] = []  # (predicted, margin, wanted)
    words = private_tokenizer(Engines())  # no services here: jieba's dictionary for this run
    for name, rows in found.items():
        model = train((e for other, rs in found.items() if other != name for e in rs), words)
        seen += [(*model.classify(text, role), want) for role, text, want in rows]
    print(f"{'margin':>6} {'taken':>6} {'right':>6} {'prec':>6} {'kb diverted':>12}")
    knowledge = sum(w == "knowledge" for _p, _m, w in seen)
    for cut in (0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
        taken = [(p, w) for p, m, w in seen if m >= cut and p != "knowledge"]
        right = sum(p == w for p, w in taken)
        diverted = sum(w == "knowledge" for _p, w in taken)
        print(f"{cut:>6} {len(taken):>6} {right:>6} {right / max(1, len(taken)):>6.3f} {diverted:>6}/{knowledge}")
    print("confusions at 0.3:", Counter((p, w) for p, m, w in seen if p != w and m >= 0.3).most_common(12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true")
    if parser.parse_args().calibrate:
        calibrate()
    else:
        write()


if __name__ == "__main__":
    main()
