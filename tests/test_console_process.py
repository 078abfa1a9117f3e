"""`[server] console_port`: `salesbot serve` runs the web console as a child process on its own port, so busy
console users cost the webhook's ACKs nothing but a core's share (issue 16: two console users raised the ACK p99
from 4 ms to 28 ms when the console rendered in serve's process). Links, log-in and pages work there; serve's own
/admin/ points to it; the child goes when serve goes, even after kill -9."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aiohttp import ClientSession, CookieJar

from tests.conftest import sqlite_url
from tests.fakes.wecom_api import FakeWecom
from tests.servers import ROOT, Server, free_port, wecom_env


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


async def _until_live(url: str, server: Server, timeout_s: float = 90.0) -> None:
    async with ClientSession() as http:
        for _ in range(int(timeout_s * 10)):
            try:
                async with http.get(f"{url}/healthz/live") as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"console did not start: {server.log_text()[-3000:]}")


async def _link(env: dict[str, str], user: str) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "admin", "link", user, cwd=ROOT,
                                                env=env, stdout=asyncio.subprocess.PIPE)
    out, _err = await proc.communicate()
    assert proc.returncode == 0
    return next(word for word in out.decode().split() if "/admin/login?t=" in word)


async def test_serve_runs_the_console_in_a_child_process_on_its_own_port(tmp_path: Path) -> None:
    console_port = free_port()
    async with FakeWecom(corp_id="wwconsoleproc01") as fake:
        env = wecom_env(sqlite_url(tmp_path), fake.corp_id, fake.secret, fake.base_url,
                        SALESBOT_SERVER_WARM_UP="false", SALESBOT_SERVER_CONSOLE_PORT=str(console_port),
                        SALESBOT_SERVER_SPOOL_DIR=str(tmp_path / "spool"))
        server = Server(tmp_path, env)
        await server.start()
        assert server.proc is not None
        console = f"http://127.0.0.1:{console_port}"
        consoles: list[int] = []
        try:
            await _until_live(console, server)
            consoles = [pid for pid in _children(server.proc.pid) if " console " in _cmdline(pid)]
            assert len(consoles) == 1, [_cmdline(pid) for pid in _children(server.proc.pid)]

            link = await _link({**env, "SALESBOT_SERVER_PORT": str(server.port)}, "admin01")
            assert link.startswith(f"{console}/admin/login?t="), link  # links point at the console's port
            token = link.split("t=", 1)[1]
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
                async with http.get(f"{server.url}/admin/kb?q=1", allow_redirects=False) as resp:
                    assert resp.status == 307  # serve's own /admin/ sends the browser to the console
                    assert resp.headers["Location"] == f"{console}/admin/kb?q=1"
                async with http.post(f"{console}/admin/login", data={"t": token}, allow_redirects=False) as resp:
                    assert resp.status in (302, 303), await resp.text()
                async with http.get(f"{console}/admin/kb") as resp:
                    assert resp.status == 200
                    assert "知识库" in await resp.text()

            await server.kill()  # kill -9: nothing stops the child but its own check
            for _ in range(100):
                if not _cmdline(consoles[0]) or _zombie(consoles[0]):
                    break
                await asyncio.sleep(0.1)
            assert not _cmdline(consoles[0]) or _zombie(consoles[0]), "the console outlived serve"
        finally:
            await server.stop()
            for pid in consoles:
                if " console " in _cmdline(pid) and not _zombie(pid):
                    os.kill(pid, 9)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


async def test_console_port_equal_to_port_is_refused(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_settings

    config = tmp_path / "config.toml"
    config.write_text("[server]\nport = 8090\nconsole_port = 8090\n", encoding="utf-8")
    try:
        load_settings(config, env={})
    except ConfigError as exc:
        assert "console_port" in str(exc)
    else:
        raise AssertionError("console_port = port was accepted")
