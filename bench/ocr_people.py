"""Who the customer is — name, company, job title — on chat transcripts written for it (bench/data/people_*.json):
cropped chats with no title bar, remark forms, DingTalk subtitles, titles said in passing, signatures, typed
「新线索 …」 leads, and traps (a verb phrase, a rep's 「X经理」, 「X总」, 「叫我小X」). Text level: no OCR.

    python -m bench.ocr_people [--errors] [--drawn] [FILES…]

--drawn reads the cases of DRAWN as screenshots instead (tests/synth_people.py draws them; the cropped ones with
no title bar), through the real pipeline with tesseract.

Matching follows ocr-dev's score.py: a name exactly; a company equal to an alias or, within the longest alias,
containing the shortest; a title equal to an alias or containing one with at most four characters more. A key
the case leaves out is not scored.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import LeadFields, extract, extract_from_text
from ocr.people import NameLists

FILES = [Path(__file__).parent / "data" / n
         for n in ("people_dev.json", "people_heldout.json", "people_gases.json", "people_kitchen.json")]
KEYS = ("customer_name", "company", "title")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=CN_TZ)


# the cases drawn as screenshots: cropped chats, WeCom and DingTalk titles, signatures
DRAWN = {
    "linen-crop",
    "fork-inpassing",
    "cold-crop-two",
    "toner-crop",
    "lift-wecom",
    "park-ding",
    "food-signature",
    "fire-sig-lines",
    "h-crop-two",
    "h-port-crop",
    "h-sig-lines",
    "h-ding-area",
}


def read(case: dict, names: NameLists, drawn: bool = False) -> LeadFields:
    if drawn:
        from bot.config import OcrSettings
        from ocr.pipeline import read_image, validate
        from tests.conftest import ENGINES
        from tests.synth_people import draw

        settings = OcrSettings()
        return read_image(validate(draw(case, 7), settings), NOW, settings, engines=ENGINES)
    if "typed" in case:
        return extract_from_text(case["typed"], NOW, names=names)
    title = [TextRegion("title", case["title"])] if case["title"] else []
    return extract(ChatText((*title, *(TextRegion(k, t) for k, t in case["items"])), True), NOW, names=names)


def matches(key: str, gold: str, got: str, case: dict) -> bool:
    aliases = [gold, *case.get(f"{key}_aliases", ())]
    if key == "customer_name":
        return got == gold
    if key == "company":
        longest, shortest = max(aliases, key=len), min(aliases, key=len)
        return got in aliases or (shortest in got and got in longest)
    return got in aliases or any(a in got and len(got) <= len(a) + 4 for a in aliases)


def score(path: Path, names: NameLists, errors: bool, drawn: bool) -> None:
    tally = {k: [0, 0, 0] for k in KEYS}  # tp, fp, fn
    for case in json.loads(path.read_text(encoding="utf-8")):
        if drawn and case["id"] not in DRAWN:
            continue
        lead = read(case, names, drawn)
        for key in (k for k in KEYS if k in case["want"]):
            gold, got = case["want"][key], getattr(lead, key)
            ok = gold is not None and got is not None and matches(key, gold, got, case)
            t = tally[key]
            t[0] += ok
            t[1] += got is not None and not ok
            t[2] += gold is not None and not ok
            if errors and (got is not None or gold is not None) and not ok:
                print(f"  {case['id']:18} {key:14} want {gold!s:14} got {got}")
    print(path.name)
    for key, (tp, fp, fn) in tally.items():
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        print(f"  {key:14} recall {r:.2f}  precision {p:.2f}  (tp {tp} fp {fp} fn {fn})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path, default=FILES)
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--drawn", action="store_true")
    a = ap.parse_args()
    names = NameLists()
    for path in a.files:
        score(path, names, a.errors, a.drawn)


if __name__ == "__main__":
    main()
