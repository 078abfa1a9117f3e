"""Use cases. Each module owns a Router; `build_router` assembles them."""

from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    from handlers import admin, capture, escalation, help, knowledge, leads
    from handlers.checks import chat as checks

    root = Router("root")
    for module in (help, admin, leads, checks, capture, escalation, knowledge):
        root.include(module.router)
    return root
