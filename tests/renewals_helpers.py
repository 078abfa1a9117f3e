"""Shared set-up of the renewal tests: a small customer base and its contract and payment files."""

from __future__ import annotations

from pathlib import Path

from bot.services import Services
from tests.leads_helpers import cn, seed_lead

CONTRACTS_CSV = """客户,公司,电话,金额,开始日期,结束日期,负责人,健康分
李明,东方制造有限公司,139 0000 0001,12万,2025-12-01,2026-12-31,rep01,
赵六,北辰物流,,80000,2025/12/15,2027/1/10,张伟,
孙七,南山食品,,50000,2025-12-20,2026-12-20,rep01,85
周八,西岭建材,,30000,2026-12-01,2026-01-01,rep01,
无名氏,不存在公司,,10000,2025-12-01,2026-12-31,rep01,
"""

PAYMENTS_ROWS = [("customer", "paid_at", "amount"), ("赵六", "2026-11-01", 30000), ("李明", "2026-05-01", 50000),
                 ("赵六", "2026-10-01", -500)]


async def seed_customers(services: Services) -> dict[str, int]:
    """Won leads for four customers of rep01, plus one open lead at the first customer's company."""
    won = {"li": ("李明", "东方制造有限公司", "13900000001"), "zhao": ("赵六", "北辰物流", None),
           "sun": ("孙七", "南山食品", None), "zhou": ("周八", "西岭建材", None)}
    ids = {}
    for key, (name, company, phone) in won.items():
        ids[key] = await seed_lead(services, "rep01", status="won", stage="close", assigned_at=cn(2, 10),
                                   customer_name=name, company=company, phone=phone)
    ids["other"] = await seed_lead(services, "rep01", stage="discover", assigned_at=cn(20, 10),
                                   customer_name="王五", company="东方制造", phone="13900000002")
    return ids


def write_files(tmp: Path) -> tuple[Path, Path]:
    from openpyxl import Workbook

    contracts = tmp / "合同台账.csv"
    contracts.write_text(CONTRACTS_CSV, encoding="utf-8-sig")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in PAYMENTS_ROWS:
        sheet.append(list(row))
    payments = tmp / "payments.xlsx"
    book.save(payments)
    return contracts, payments
