"""Screenshots of every web console page (desktop and phone width), plus each page's render time.

    .venv/bin/python -m bench.console_shots [--out DIR] [--cards N] [--leads N]

Starts the console on a temporary SQLite database with the demo org and demo cards (and, with --cards/--leads,
that many generated cards and leads), signs in as an admin through a one-time link in a headless Chromium
(/usr/bin/chromium, driven by Playwright), saves DIR/<page>-desktop.png and DIR/<page>-phone.png, and prints
each page's server time (median and p95 of 20 GETs) measured with an HTTP client.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.console_load import start as console_on_loopback
from bot.config import DatabaseSettings, Settings
from bot.login_links import issue_link
from bot.messages import Outbound, Text
from bot.outbox import enqueue
from bot.services import Services
from knowledge.store import log_query
from storage.leads import new_lead
from storage.models import OutboxMessage

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["team", "leads", "lead", "kb", "kb-edit", "kb-import", "hits", "gaps", "taxonomy", "members", "calendar",
         "outbox", "system"]
WORDS = ["价格", "交付", "预算", "竞品", "售后", "试点", "回款", "合同", "培训", "上线", "维保", "折扣"]


async def seed(services: Services, cards: int, leads: int) -> int:
    """Leads (the first few with a story), gaps, a dead letter, and optional bulk cards; returns a lead id."""
    from handlers.knowledge import knowledge_base
    from knowledge.importer import import_cards_into
    from knowledge.schema import KbCard

    now = services.clock.now()
    rng = random.Random(7)
    if cards:
        bulk = [KbCard(id=f"B{i:05d}", title=f"{rng.choice(WORDS)}问题第{i}条", objection="价格",
                       talk_track=f"{rng.choice(WORDS)}、{rng.choice(WORDS)}：这是第 {i} 条生成的话术。")
                for i in range(cards)]
        await import_cards_into(services.db, knowledge_base(services), bulk, now)
    owners = ["rep01", "rep02", "rep03", "rep04", "rep05"]
    async with services.db.session() as session:
        first = None
        for i in range(max(leads, 12)):
            lead = new_lead({"customer_name": f"客户{i}", "company": f"样例公司{i}", "phone": f"139{i:08d}"},
                            source="import", by="bench", now=now, status="active")
            lead.owner_id, lead.assigned_at = owners[i % 5], now
            session.add(lead)
            if first is None:
                await session.flush()
                first = lead.id
        for q in ("客户问能不能只买一半模块", "对方说要走招标流程", "对方说要走招标流程吗"):
            await log_query(session, user_id="rep01", query=q, ranked=[], scores=[], answered=False,
                            shown_card=None, now=now)
        await enqueue(session, [Outbound("rep02", Text("周会纪要提醒"), channel="console", dedup_key="bench:dead")],
                      now, "console")
        await session.flush()
        row = (await session.execute(OutboxMessage.__table__.select().where(
            OutboxMessage.dedup_key == "bench:dead"))).first()
        await session.execute(OutboxMessage.__table__.update().where(OutboxMessage.id == row.id).values(
            status="dead", attempts=24, last_error="HTTP 503"))
    assert first is not None
    return first


def paths(lead_id: int) -> dict[str, str]:
    return {"team": "/admin/team", "leads": "/admin/leads", "lead": f"/admin/leads/{lead_id}", "kb": "/admin/kb",
            "kb-edit": "/admin/kb/K001", "kb-import": "/admin/kb/import", "hits": "/admin/hits?q=客户嫌价格太贵",
            "gaps": "/admin/gaps", "taxonomy": "/admin/taxonomy", "members": "/admin/members",
            "calendar": "/admin/calendar", "outbox": "/admin/outbox", "system": "/admin/system"}


async def start(db_url: str) -> tuple[Services, web.AppRunner, str]:
    base = Settings()
    return await console_on_loopback(replace(base, database=DatabaseSettings(url=db_url),
                                             server=replace(base.server, warm_up=False)))


async def link(services: Services, base: str) -> str:
    async with services.db.session() as session:
        url = await issue_link(session, "admin01", services.clock.now(), base)
    assert url is not None
    return url


async def timings(services: Services, base: str, pages: dict[str, str], rounds: int = 20) -> dict[str, list[float]]:
    token = (await link(services, base)).split("t=", 1)[1]
    out: dict[str, list[float]] = {}
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP host
        await http.post("/admin/login", data={"t": token}, allow_redirects=False)
        for name, path in pages.items():
            samples = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                async with http.get(path) as resp:
                    await resp.read()
                    assert resp.status == 200, (path, resp.status)
                samples.append((time.perf_counter() - t0) * 1000)
            out[name] = samples
    return out


def shoot(new_link: Any, pages: dict[str, str], base: str, out: Path) -> None:
    """Every page at desktop and phone width; each browser context signs in with its own one-time link."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for label, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
            context = browser.new_context(viewport=viewport, locale="zh-CN")
            page = context.new_page()
            page.goto(new_link())
            page.wait_for_url("**/admin/*")
            for name, path in pages.items():
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
            context.close()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/out/console", help="where the PNGs go")
    parser.add_argument("--cards", type=int, default=0, help="extra generated cards (e.g. 20000)")
    parser.add_argument("--leads", type=int, default=0, help="generated leads (e.g. 10000)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"console_shots: no Chromium at {CHROMIUM} (scripts/setup installs it)", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(1800)

    with tempfile.TemporaryDirectory() as tmp:
        services, runner, base = run(start(f"sqlite+aiosqlite:///{tmp}/console.db"))
        lead_id = run(seed(services, args.cards, args.leads))
        pages = paths(lead_id)
        stats = run(timings(services, base, pages))
        shoot(lambda: run(link(services, base)), pages, base, out)
        run(runner.cleanup())
        run(services.db.dispose())
    loop.call_soon_threadsafe(loop.stop)
    print(f"cards=demo+{args.cards} leads={max(args.leads, 12)}  (server time per page, 20 GETs each)")
    for name, samples in stats.items():
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"  {name:<10} p50={statistics.median(samples):6.1f} ms  p95={p95:6.1f} ms")
    print(f"screenshots: {out}/<page>-desktop.png and -phone.png ({len(pages) * 2} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
