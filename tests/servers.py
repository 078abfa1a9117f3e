"""Real `salesbot serve` processes for multi-instance tests, configured through SALESBOT_* variables."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

from aiohttp import ClientSession

from tests.fakes.wecom_harness import AES_KEY, AGENT_ID, TOKEN

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wecom_env(db_url: str, corp_id: str, secret: str, api_base: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SALESBOT_DATABASE_URL": db_url,
        "SALESBOT_WECOM_CORP_ID": corp_id, "SALESBOT_WECOM_AGENT_ID": str(AGENT_ID),
        "SALESBOT_WECOM_SECRET": secret, "SALESBOT_WECOM_TOKEN": TOKEN,
        "SALESBOT_WECOM_ENCODING_AES_KEY": AES_KEY, "SALESBOT_WECOM_API_BASE": api_base,
    }
    env.update(extra)
    return env


async def run_cli(env: dict[str, str], *argv: str) -> tuple[int, str]:
    """`salesbot ARGV…` as a subprocess → (exit code, stderr)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", *argv, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _out, err = await proc.communicate()
    return int(proc.returncode or 0), err.decode(errors="replace")


class Server:
    def __init__(self, tmp_path: Path, env: dict[str, str], name: str = "serve") -> None:
        self.port = free_port()
        self.log = tmp_path / f"{name}.log"
        self.env = {**env, "SALESBOT_SERVER_PORT": str(self.port)}
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def spawn(self) -> None:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "serve", cwd=ROOT, env=self.env, stdout=log, stderr=log)

    async def healthy(self, timeout_s: float = 120.0) -> None:
        assert self.proc is not None
        async with ClientSession() as http:
            for _ in range(int(timeout_s * 10)):
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except OSError:
                    pass
                assert self.proc.returncode is None, f"exited {self.proc.returncode}: {self.log_text()[-3000:]}"
                await asyncio.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log_text()[-3000:]}")

    async def start(self) -> None:
        await self.spawn()
        await self.healthy()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int | None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        return self.proc.returncode if self.proc else None
