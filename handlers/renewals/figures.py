"""The digest's renewal rate. Over the team's contracts that ended in the last `PERIOD`, each counted once by its
own outcome: the status imported on the contract wins (已续约 → renewed, 未续约 → lost, whatever other contracts
the account has); without one, renewed when followed by its renewal (a contract of the same customer starting at
its end or at most `accounts.RENEWAL_OVERLAP_DAYS` before it: an add-on that starts mid-term is none) or answered
with a renewal proof; anything else is unknown — never counted as renewed. Rate = renewed / (renewed + lost), 未知 when
no contract's outcome is known, and the digest says how many are unknown. The digest also names the customers
whose 续约预警 is still open (soonest end first), so the manager knows whom to ask about."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.phrases import UNNAMED_CUSTOMER
from bot.usertext import user_text
from handlers.renewals.accounts import renewed_by_later
from storage.models import Contract, Lead, RenewalWarning, User

PERIOD = timedelta(days=90)
WARNED_SHOWN = 5


@dataclass(frozen=True)
class RenewalFigures:
    renewed: int
    lost: int
    unknown: int
    warned: tuple[str, ...] = ()  # 「#12 李明 · 东方制造（张伟，12-31 到期，已联系）」 of each open warning
    warned_total: int = 0

    @property
    def total(self) -> int:
        return self.renewed + self.lost + self.unknown

    @property
    def rate(self) -> float | None:
        known = self.renewed + self.lost
        return self.renewed / known if known else None

    def text(self) -> str:
        rate = "未知" if self.rate is None else f"{self.rate:.0%}（{self.renewed}/{self.renewed + self.lost}）"
        return (f"续约率 {rate} · 近 {PERIOD.days} 天到期 {self.total} 份：续约 {self.renewed} · 未续约 {self.lost}"
                f" · 状态未知 {self.unknown}（未知不计为续约）")

    def warned_text(self) -> str:
        more = f" 等 {self.warned_total} 个" if self.warned_total > len(self.warned) else ""
        return f"续约预警待处理 {self.warned_total} 个客户：{'；'.join(self.warned)}{more}"


async def renewal_figures(session: AsyncSession, owners: Collection[str] | None, today: date) -> RenewalFigures:
    """`owners` None: every contract; else the contracts those users own."""
    renewed_since = renewed_by_later() | exists().where(RenewalWarning.contract_id == Contract.id,
                                                        RenewalWarning.status == "proof")
    status = case((Contract.renewal == "renewed", "renewed"), (Contract.renewal == "lost", "lost"),
                  (renewed_since, "renewed"), else_="unknown")
    stmt = (select(status, func.count()).where(Contract.end_on >= today - PERIOD, Contract.end_on < today)
            .group_by(status))
    if owners is not None:
        stmt = stmt.where(Contract.owner_id.in_(list(owners)))
    counts: dict[str, int] = {str(k): int(v) for k, v in (await session.execute(stmt)).all()}
    warned, total = await _warned(session, owners)
    return RenewalFigures(counts.get("renewed", 0), counts.get("lost", 0), counts.get("unknown", 0), warned, total)


async def _warned(session: AsyncSession, owners: Collection[str] | None) -> tuple[tuple[str, ...], int]:
    """The open warnings' customers and owners (user-written names: each channel escapes them), soonest end
    first."""
    stmt = (select(RenewalWarning.status, Contract.end_on, Lead.id, Lead.customer_name, Lead.company,
                   User.name.label("owner"))
            .join(Contract, Contract.id == RenewalWarning.contract_id).join(Lead, Lead.id == RenewalWarning.lead_id)
            .outerjoin(User, User.id == RenewalWarning.owner_id)
            .where(RenewalWarning.status.in_(("open", "contacted"))).order_by(Contract.end_on, RenewalWarning.id))
    if owners is not None:
        stmt = stmt.where(RenewalWarning.owner_id.in_(list(owners)))
    rows = (await session.execute(stmt)).all()
    shown = tuple(f"#{r.id} {user_text(r.customer_name or UNNAMED_CUSTOMER)}"
                  + (f" · {user_text(r.company)}" if r.company else "")
                  + f"（{user_text(r.owner) + '，' if r.owner else ''}{r.end_on.month}-{r.end_on.day:02d} 到期"
                  + f"{'，已联系' if r.status == 'contacted' else ''}）"
                  for r in rows[:WARNED_SHOWN])
    return shown, len(rows)
