"""Use cases. Each module owns a Router; `build_router` assembles them."""

from __future__ import annotations

from bot.context import Context
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
