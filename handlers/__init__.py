"""Use cases. Each module owns a Router; `build_router` assembles them, `build_imports` the file imports."""

from __future__ import annotations

from bot.context import Context
from bot.jobs import ImportKind
from bot.router import Router


def build_router() -> Router[Context]:
    from handlers.chat import (
        admin,
        capture,
        checks,
        console_link,
        escalation,
        front,
        help,
        knowledge,
        leads,
        ramp,
        renewals,
        voice,
    )
    from handlers.leads.chat_gate import lead_gate

    root: Router[Context] = Router("root", lead_gate=lead_gate)
    for module in (front, help, admin, console_link, leads, checks, capture, ramp, escalation, voice, renewals,
                   knowledge):
        root.include(module.router)
    return root


def build_imports() -> dict[str, ImportKind]:
    """The durable file imports by kind (bot/jobs.py), given to the services when they are built."""
    from handlers.chat.knowledge import CARDS_IMPORT
    from handlers.chat.renewals import CONTRACTS_IMPORT

    return {"knowledge": CARDS_IMPORT, "contracts": CONTRACTS_IMPORT}
