"""The digest's renewal rate. Over the team's contracts that ended in the last `PERIOD`: renewed = marked
已续约 on import, followed by a later contract of the same customer, or answered with a renewal proof; lost =
marked 未续约; anything else is unknown — never counted as renewed. Rate = renewed / (renewed + lost), 未知 when
no contract's outcome is known, and the digest says how many are unknown."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Contract, RenewalWarning

PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class RenewalFigures:
    renewed: int
    lost: int
    unknown: int

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


async def renewal_figures(session: AsyncSession, owners: Collection[str] | None, today: date) -> RenewalFigures:
    """`owners` None: every contract; else the contracts those users own."""
    later = aliased(Contract)
    renewed = ((Contract.renewal == "renewed")
               | exists().where(later.lead_id == Contract.lead_id, later.start_on > Contract.start_on)
               | exists().where(RenewalWarning.contract_id == Contract.id, RenewalWarning.status == "proof"))
    status = case((renewed, "renewed"), (Contract.renewal == "lost", "lost"), else_="unknown")
    stmt = (select(status, func.count()).where(Contract.end_on >= today - PERIOD, Contract.end_on < today)
            .group_by(status))
    if owners is not None:
        stmt = stmt.where(Contract.owner_id.in_(list(owners)))
    counts: dict[str, int] = {str(k): int(v) for k, v in (await session.execute(stmt)).all()}
    return RenewalFigures(counts.get("renewed", 0), counts.get("lost", 0), counts.get("unknown", 0))
