"""The console channel: `salesbot chat` talks to the same router, handlers, outbox and ticker."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.messages import Body, Button, Card, CardUpdate, Image, Markdown, Text, numbered, plain_text
from bot.usertext import escape_body, identity


@dataclass(frozen=True)
class ShownCard:
    card_ref: str
    buttons: tuple[Button, ...]


def to_json_line(recipient: str, body: Body) -> dict[str, Any]:
    """The `--json` contract: {"to","kind","title","text","buttons":[{"key","text"}]}."""
    title, buttons = "", []
    if isinstance(body, Card):
        title = body.title
        buttons = [{"key": b.key, "text": b.text} for b in body.buttons]
        lines = [body.description] if body.description else []
        lines += [f"{f.label}: {f.value}" for f in body.fields]
        if body.note:
            lines.append(body.note)
        text = "\n".join(lines)
    elif isinstance(body, Markdown):
        title, text = body.title, body.text
    elif isinstance(body, Image):
        title, text = body.file_name, body.caption
    elif isinstance(body, CardUpdate | Text):
        text = body.text
    return {"to": recipient, "kind": body.kind, "title": title, "text": text, "buttons": buttons}


class ConsoleChannel:
    name = "console"

    def __init__(self, write: Callable[[str], None], *, json_mode: bool = False) -> None:
        self.write = write
        self.json_mode = json_mode
        self.last_card: dict[str, ShownCard] = {}  # recipient → the last card with buttons

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        body = escape_body(body, identity)  # plain text: what users wrote is shown as written
        if isinstance(body, Card) and body.buttons:
            self.last_card[recipient] = ShownCard(card_ref=body.card_id or dedup_key, buttons=body.buttons)
        if self.json_mode:
            self.write(json.dumps(to_json_line(recipient, body), ensure_ascii=False))
        else:
            self.write(_pretty(recipient, body))
        return {}

    def find_button(self, recipient: str, wanted: str) -> tuple[ShownCard, Button] | None:
        """A button of the last card sent to `recipient`: by key, else by text, else by 1-based position."""
        shown = self.last_card.get(recipient)
        if shown is None:
            return None
        button = (next((b for b in shown.buttons if b.key == wanted), None)
                  or next((b for b in shown.buttons if b.text == wanted), None)
                  or (numbered(shown.buttons, int(wanted)) if wanted.isdigit() else None))
        return (shown, button) if button is not None else None


def _pretty(recipient: str, body: Body) -> str:
    text = plain_text(body)
    indented = "\n".join("   " + line for line in text.splitlines())
    return f"→ {recipient}:\n{indented}"
