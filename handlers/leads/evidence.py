"""Evidence files (screenshots, contracts, payment slips): one store, one layout, atomic writes.

A file is kept once by its content hash at `<evidence_dir>/<sha256[:2]>/<sha256><suffix>`: the same screenshot
backing two leads is one file. Writes go to a `.part` file renamed into place, so a crash never leaves half a
file under the final name. Disk work runs in the executor, before the handler's transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from pathlib import Path


class EvidenceStore:
    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def path_for(self, digest: str, file_name: str | None, default_suffix: str = ".img") -> Path:
        suffix = Path(file_name or "").suffix.lower()[:8] or default_suffix
        return self.folder / digest[:2] / f"{digest}{suffix}"

    async def keep(self, data: bytes, file_name: str | None, default_suffix: str = ".img") -> tuple[str, str]:
        """Store `data` once; returns (sha256, path)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest, file_name, default_suffix)

        def write() -> None:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(path.suffix + ".part")
                tmp.write_bytes(data)
                tmp.replace(path)

        await asyncio.get_running_loop().run_in_executor(None, write)
        return digest, str(path)

    @staticmethod
    async def forget(paths: Iterable[Path]) -> None:
        """Delete files no evidence row uses any more (missing ones are fine)."""
        todo = list(paths)

        def unlink() -> None:
            for path in todo:
                path.unlink(missing_ok=True)

        if todo:
            await asyncio.get_running_loop().run_in_executor(None, unlink)
