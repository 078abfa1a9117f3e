"""Console page render time at scale: 20,000 cards and 10,000 leads with their history (issue 16 target:
every page ≤ 200 ms p95).

    .venv/bin/python -m bench.console_load [--cards 20000] [--leads 10000] [--rounds 40] [--db URL]
                                           [--only NAME,NAME] [--profile NAME]

Seeds a temporary SQLite database (or `--db postgresql+asyncpg://…`, emptied and migrated) with the demo org plus
50 invented reps in 5 more teams, `--cards` generated cards (imported through the importer, tokens included), and
`--leads` leads spread over every status and stage, each with its activities (follow-ups, stage moves, an
assignment), a pending timer, and for some of them flags, evidence, contracts with payments and renewal warnings;
plus a query log with unanswered questions (the gaps queue), audit rows, outbox rows (delivered, pending, dead).

Then serves the console in this process (aiohttp, as `salesbot serve` mounts it), signs in as the admin and as
manager01 through one-time links, and GETs every page `--rounds` times one after another over HTTP, printing each
page's p50 / p95 / max server time (the first request of a page, which fills per-process caches, is reported
apart as "first"). `--profile NAME` runs that page under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.console import mount_console
from app.runtime import build_services
from bot.clock import SystemClock
from bot.config import DatabaseSettings, Settings
from bot.login_links import issue_link
from bot.services import Services
from storage.models import (
    Activity,
    AuditLog,
    Contract,
    Evidence,
    Lead,
    LeadFlag,
    OutboxMessage,
    Payment,
    QueryLog,
    Reminder,
    RenewalWarning,
    User,
)

WORDS = ["价格", "交付", "预算", "竞品", "售后", "试点", "回款", "合同", "培训", "上线", "维保", "折扣", "分期", "接口",
         "部署", "审批", "招标", "续费", "演示", "验收"]
STAGES = ["new", "qualify", "discover", "demo", "close"]
STATUSES = ["active"] * 6 + ["frozen", "dormant", "won", "lost"]
INDUSTRIES = ["制造", "教育", "医疗", "零售", "金融", None]
EXTRA_TEAMS, TEAM_SIZE = 5, 10


async def seed(services: Services, n_cards: int, n_leads: int, rng: random.Random) -> None:
    """Everything the console reads, at the given scale; returns ids the page list needs."""
    from handlers.knowledge import knowledge_base
    from knowledge.importer import import_cards_into
    from knowledge.schema import KbCard

    now = services.clock.now()
    t0 = time.perf_counter()
    if n_cards:
        kb = knowledge_base(services)
        objections = list(kb.taxonomy.values.get("objection", ())) or [None]
        roles = [*list(kb.taxonomy.values.get("role", ())), None]
        industries = [*list(kb.taxonomy.values.get("industry", ())), None]
        bulk = [KbCard(id=f"B{i:05d}", title=f"{rng.choice(WORDS)}{rng.choice(WORDS)}问题第{i}条",
                       role=rng.choice(roles), industry=rng.choice(industries), objection=rng.choice(objections),
                       talk_track="，".join(rng.choice(WORDS) for _ in range(12)) + f"：第 {i} 条生成的话术。",
                       keywords=tuple(rng.sample(WORDS, 2)),
                       updated_at=date(2024 + i % 3, 1 + i % 12, 1 + i % 28))
                for i in range(n_cards)]
        await import_cards_into(services.db, kb, bulk, now)
    t_cards = time.perf_counter() - t0
    async with services.db.session() as session:
        managers = [f"bm{t:02d}" for t in range(EXTRA_TEAMS)]
        users = [{"id": m, "name": f"主管{t}", "role": "manager", "manager_id": None} for t, m in enumerate(managers)]
        users += [{"id": f"br{t:02d}{i:02d}", "name": f"销售{t}{i}", "role": "rep",
                   "manager_id": "manager01" if t == 0 else managers[t]}
                  for t in range(EXTRA_TEAMS) for i in range(TEAM_SIZE)]
        for u in users:
            u.update(product_lines=[], industries=[], capacity=30, active=True, created_at=now)
        await session.execute(insert(User), users)
        reps = [u["id"] for u in users if u["role"] == "rep"] + ["rep01", "rep02", "rep03", "rep04", "rep05"]
        leads, acts, timers, flags, evidence, contracts, payments, warnings = [], [], [], [], [], [], [], []
        for i in range(1, n_leads + 1):
            status = rng.choice(STATUSES)
            owner = None if rng.random() < 0.03 and status == "active" else rng.choice(reps)
            created = now - timedelta(days=rng.randrange(0, 180), minutes=rng.randrange(0, 1440))
            stage = "close" if status == "won" else rng.choice(STAGES)
            leads.append({
                "id": i, "owner_id": owner, "customer_name": f"客户{i}", "company": f"{rng.choice(WORDS)}科技{i}号公司",
                "phone": f"139{i:08d}", "title": rng.choice(["经理", "总监", "采购", None]),
                "industry": rng.choice(INDUSTRIES), "budget_cny": rng.randrange(1, 500) * 10_000,
                "needs": rng.sample(WORDS, 2), "stage": stage, "status": status, "source": "import",
                "field_sources": {}, "extra": {"insights": {"异议": [rng.choice(WORDS)]}} if i % 4 == 0 else {},
                "created_at": created, "assigned_at": created if owner else None,
                "first_contact_at": created + timedelta(hours=rng.randrange(1, 48)) if rng.random() < 0.8 else None,
                "last_activity_at": now - timedelta(hours=rng.randrange(1, 24 * 60)),
                "stage_changed_at": created, "timeout_count": rng.randrange(0, 3),
                "frozen_at": now - timedelta(hours=5) if status == "frozen" else None})
            for k in range(rng.randrange(3, 9)):
                acts.append({"lead_id": i, "actor_id": owner, "kind": rng.choice(["follow_up", "follow_up", "stage",
                                                                                   "assign", "contact"]),
                             "summary": f"电话沟通{rng.choice(WORDS)}，客户关注{rng.choice(WORDS)}",
                             "detail": {}, "created_at": created + timedelta(hours=6 * k + 1)})
            if status in ("active", "frozen"):
                timers.append({"lead_id": i, "rule": rng.choice(["first_contact", "cadence", "stage_stall"]),
                               "due_at": now + timedelta(hours=rng.randrange(-48, 96)), "level": 1,
                               "status": "pending", "payload": {}, "created_at": created})
            if i % 9 == 0:
                flags.append({"lead_id": i, "rule": "bench", "subject": "", "level": rng.choice(["red", "yellow"]),
                              "reason": "同一客户在两条线索里", "status": rng.choice(["open", "answered", "cleared"]),
                              "owner_id": owner, "created_at": now, "updated_at": now})
            if i % 13 == 0:
                evidence.append({"lead_id": i, "kind": "note", "note": "客户确认采购意向", "proof": "chat",
                                 "added_by": owner, "created_at": now})
            if status == "won":
                end = now.date() + timedelta(days=rng.randrange(-200, 400))
                contracts.append({"id": len(contracts) + 1, "lead_id": i, "customer": f"客户{i}",
                                  "company": f"科技{i}号公司", "amount_cny": rng.randrange(10, 200) * 10_000,
                                  "start_on": end - timedelta(days=365), "end_on": end, "owner_id": owner,
                                  "health": rng.randrange(0, 100) if rng.random() < 0.5 else None,
                                  "created_at": now, "updated_at": now})
                for k in range(3):
                    payments.append({"lead_id": i, "paid_on": end - timedelta(days=300 - 90 * k),
                                     "amount_cny": 10_000 * (k + 1), "created_at": now})
                if rng.random() < 0.2:
                    warnings.append({"contract_id": len(contracts), "lead_id": i, "owner_id": owner,
                                     "company": f"科技{i}号公司", "health": rng.randrange(0, 50),
                                     "health_source": "computed", "status": "open", "locked": rng.random() < 0.5,
                                     "created_at": now})
        for table, rows in ((Lead, leads), (Activity, acts), (Reminder, timers), (LeadFlag, flags),
                            (Evidence, evidence), (Contract, contracts), (Payment, payments),
                            (RenewalWarning, warnings)):
            for lo in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[lo:lo + 2000])
        queries = [{"user_id": rng.choice(reps),
                    "query": f"客户说{rng.choice(WORDS)}{rng.choice(WORDS)}怎么办{i % 300}",
                    "ranked": [], "scores": [], "answered": rng.random() < 0.7, "shown_card": None,
                    "created_at": now - timedelta(hours=rng.randrange(0, 24 * 30))} for i in range(5000)]
        await session.execute(insert(QueryLog), queries)
        audits = [{"actor_id": "admin01", "action": "kb.card.update", "target": f"card:B{i % max(1, n_cards):05d}",
                   "detail": {"changed": ["话术"]}, "created_at": now} for i in range(5000)]
        await session.execute(insert(AuditLog), audits)
        outbox = [{"channel": "console", "recipient": rng.choice(reps), "kind": "text",
                   "payload": {"type": "text", "text": f"提醒{i}"}, "dedup_key": f"bench:{i}",
                   "status": "delivered" if i % 50 else ("dead" if i % 100 else "pending"), "attempts": 1,
                   "next_attempt_at": now + timedelta(hours=1), "last_error": "HTTP 503" if i % 100 == 50 else None,
                   "created_at": now} for i in range(20_000)]
        await session.execute(insert(OutboxMessage), outbox)
    if services.db.is_sqlite:
        async with services.db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    print(f"seeded {n_cards} cards in {t_cards:.0f} s; {n_leads} leads, {len(acts)} activities, {len(timers)} timers, "
          f"{len(flags)} flags, {len(contracts)} contracts, {len(payments)} payments, {len(warnings)} renewal "
          f"warnings, 5000 queries, 20000 outbox rows in {time.perf_counter() - t0 - t_cards:.0f} s")


async def page_ids(services: Services) -> dict[str, Any]:
    async with services.db.session() as session:
        n = int(await session.scalar(select(func.max(Lead.id))) or 1)
        team_lead = await session.scalar(select(Lead.id).join(User, User.id == Lead.owner_id)
                                         .where(User.manager_id == "manager01").order_by(Lead.id.desc()).limit(1))
    return {"lead": n // 2, "team_lead": team_lead or n // 2}


def pages(ids: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """name → (user, path)."""
    a, m = "admin01", "manager01"
    return {
        "team (admin)": (a, "/admin/team"), "team (manager)": (m, "/admin/team"),
        "team chart": (a, "/admin/team/chart.png"),
        "leads": (a, "/admin/leads"), "leads p.100": (a, "/admin/leads?page=100&status=all"),
        "leads search": (a, "/admin/leads?q=科技"), "leads (manager)": (m, "/admin/leads"),
        "lead": (a, f"/admin/leads/{ids['lead']}"), "lead (manager)": (m, f"/admin/leads/{ids['team_lead']}"),
        "kb": (a, "/admin/kb"), "kb p.200": (a, "/admin/kb?page=200"), "kb search": (a, "/admin/kb?q=交付"),
        "kb stale": (a, "/admin/kb?stale=1&objection=价格"), "kb edit": (a, "/admin/kb/B00042"),
        "kb import": (a, "/admin/kb/import"), "hits": (a, "/admin/hits?q=客户嫌价格太贵怎么回"),
        "gaps": (a, "/admin/gaps"), "taxonomy": (a, "/admin/taxonomy"), "members": (a, "/admin/members"),
        "members (manager)": (m, "/admin/members"), "calendar": (a, "/admin/calendar"),
        "outbox": (a, "/admin/outbox"), "system": (a, "/admin/system"), "renewals": (a, "/admin/renewals"),
        "renewals (manager)": (m, "/admin/renewals"),
        "ramp": (a, "/admin/ramp"),
    }


async def start(settings: Settings) -> tuple[Services, web.AppRunner, str]:
    services = await build_services(settings, SystemClock(), {})
    app = web.Application()
    mount_console(app, services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return services, runner, f"http://127.0.0.1:{port}"


async def signed_in(services: Services, base: str, user: str) -> aiohttp.ClientSession:
    async with services.db.session() as session:
        url = await issue_link(session, user, services.clock.now(), base)
    assert url is not None
    http = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    resp = await http.post("/admin/login", data={"t": url.split("t=", 1)[1]}, allow_redirects=False)
    assert resp.status == 303, resp.status
    return http


async def time_pages(services: Services, base: str, todo: dict[str, tuple[str, str]], rounds: int
                     ) -> dict[str, tuple[float, list[float], float]]:
    clients = {u: await signed_in(services, base, u) for u in {u for u, _ in todo.values()}}
    out: dict[str, tuple[float, list[float], float]] = {}
    try:
        for name, (user, path) in todo.items():
            samples = []
            cpu0 = 0.0
            for i in range(rounds + 1):
                if i == 1:
                    cpu0 = time.process_time()
                t0 = time.perf_counter()
                async with clients[user].get(path, allow_redirects=False) as resp:
                    await resp.read()
                    assert resp.status == 200, (name, path, resp.status)
                samples.append((time.perf_counter() - t0) * 1000)
            out[name] = (samples[0], samples[1:], (time.process_time() - cpu0) * 1000 / rounds)
            if os.environ.get("BENCH_SAMPLES"):
                print(name, [round(x) for x in samples])
    finally:
        for http in clients.values():
            await http.close()
    return out


async def profile_page(services: Services, base: str, user: str, path: str, rounds: int) -> str:
    http = await signed_in(services, base, user)
    prof = cProfile.Profile()
    try:
        async with http.get(path) as resp:  # warm
            await resp.read()
        prof.enable()
        for _ in range(rounds):
            async with http.get(path) as resp:
                await resp.read()
        prof.disable()
    finally:
        await http.close()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(45)
    return buf.getvalue()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


async def main(args: argparse.Namespace) -> int:
    base_settings = Settings()
    tmp = tempfile.mkdtemp(prefix="salesbot-console-load-")
    reuse = bool(args.keep) and Path(args.keep).exists()
    url = args.db or f"sqlite+aiosqlite:///{args.keep or tmp + '/console.db'}"
    if args.db:
        from bench.renewals import reset_postgres
        from storage.migrate import upgrade

        await reset_postgres(args.db)
        await upgrade(args.db)
    settings = replace(base_settings, database=DatabaseSettings(url=url))
    services, runner, base = await start(settings)
    try:
        if not reuse:
            await seed(services, args.cards, args.leads, random.Random(16))
        ids = await page_ids(services)
        from app.console.leads import REPORTS

        boards = services.shared(REPORTS)  # the start-up board was of the empty database: not a figure
        await asyncio.gather(*boards.building.values(), return_exceptions=True)
        boards.ready.clear()
        from app.runtime import warm_up

        await warm_up(services)  # the index and dictionaries, as `salesbot serve` loads them after it starts
        todo = pages(ids)
        if args.only:
            todo = {k: v for k, v in todo.items() if k in args.only.split(",")}
        if args.profile:
            user, path = pages(ids)[args.profile]
            print(await profile_page(services, base, user, path, args.rounds))
            return 0
        load_before = os.getloadavg()
        stats = await time_pages(services, base, todo, args.rounds)
        load_after = os.getloadavg()
    finally:
        await runner.cleanup()
        await services.db.dispose()
    backend = "PostgreSQL" if args.db else "SQLite"
    print(f"{backend}, {args.cards} cards + demo, {args.leads} leads; {args.rounds} GETs per page one after another; "
          f"{os.cpu_count()} cores, load average {load_before[0]:.1f} before / {load_after[0]:.1f} after")
    print(f"  {'page':<20} {'first':>8} {'p50':>8} {'p95':>8} {'max':>8} {'CPU':>8}   (ms; CPU: this process's "
          "CPU time per GET, client included, whatever the load)")
    worst = 0.0
    for name, (first, samples, cpu) in stats.items():
        worst = max(worst, p95(samples))
        print(f"  {name:<20} {first:8.1f} {statistics.median(samples):8.1f} {p95(samples):8.1f} {max(samples):8.1f}"
              f" {cpu:8.1f}"
              + ("   > 200 ms" if p95(samples) > 200 else ""))
    print(f"worst p95 {worst:.1f} ms (target ≤ 200 ms)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40, help="GETs per page (after the first)")
    parser.add_argument("--db", default="", help="PostgreSQL URL (emptied); default: a temporary SQLite file")
    parser.add_argument("--keep", default="", metavar="FILE", help="SQLite file: seeded once, reused when it exists "
                        "(the schema is migrated to the current head on start)")
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--profile", default="", metavar="PAGE", help="cProfile one page instead of timing all")
    sys.exit(asyncio.run(main(parser.parse_args())))
