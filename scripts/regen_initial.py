"""Dev tool: regenerate storage/migrations/versions/0001_initial.py from the models (pre-release only).
Kept out of the package (the wheel ships storage/, not this).

    .venv/bin/python scripts/regen_initial.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from storage.migrate import alembic_config

VERSIONS = Path(__file__).resolve().parents[1] / "storage" / "migrations" / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/empty.db"
        command.revision(alembic_config(url), message="initial", autogenerate=True, rev_id="0001")
    for new in VERSIONS.glob("0001_*.py"):
        new.rename(VERSIONS / "0001_initial.py")
    print("wrote", VERSIONS / "0001_initial.py")


if __name__ == "__main__":
    main()
