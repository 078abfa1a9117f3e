"""Use cases. Each module owns a Router; `build_router` assembles them."""

from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    from handlers import admin, capture, console_link, escalation, front, help, knowledge, leads
    from handlers.checks import chat as checks

    root = Router("root")
    for module in (front, help, admin, console_link, leads, checks, capture, escalation, knowledge):
        root.include(module.router)
    return root
