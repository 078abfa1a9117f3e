"""Typed settings from TOML, overridable by environment variables `SALESBOT_<SECTION>_<KEY>`.

A missing or wrong key stops start-up with one `ConfigError` line naming the key and what was
expected. With no file at all, the embedded default (SQLite + demo org) is used.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """One clear line: which key, what was expected, what was found."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_kb: int = 1024  # callbacks larger than this get HTTP 413
    max_inflight: int = 200  # background handler tasks at once; beyond that callbacks wait
    read_timeout_s: float = 10.0  # a request body must arrive within this, else 408 and the connection closes
    max_slow_reads: int = 256  # request bodies still arriving at once; beyond that 503 (slow-client cap)
    header_timeout_s: float = 10.0  # a new connection must send its request head within this, else it is closed
    max_waiting_connections: int = 512  # connections waiting for their request head; beyond, the oldest is closed
    spool_dir: str = "data/spool"  # verified callbacks wait here while the database is unreachable ("" = off)
    tick_seconds: float = 5.0  # reminder ticker and outbox sender interval
    warm_up: bool = True  # load the knowledge index and jieba dictionaries at start, not on the first message
    log_format: str = "text"  # "text" (one readable line) | "json" (one JSON object a line, for log collectors)
    shutdown_grace_s: float = 30.0  # on SIGTERM: at most this long to finish handlers and deliver their answers
    replay_grace_s: float = 120.0  # an ACKed message unhandled this long (its instance died) is replayed
    replay_interval_s: float = 60.0  # how often each instance looks for such messages
    public_url: str = ""  # base of links the bot sends (console login); empty → http://127.0.0.1:<port>
    console_idle_minutes: int = 30  # a web console session ends after this long without a request
    console_port: int = 0  # 0: /admin/ served by `serve` itself; N: by a `salesbot console` child on port N
    handler_process: bool = True  # true: messages are handled in a `serve --role handlers` child (a second core)

    @property
    def base_url(self) -> str:
        """Where the web console's links point: `public_url`, else the local console port."""
        return (self.public_url or f"http://127.0.0.1:{self.console_port or self.port}").rstrip("/")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///salesbot.db"  # the common sync forms are given the async driver (below)
    echo: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", async_database_url(self.url))


ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
_told: set[str] = set()


def async_database_url(url: str) -> str:
    """`sqlite:///x.db`, `postgresql://…`, `postgres://…`, `postgresql+psycopg2://…`: the same database through
    the async driver salesbot runs on (aiosqlite / asyncpg), said once in the log. psycopg's `sslmode=` becomes
    asyncpg's `ssl=`. Anything else (another database, a broken URL) is returned unchanged for the CLI's error."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    wanted = ASYNC_DRIVERS.get(parsed.get_backend_name())
    if wanted is None or parsed.drivername == wanted:
        return url
    if "sslmode" in parsed.query and wanted.endswith("asyncpg"):
        parsed = parsed.update_query_dict({"ssl": parsed.query["sslmode"]}).difference_update_query(["sslmode"])
    fixed = parsed.set(drivername=wanted).render_as_string(hide_password=False)
    if url not in _told:
        _told.add(url)
        import logging

        logging.getLogger(__name__).info("[database] url %s: using the async driver (%s)",
                                         parsed.render_as_string(hide_password=True).split("://", 1)[0] + "://…",
                                         wanted)
    return fixed


@dataclass(frozen=True)
class WecomSettings:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    timestamp_window_s: int = 300  # callbacks older/newer than this are replays → 403

    @property
    def enabled(self) -> bool:
        return bool(self.corp_id and self.token and self.encoding_aes_key)


@dataclass(frozen=True)
class DingtalkSettings:
    mode: str = "stream"  # "stream" | "http"
    client_id: str = ""
    client_secret: str = ""
    robot_code: str = ""  # empty → client_id (an internal app's robot uses its AppKey)
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"  # legacy host, only for media/upload (sending images)
    per_user_per_minute: int = 20  # outbound throttle per recipient; DingTalk reports success over limits
    corp_id: str = ""  # the organisation's corpId: messages for another chatbotCorpId are refused (empty → any)
    group_conversations: list[str] = field(default_factory=list)  # group chats the robot serves (empty → any)
    # DingTalk's JSAPI, loaded by the console's 免登 page inside DingTalk (needs corp_id) to get an authCode
    jsapi_url: str = "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js"

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def own_robot_code(self) -> str:
        return self.robot_code or self.client_id


@dataclass(frozen=True)
class OcrSettings:
    engine: str = "tesseract"  # "tesseract" | "rapidocr"
    lang: str = "chi_sim"
    max_image_mb: float = 10.0
    max_pixels: int = 40_000_000  # decompression-bomb guard
    timeout_s: float = 30.0
    workers: int = 2  # OCR jobs at once
    evidence_dir: str = "data/evidence"
    merge_window_s: int = 60  # screenshots of one chat within this window merge into one draft
    catalog: str = ""  # the company's products, one per line (+ synonyms); empty → ocr/needs.toml
    # our own company's names and short names: a chat whose title or counterpart company is one of them is a
    # colleague's, never a lead
    own_company: list[str] = field(default_factory=list)
    mode: str = "inline"  # "inline": the webhook process reads screenshots; "worker": `salesbot worker ocr` does
    job_lease_s: float = 120.0  # worker mode: a claimed job whose worker is silent this long is claimed again
    job_attempts: int = 3  # worker mode: a job that failed this many times gets a failure reply instead


@dataclass(frozen=True)
class KnowledgeSettings:
    seed_demo: bool = True  # load the shipped demo cards into an empty knowledge base
    stale_months: int = 12
    top_k: int = 3
    taxonomy_path: str = ""  # empty → knowledge/taxonomy.toml shipped with the package
    # 知识萃取: an objection or competitor in reps' visit summaries joins the gaps queue when no card answers it
    field_min_reps: int = 2  # said by at least this many reps
    field_min_notes: int = 3  # in at least this many summaries
    field_days: int = 30  # within this many days


@dataclass(frozen=True)
class LlmSettings:
    enabled: bool = False
    base_url: str = "https://api.openai.com/v1"
    api_key: str = ""
    model: str = "gpt-4o-mini"
    timeout_s: float = 2.0
    intent: bool = False  # with `enabled`: also ask the model about messages the rules read as knowledge questions
    rerank: bool = False  # when the best knowledge cards are close, let the model pick one (by id only)


@dataclass(frozen=True)
class AsrSettings:
    """Speech to text for voice notes that arrive without the channel's own recognition (WeCom AMR)."""

    enabled: bool = False
    base_url: str = "https://api.openai.com/v1"  # OpenAI-compatible: POST {base_url}/audio/transcriptions
    api_key: str = ""
    model: str = "whisper-1"
    language: str = "zh"
    timeout_s: float = 15.0
    max_seconds: int = 120  # longer voice notes are refused (DingTalk's recognised ones too)
    ffmpeg: str = "ffmpeg"  # decodes AMR to the WAV the endpoint accepts


@dataclass(frozen=True)
class RemindersSettings:
    timezone: str = "Asia/Shanghai"
    work_start: str = "09:00"
    work_end: str = "18:00"
    first_contact_hours: float = 2.0
    stage_stall_days: float = 3.0
    cadence_days: list[int] = field(default_factory=lambda: [1, 3, 7, 14])
    high_value_cny: int = 500_000
    dormancy_days: int = 45
    follow_up_before_min: int = 15
    warn_fraction: float = 0.75  # a warning at this share of the SLA window
    max_level: int = 3
    snooze_max_hours: float = 24.0
    lease_s: int = 60
    digest_time: str = "09:30"


@dataclass(frozen=True)
class ChecksSettings:
    """Cross-checks on what reps enter (handlers/checks) and the evidence each stage needs."""

    enabled: bool = True
    budget_factor: float = 10.0  # 🔴 when a budget is this many times above/below the team's median for its industry
    budget_min_history: int = 5  # fewer known budgets in that industry → the default range below is used
    budget_default_min_cny: int = 1_000
    budget_default_max_cny: int = 20_000_000
    repeat_min_chars: int = 8  # shorter follow-up summaries (未接通) may repeat without a flag
    # What proves each stage (asked at the stage change; a jump over a stage needs its proof too):
    # contact, need, chat, demo, contract, payment, receipt
    gate_qualify: list[str] = field(default_factory=lambda: ["contact", "need"])
    gate_discover: list[str] = field(default_factory=list)
    gate_demo: list[str] = field(default_factory=lambda: ["demo"])
    gate_close: list[str] = field(default_factory=lambda: ["contract", "payment"])
    cleanup_day: int = 1  # day of the month the 「数据清洁日」 list goes out with the digest (0 = never)

    def gate(self, stage: str) -> tuple[str, ...]:
        return tuple(getattr(self, f"gate_{stage}", ()) or ())


@dataclass(frozen=True)
class RenewalsSettings:
    """Renewal early warning (handlers/renewals): which contracts are at risk, and the warning's ladder."""

    window_days: int = 90  # a contract ending within this many days is looked at
    quiet_payment_days: int = 90  # …and no payment on the account for this many days
    health_below: int = 60  # …and the account's health under this → 续约预警
    scan_time: str = "09:30"  # daily scan on working days, local time ("" = only after imports, `contracts scan`)
    respond_days: float = 2.0  # working days per escalation step while nobody answers the warning


@dataclass(frozen=True)
class RampSettings:
    """New-rep ramp-up (新人通关, handlers/ramp): what stays locked until a rep finishes the path, and how
    the default path and its quizzes are made."""

    # rights locked until the path is done: "close" (move a lead to 签约回款 or mark it won) and "pool"
    # (receive pool leads — nobody's, or frozen — by assignment or a manager's 改派; a manager's 改派 of a lead
    # another rep owns stays allowed)
    rights: list[str] = field(default_factory=lambda: ["close", "pool"])
    enroll_new_reps: bool = True  # reps added by `salesbot org import` (or the console's import) start the path
    questions: int = 2  # right answers a quiz task needs, unless its line says 题数=N
    choices: int = 4  # options of a multiple-choice question (the right card + cards of the same objection)
    read_cards: int = 5  # cards a reading task shows, unless its line says 张数=N
    answer_minutes: int = 30  # a typed reply counts as the answer to a written question this long after it
    wrong_per_round: int = 2  # wrong multiple-choice answers that end a quiz round (its right answers count again)
    retry_hours: float = 12.0  # a quiz round lost opens again this much later: guessing has a cost
    # the shadowing tasks of the default path (each confirmed by the rep's manager)
    shadow_tasks: list[str] = field(default_factory=lambda: [
        "旁听一次主管或老销售的客户电话", "陪同主管拜访一次客户", "在主管陪同下独立完成一次方案演示"])


@dataclass(frozen=True)
class AuditSettings:
    anchor_time: str = "09:00"  # local time the chain's head hash goes to the admins each day ("" = never)


@dataclass(frozen=True)
class OrgUser:
    id: str
    name: str
    role: str = "rep"
    manager: str = ""
    region: str = ""
    product_lines: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    capacity: int = 30
    work_start: str = ""  # own working hours, e.g. "10:00"; empty → the manager's (team), else [reminders]
    work_end: str = ""


@dataclass(frozen=True)
class OrgSettings:
    auto_register: bool = True
    default_channel: str = ""  # where reminders go for users never seen; empty → first enabled channel
    demo: bool = True  # seed the demo org (admin01, manager01/02, rep01–rep05) into an empty database
    users: list[OrgUser] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    wecom: WecomSettings = field(default_factory=WecomSettings)
    dingtalk: DingtalkSettings = field(default_factory=DingtalkSettings)
    ocr: OcrSettings = field(default_factory=OcrSettings)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    reminders: RemindersSettings = field(default_factory=RemindersSettings)
    org: OrgSettings = field(default_factory=OrgSettings)
    checks: ChecksSettings = field(default_factory=ChecksSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    renewals: RenewalsSettings = field(default_factory=RenewalsSettings)
    ramp: RampSettings = field(default_factory=RampSettings)
    source: str = "built-in defaults"

    @property
    def default_channel(self) -> str:
        """Where messages go for a user we have never heard from: `[org] default_channel`, else the first
        enabled channel, else the console."""
        if self.org.default_channel:
            return self.org.default_channel
        return next((n for n in ("wecom", "dingtalk") if getattr(self, n).enabled), "console")


CHOICES = {("dingtalk", "mode"): {"stream", "http"}, ("server", "log_format"): {"text", "json"},
           ("ocr", "engine"): {"tesseract", "rapidocr"}, ("ocr", "mode"): {"inline", "worker"}}
ROLES = {"rep", "manager", "admin"}


def resolve_config_path(given: str | None) -> Path | None:
    """--config F, else $SALESBOT_CONFIG, else ./config.toml if present, else None (defaults)."""
    if given:
        return Path(given)
    if os.environ.get("SALESBOT_CONFIG"):
        return Path(os.environ["SALESBOT_CONFIG"])
    local = Path("config.toml")
    return local if local.exists() else None


def load_settings(path: Path | str | None = None, env: typing.Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} not found")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    sections: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name == "source":
            continue
        section_raw = raw.pop(f.name, {})
        if not isinstance(section_raw, dict):
            raise ConfigError(f"[{f.name}] must be a table, got {type(section_raw).__name__}")
        sections[f.name] = _build_section(f.name, typing.get_type_hints(Settings)[f.name], section_raw, env)
    if raw:
        raise ConfigError(f"unknown section [{sorted(raw)[0]}] (known: {', '.join(sections)})")
    settings = Settings(**sections, source=str(path) if path else "built-in defaults")
    _check_org(settings.org)
    _check_console_port(settings.server)
    return settings


def _check_console_port(server: ServerSettings) -> None:
    if not 0 <= server.console_port <= 65535:
        raise ConfigError(f"server.console_port must be 0 (console in serve's process) or a port, "
                          f"got {server.console_port}")
    if server.console_port and server.console_port == server.port:
        raise ConfigError(f"server.console_port must differ from server.port ({server.port}): the console "
                          "runs in a process of its own")


def _build_section(name: str, cls: type, values: dict[str, Any], env: typing.Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown key {name}.{sorted(unknown)[0]} (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {}
    for key in known:
        env_key = f"SALESBOT_{name.upper()}_{key.upper()}"
        if env_key in env:
            kwargs[key] = _coerce(f"{env_key}", hints[key], env[env_key], from_env=True)
        elif key in values:
            kwargs[key] = _coerce(f"{name}.{key}", hints[key], values[key], from_env=False)
        choices = CHOICES.get((name, key))
        if choices and key in kwargs and kwargs[key] not in choices:
            raise ConfigError(f"{name}.{key} must be one of {sorted(choices)}, got {kwargs[key]!r}")
    return cls(**kwargs)


def _coerce(where: str, hint: Any, value: Any, *, from_env: bool) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if from_env:
            value = [v.strip() for v in str(value).split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(f"{where}[{i}]", item, v, from_env=from_env) for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        names = {f.name for f in dataclasses.fields(hint)}
        if set(value) - names:
            raise ConfigError(f"{where}: unknown key {sorted(set(value) - names)[0]}")
        sub = typing.get_type_hints(hint)
        try:
            return hint(**{k: _coerce(f"{where}.{k}", sub[k], v, from_env=False) for k, v in value.items()})
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if hint is bool:
        if isinstance(value, bool):
            return value
        if from_env and str(value).lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return str(value).lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if isinstance(value, int | float) and (hint is float or isinstance(value, int)):
            return hint(value)
        if from_env:
            try:
                return hint(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected {'an integer' if hint is int else 'a number'}, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _check_org(org: OrgSettings) -> None:
    ids = {u.id for u in org.users}
    for u in org.users:
        if u.role not in ROLES:
            raise ConfigError(f"org.users[{u.id}].role must be one of {sorted(ROLES)}, got {u.role!r}")
        if u.manager and u.manager not in ids:
            raise ConfigError(f"org.users[{u.id}].manager {u.manager!r} is not a user in [[org.users]]")
