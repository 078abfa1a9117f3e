"""Phone, follow-up and company (and name, title, budget) on chat transcripts written for it, in a domain the
extractor was not written for (bench/data/fields_hvac.json: a heating/ventilation vendor, our company
「暖邦环境」): phone distractors (the rep's own number, a referrer's, landlines, 400 numbers, order and
tracking numbers, a number misread, a corrected number), times renegotiated against the chat's own
timestamps, companies in title-bar and spoken forms, typed 「新线索 …」 leads, and supplier-to-us / colleague /
friend negatives. Text level (no OCR) unless --drawn.

    python -m bench.ocr_fields [--split tune|held|all] [--errors] [--drawn]

The set was written before any tuning; its "held" half is never looked at while tuning. --drawn renders the
chat cases as WeChat / WeCom screenshots (tests/synth.render_chat) and reads them with tesseract.

Matching follows ocr-dev's score.py: a name exactly; a company equal to an alias or, within the longest alias,
containing the shortest; a title equal to an alias or containing one with at most four characters more; a
phone by its 11 digits; a follow-up "YYYY-MM-DD" by its date, "YYYY-MM-DDTHH:MM" by date, hour and minute. A
key a case leaves out is not scored; a negative is empty when it yields no lead.
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from datetime import datetime
from pathlib import Path

from ocr.engine import ChatText, TextRegion
from ocr.extract import LeadFields, extract, extract_from_text
from ocr.people import NameLists

SET = Path(__file__).parent / "data" / "fields_hvac.json"
KEYS = ("customer_name", "company", "title", "phone", "budget_cny", "follow_up")


def read(case: dict, now: datetime, own: tuple[str, ...], names: NameLists, drawn: bool) -> LeadFields:
    if "typed" in case:
        return extract_from_text(case["typed"], now, names=names)
    if drawn:
        return _drawn(case, now, own)
    title = [TextRegion("title", case["title"])] if case["title"] else []
    chat = ChatText((*title, *(TextRegion(k, t) for k, t in case["items"])), True)
    return extract(chat, now, names=names, own=own)


def _drawn(case: dict, now: datetime, own: tuple[str, ...]) -> LeadFields:
    from bot.config import OcrSettings
    from ocr.pipeline import read_image, validate
    from tests.conftest import ENGINES
    from tests.synth import Chat, Item, _jpeg, render_chat

    items = [Item(k, t) for k, t in case["items"]]
    name, at, company = case["title"].partition("@")
    chat = Chat("wecom", name, "@" + company, items) if at else Chat("wechat", name, None, items)
    img, _ = render_chat(chat, random.Random(zlib.crc32(case["id"].encode())), (1080, 2340), dark=False)
    settings = OcrSettings(own_company=list(own))
    return read_image(validate(_jpeg(img, 80), settings), now, settings, engines=ENGINES)


def value(lead: LeadFields, key: str) -> str | None:
    got = getattr(lead, key)
    if got is None:
        return None
    if key == "follow_up":
        return got.strftime("%Y-%m-%dT%H:%M")
    return str(got)


def matches(key: str, gold: str, got: str, case: dict) -> bool:
    aliases = [gold, *case.get(f"{key}_aliases", ())]
    if key == "company":
        longest, shortest = max(aliases, key=len), min(aliases, key=len)
        return got in aliases or (shortest in got and got in longest)
    if key == "title":
        return got in aliases or any(a in got and len(got) <= len(a) + 4 for a in aliases)
    if key == "follow_up":
        return got.startswith(gold) if "T" not in gold else got == gold
    return got == str(gold)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="all", choices=("tune", "held", "all"))
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--drawn", action="store_true", help="render the chat cases and read them with tesseract")
    ap.add_argument("--file", type=Path, default=SET)
    a = ap.parse_args()
    data = json.loads(a.file.read_text(encoding="utf-8"))
    own = tuple(data.get("own_company", ()))
    names = NameLists()
    tally = {k: [0, 0, 0] for k in KEYS}  # tp, fp, fn
    neg = [0, 0]
    for case in data["cases"]:
        if (a.split != "all" and case["split"] != a.split) or (a.drawn and "typed" in case):
            continue
        now = datetime.fromisoformat(case.get("now", data["now"]))
        lead = read(case, now, own, names, a.drawn)
        if case.get("negative"):
            neg[0] += not lead.is_lead
            neg[1] += 1
            if a.errors and lead.is_lead:
                print(f"  {case['id']:5} NEGATIVE gave a lead: {lead.company} {lead.phone} {lead.follow_up}")
            continue
        for key in (k for k in KEYS if k in case["want"]):
            gold, got = case["want"][key], value(lead, key) if lead.is_lead or lead.reject_reason == "no_details" \
                else None
            ok = gold is not None and got is not None and matches(key, gold, got, case)
            t = tally[key]
            t[0] += ok
            t[1] += got is not None and not ok
            t[2] += gold is not None and not ok
            if a.errors and (got is not None or gold is not None) and not ok:
                print(f"  {case['id']:5} {key:14} want {gold!s:18} got {got}")
    print(f"{a.file.name} · split {a.split}{' · drawn' if a.drawn else ''}")
    all_tp = all_fp = all_fn = 0
    for key, (tp, fp, fn) in tally.items():
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        f1 = 2 * p * r / max(1e-9, p + r)
        all_tp, all_fp, all_fn = all_tp + tp, all_fp + fp, all_fn + fn
        print(f"  {key:14} F1 {f1:.3f}  precision {p:.2f}  recall {r:.2f}  (tp {tp} fp {fp} fn {fn})")
    p, r = all_tp / max(1, all_tp + all_fp), all_tp / max(1, all_tp + all_fn)
    print(f"  overall field F1 {2 * p * r / max(1e-9, p + r):.3f} · negatives empty {neg[0]}/{neg[1]}")


if __name__ == "__main__":
    main()
