"""Use cases. Each module owns a Router; `build_router` assembles them."""

from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    from handlers import admin, capture, escalation, front, help, knowledge, leads

    root = Router("root")
    for module in (front, help, admin, leads, capture, escalation, knowledge):
        root.include(module.router)
    return root
