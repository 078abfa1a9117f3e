"""The rooms of docs/architecture.md, held against the code's imports (every import, also inside functions):
a room imports only rooms below it, so a move that sends an arrow back up fails here, not in a review."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("app", "handlers", "ocr", "knowledge", "reminders", "bot", "storage")
# room → what it must never import
NEVER: dict[str, tuple[str, ...]] = {
    "storage": ("app", "handlers", "ocr", "knowledge", "reminders", "bot"),
    "bot": ("app", "handlers", "ocr", "knowledge", "reminders"),
    "ocr": ("app", "handlers", "knowledge", "reminders"),
    "knowledge": ("app", "handlers", "ocr", "reminders"),
    "reminders": ("app", "handlers", "ocr", "knowledge"),
    "handlers": ("app",),
}
# handlers/: the use-case packages below leads/ never reach up into it or sideways into each other
BESIDE_LEADS = ("checks", "renewals", "ramp")


def _modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _files(folder: str) -> list[Path]:
    return [p for p in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in p.parts]


def _hits(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {m}" for p in files for m in set(_modules(p))
            if any(m == f or m.startswith(f + ".") for f in forbidden)]


@pytest.mark.parametrize("room", sorted(NEVER))
def test_a_room_imports_nothing_above_it(room: str) -> None:
    assert _hits(_files(room), NEVER[room]) == []


def test_nothing_imports_the_start_up_wiring() -> None:
    others = [p for room in OURS if room != "app" for p in _files(room)]
    assert _hits(others, ("app",)) == []


def test_the_core_of_bot_imports_no_channel() -> None:
    core = [p for p in _files("bot") if "channels" not in p.relative_to(ROOT).parts]
    assert _hits(core, ("bot.channels",)) == []


def test_chat_routes_are_imported_only_by_the_router_assembly() -> None:
    below = [p for p in _files("handlers")
             if "chat" not in p.relative_to(ROOT).parts and p != ROOT / "handlers" / "__init__.py"]
    outside = [p for room in OURS if room != "handlers" for p in _files(room)]
    assert _hits(below + outside, ("handlers.chat",)) == []


@pytest.mark.parametrize("package", BESIDE_LEADS)
def test_use_case_packages_below_leads_import_neither_leads_nor_each_other(package: str) -> None:
    others = tuple(f"handlers.{p}" for p in (*BESIDE_LEADS, "leads") if p != package)
    assert _hits(_files(f"handlers/{package}"), others) == []
