"""`salesbot ocr [--now ISO] [--json] IMAGE...` (CLI contract: ../shared/design.md §4, JSON §6).

Also runnable on its own: `python -m app.commands.ocr --json img.png`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import CN_TZ, SystemClock, fmt_cn, to_cn
from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.engines import Engines

FIELD_CN = (("customer_name", "客户"), ("company", "公司"), ("title", "职位"), ("phone", "手机"), ("email", "邮箱"),
            ("wechat_id", "微信"), ("budget_cny", "预算"), ("needs", "需求"), ("follow_up", "约定时间"))


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ocr", help="lead extraction from chat screenshots")
    _arguments(p)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--now", metavar="ISO", help="receive time for relative dates (default: now; naive = Asia/Shanghai)")
    p.add_argument("--json", action="store_true", help="one JSON line per image (design §6)")
    p.add_argument("--explain", metavar="OUT.png", help="draw what the layout found in IMAGE into OUT.png")
    p.add_argument("--catalog", metavar="FILE", help="products the company sells, one a line ([ocr] catalog)")
    p.add_argument("--config", metavar="F", help="TOML config (default: $SALESBOT_CONFIG, ./config.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=run)


def _parse_now(raw: str | None) -> datetime:
    if not raw:
        return to_cn(SystemClock().now())
    when = datetime.fromisoformat(raw)
    return when.replace(tzinfo=CN_TZ) if when.tzinfo is None else when


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from ocr.pipeline import OcrRejected, lead_to_json, no_lead, read_screenshot

    try:
        now = _parse_now(args.now)
    except ValueError:
        print(f"salesbot ocr: --now must be ISO 8601, got {args.now!r}", file=sys.stderr)
        return 2
    if args.explain:
        return await explain_image(args.explain, args.images, settings)
    ocr_settings = settings.ocr
    if args.catalog:
        if not Path(args.catalog).is_file():
            print(f"salesbot ocr: catalog file not found: {args.catalog}", file=sys.stderr)
            return 2
        ocr_settings = dataclasses.replace(ocr_settings, catalog=args.catalog)
    failures, engines = 0, Engines()  # no services here: the command keeps its OCR engine and threads itself
    for path in args.images:
        try:
            data = Path(path).read_bytes()
            lead = await read_screenshot(data, now=now, settings=ocr_settings, engines=engines)
        except OSError as exc:
            failures += 1
            _emit_error(args.json, path, "unreadable", f"读不到文件：{exc.strerror or exc}")
            continue
        except OcrRejected as exc:
            failures += 1
            _emit_error(args.json, path, exc.code, exc.message_cn)
            continue
        if args.json:
            out = lead_to_json(path, lead if lead.is_lead else no_lead(lead))
            out["is_lead"] = lead.is_lead
            out["reject_reason"] = lead.reject_reason
            print(json.dumps(out, ensure_ascii=False), flush=True)
        else:
            print(summary(path, lead), flush=True)
    return 1 if failures == len(args.images) else 0


async def explain_image(out: str, images: list[str], settings: Settings) -> int:
    """`--explain OUT.png IMAGE`: the layout drawn over the image (one image)."""
    from ocr.explain import explain
    from ocr.pipeline import OcrRejected, validate
    from ocr.screen import locate

    if len(images) != 1:
        print("salesbot ocr: --explain takes exactly one IMAGE", file=sys.stderr)
        return 2
    try:
        img = validate(Path(images[0]).read_bytes(), settings.ocr)
    except OSError as exc:
        print(f"{images[0]}: 读不到文件：{exc.strerror or exc}")
        return 1
    except OcrRejected as exc:
        print(f"{images[0]}: {exc.message_cn}")
        return 1
    found = await asyncio.get_running_loop().run_in_executor(None, locate, img)
    explain(img, found).save(out)
    kinds = {"phone": "手机截图", "pane": "电脑/平板聊天窗口", "photo": "拍屏照片", "page": "未找到聊天布局"}
    bubbles = sum(1 for r in found.layout.regions if r.kind in ("left", "right"))
    print(f"{images[0]}: {kinds[found.kind]}，{bubbles} 个气泡 → {out}")
    return 0


def _emit_error(as_json: bool, path: str, code: str, message: str) -> None:
    if as_json:
        print(json.dumps({"file": path, "error": code, "message": message}, ensure_ascii=False), flush=True)
    else:
        print(f"{path}: {message}", flush=True)


def summary(path: str, lead: Any) -> str:
    """Readable Chinese summary of one screenshot."""
    lines = [f"【{path}】"]
    if not lead.is_lead:
        from ocr.negatives import looks_like

        seen = looks_like(lead.reject_reason)
        lines.append(f"未识别到线索：{'这张图' + seen if seen else '没有找到客户信息'}")
        return "\n".join(lines)
    for key, label in FIELD_CN:
        value = getattr(lead, key)
        if key == "needs":
            value = "、".join(value) if value else None
        elif key == "budget_cny" and value is not None:
            value = f"{value / 10000:g}万元" if value >= 10000 else f"{value}元"
        elif key == "follow_up" and value is not None:
            value = fmt_cn(value)
        lines.append(f"{label}：{value if value is not None else '未知'}")
    lines.append(f"置信度：{lead.confidence:.0%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="salesbot ocr", description="lead extraction from chat screenshots")
    _arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(resolve_config_path(args.config))
    except ConfigError as exc:
        print(f"salesbot: config error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
