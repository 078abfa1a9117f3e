"""File uploads on the web console served by `salesbot serve` itself (`[server] console_port = 0`, the default):
续约 导入, 知识库 导入 and 成员 导入 answered 500 (`Could not find starting boundary`) because serve's HTTP edge read
every POST body ahead of the handler, and the console's upload handlers stream theirs (audit 18b, F1). A real
`salesbot serve` process, a real log-in link, multipart uploads as a browser sends them."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from aiohttp import ClientSession, CookieJar, FormData

from tests.conftest import sqlite_url
from tests.fakes.wecom_api import FakeWecom
from tests.servers import ROOT, Server, wecom_env


async def _link(env: dict[str, str], user: str) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "admin", "link", user, cwd=ROOT,
                                                env=env, stdout=asyncio.subprocess.PIPE)
    out, _err = await proc.communicate()
    assert proc.returncode == 0
    return next(word for word in out.decode().split() if "/admin/login?t=" in word)


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found, html[-2000:]
    return found.group(1)


def _file(name: str, text: str) -> FormData:
    form = FormData()
    form.add_field("file", text.encode("utf-8"), filename=name, content_type="text/csv")
    return form


async def test_console_uploads_work_when_serve_hosts_the_console(tmp_path: Path) -> None:
    async with FakeWecom(corp_id="wwserveupload01") as fake:
        env = wecom_env(sqlite_url(tmp_path), fake.corp_id, fake.secret, fake.base_url,
                        SALESBOT_SERVER_WARM_UP="false", SALESBOT_SERVER_SPOOL_DIR=str(tmp_path / "spool"))
        server = Server(tmp_path, env)
        await server.start()
        try:
            link = await _link(server.env, "admin01")
            token = link.split("t=", 1)[1]
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
                async with http.post(f"{server.url}/admin/login", data={"t": token}, allow_redirects=False) as resp:
                    assert resp.status == 303, await resp.text()

                async with http.get(f"{server.url}/admin/renewals") as resp:
                    csrf = _csrf(await resp.text())
                contracts = ("客户,公司,金额,开始日期,结束日期,负责人\n"
                             "无名氏,不存在公司,10000,2026-01-01,2026-12-31,rep01\n")
                async with http.post(f"{server.url}/admin/renewals/import?_csrf={csrf}",
                                     data=_file("合同台账.csv", contracts)) as resp:
                    page = await resp.text()
                    assert resp.status == 200, server.log_text()[-3000:]
                assert "合同台账.csv（合同）：1 行" in page and "第 2 行：找不到客户「无名氏" in page

                cards = "标题,行业,异议,话术,关键词\n门店担心回本太慢,零售,效果,按门店客流测算回本周期。,回本\n"
                async with http.post(f"{server.url}/admin/kb/import?_csrf={csrf}",
                                     data=_file("门店话术.csv", cards)) as resp:
                    page = await resp.text()
                    assert resp.status == 200, server.log_text()[-3000:]
                assert re.search(r'id="n-add">1<', page)

                members = "id,name,role,manager\nrep09,林小雨,rep,manager01\n"
                async with http.post(f"{server.url}/admin/members/import?_csrf={csrf}",
                                     data=_file("team.csv", members)) as resp:
                    page = await resp.text()
                    assert resp.status == 200, server.log_text()[-3000:]
                assert "已导入 1 位成员" in page
            assert "Could not find starting boundary" not in server.log_text()
        finally:
            await server.stop()
