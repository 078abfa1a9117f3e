"""SQLAlchemy 2.x models. All datetimes are stored as UTC (naive on SQLite, aware on PostgreSQL).

Until the first release, `storage/migrations/versions/0001_initial.py` is regenerated from these
models; after that every change gets its own Alembic revision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use Clock.now() (aware UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite the text SQLAlchemy's own DATETIME would store ("YYYY-MM-DD HH:MM:SS.ffffff"), written in one
        step: the chain of this type's conversion and then the dialect's cost twice as much, paid by every
        datetime of every row a burst writes (handled marks, outbox rows, delivered marks)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def sqlite_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to storage; use Clock.now() (aware UTC)")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return sqlite_text

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # channel user id
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="rep")  # rep | manager | admin
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(32))
    product_lines: Mapped[list[Any]] = mapped_column(default=list)
    industries: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str | None] = mapped_column(String(16))  # where we last heard from the user
    work_start: Mapped[str | None] = mapped_column(String(5))  # "09:00"; None → team/default
    work_end: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime]


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        # the cross-checks (handlers/checks/flags.py): the team's budgets in an industry, newest first, and the
        # colleagues' leads whose company starts like this one's (PostgreSQL: LIKE 'prefix%' needs pattern ops)
        Index("ix_leads_industry_id", "industry", "id"),
        Index("ix_leads_company", "company", postgresql_ops={"company": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(128))  # indexed above
    title: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(128))
    wechat_id: Mapped[str | None] = mapped_column(String(64))
    budget_cny: Mapped[int | None] = mapped_column(BigInteger)
    needs: Mapped[list[Any]] = mapped_column(default=list)
    industry: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(32))
    product_line: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16), default="new")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")  # ocr | manual | import
    confidence: Mapped[float | None] = mapped_column(Float)
    evidence_hash: Mapped[str | None] = mapped_column(String(64))
    evidence_path: Mapped[str | None] = mapped_column(String(255))
    field_sources: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field → {source, by, at}
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # OCR text, insights, draft state
    assign_reason: Mapped[str | None] = mapped_column(String(255))
    close_reason: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    next_follow_up_at: Mapped[datetime | None]
    stage_changed_at: Mapped[datetime | None]
    frozen_at: Mapped[datetime | None]
    timeout_count: Mapped[int] = mapped_column(Integer, default=0)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_actor_created", "actor_id", "created_at"),)  # a rep's latest act

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # follow_up | stage | assign | freeze | ...
    summary: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # image | file | note (proof, 证据) | screenshot (capture source)
    sha256: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    proof: Mapped[str | None] = mapped_column(String(16))  # contract | payment | receipt | chat | demo | other
    ocr_text: Mapped[str | None] = mapped_column(Text)  # what OCR read on an image (contract party checks)
    added_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(32))  # first_contact | stage_stall | cadence | dormancy | follow_up
    due_at: Mapped[datetime]
    level: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|claimed|done|cancelled
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_recipient", "channel", "recipient", "id"),
                      Index("ix_outbox_recipient_kind", "recipient", "kind", "id"))  # the last card sent to a person

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column()
    dedup_key: Mapped[str] = mapped_column(String(191), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. WeCom msgid/response_code
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class InboundDedup(Base):
    __tablename__ = "inbound_dedup"
    __table_args__ = (UniqueConstraint("channel", "msg_id", name="uq_inbound_channel_msg"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(191))
    received_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[str | None] = mapped_column(Text)  # verified raw message, replayed after a crash
    replayed_at: Mapped[datetime | None]


class InboundHandled(Base):
    """Written in the handler's own transaction: "handled" is atomic with the handler's effects."""

    __tablename__ = "inbound_handled"
    __table_args__ = (UniqueConstraint("channel", "msg_id", name="uq_inbound_handled_channel_msg"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(191))
    handled_at: Mapped[datetime] = mapped_column(index=True)


class CardColumns:
    """A knowledge card's content, shared by the live table and the import staging table."""

    title: Mapped[str] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(32))
    industry: Mapped[str | None] = mapped_column(String(32))
    objection: Mapped[str | None] = mapped_column(String(32))
    talk_track: Mapped[str] = mapped_column(Text, default="")
    quote_template: Mapped[str] = mapped_column(Text, default="")
    success_case: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)  # staging: a new card's; a changed one gets live + 1
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    tokens: Mapped[list[Any] | None] = mapped_column(JSON)  # persisted jieba tokens
    source: Mapped[str | None] = mapped_column(String(255))  # file the card came from


class KnowledgeCard(CardColumns, Base):
    __tablename__ = "knowledge_cards"
    __table_args__ = (Index("ix_knowledge_cards_active_modified", "active", "modified_at", "id"),  # console list
                      Index("ix_knowledge_cards_role", "role"), Index("ix_knowledge_cards_industry", "industry"),
                      Index("ix_knowledge_cards_objection", "objection"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    modified_at: Mapped[datetime]  # when this row last changed (index freshness)


class KnowledgeCardStaging(CardColumns, Base):
    """Cards of an import not yet published (issue 13 + 20): written chunk by chunk, each chunk its own short
    transaction, under the import's `batch_id`; then copied into `knowledge_cards` and deleted here a bounded
    chunk a transaction (storage/staging.py). Nothing reads this table but the publish, so a half-staged import is
    invisible to search, the console and scans; a dead process's batch is deleted by age (`staged_at`)."""

    __tablename__ = "knowledge_cards_staging"

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    modified_at: Mapped[datetime]
    staged_at: Mapped[datetime] = mapped_column(index=True)  # when the import started: stale batches by age


class QueryLog(Base):
    __tablename__ = "query_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text)
    ranked: Mapped[list[Any]] = mapped_column(default=list)
    scores: Mapped[list[Any]] = mapped_column(default=list)
    answered: Mapped[bool] = mapped_column(Boolean)
    shown_card: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(index=True)


class KnowledgeFeedback(Base):
    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[int | None] = mapped_column(ForeignKey("query_log.id"))
    card_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(64))
    vote: Mapped[str] = mapped_column(String(8))  # up | down | next
    created_at: Mapped[datetime]


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target", "id"),)  # a card's history in the console

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class CalendarOverride(Base):
    """Admin overrides of the business calendar (company days off, extra working days)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(255))


class KeyValue(Base):
    """Small durable state: digest last-sent dates, index versions, ..."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ChangeCount(Base):
    """How many times a table that processes keep in memory has changed, bumped by database triggers (migration
    0013) whoever writes: a cache reads this one row to tell whether to reload (bot/org.py `TeamCache`). SQLite
    only; PostgreSQL's triggers advance a sequence (`users_changes`), which never makes writers wait."""

    __tablename__ = "change_counts"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class ChainEntry(Base):
    """The tamper-evident record (存证): one row per evidence item, stage change, won/lost decision or manager
    confirmation. `body` is canonical JSON (kind, lead, actor, time, data, seq); content_hash = SHA-256(body);
    entry_hash = SHA-256(prev_hash + content_hash). No foreign key: deleting a lead must not delete its record."""

    __tablename__ = "audit_chain"

    # INTEGER on SQLite makes seq the rowid: the walk in seq order reads the table itself, no index lookups
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                     autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))  # evidence | stage | won | lost | confirm | flag_clear
    lead_id: Mapped[int | None] = mapped_column(Integer, index=True)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class LeadFlag(Base):
    """A cross-check finding on a lead (🔴 red / 🟡 yellow) with the rep's one-line answer and the manager's
    clearance. status: open → answered (rep replied) → cleared (manager); resolved when the rule no longer fires."""

    __tablename__ = "lead_flags"
    __table_args__ = (Index("ix_lead_flags_lead_status", "lead_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128), default="")  # what it is about, e.g. the other lead's id
    level: Mapped[str] = mapped_column(String(8))  # red | yellow
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open|answered|cleared|resolved
    owner_id: Mapped[str | None] = mapped_column(String(64))  # the rep who caused it: owner (a draft: creator)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Contract(Base):
    """A customer contract (续约预警). The account is the customer's lead (`lead_id`): contracts and payments are
    matched to it by name and phone at import. `health` is the imported 健康分 (None → computed from activity);
    `renewal`: renewed | lost | None (unknown — never counted as renewed)."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("lead_id", "start_on", "end_on", name="uq_contracts_lead_term"),
                      Index("ix_contracts_end", "end_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    customer: Mapped[str] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(128))
    amount_cny: Mapped[int] = mapped_column(BigInteger)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    health: Mapped[int | None] = mapped_column(Integer)
    renewal: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Payment(Base):
    """Money received (回款) on an account (the customer's lead)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("lead_id", "paid_on", "amount_cny", name="uq_payments_lead_day_amount"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount_cny: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class RenewalImportStaging(Base):
    """Contract and payment rows of an import not yet published (the knowledge import's pattern): staged chunk by
    chunk under the import's `batch_id`, each chunk its own short transaction, then copied into `contracts` or
    `payments` and deleted here a bounded chunk a transaction (storage/staging.py). Nothing else reads this
    table, so a half-staged file is invisible; a dead process's unpublished batch is deleted by age
    (`staged_at`). `line`: the row's line in the file."""

    __tablename__ = "renewal_import_staging"

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # contracts | payments
    lead_id: Mapped[int] = mapped_column(Integer)
    customer: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(128))
    amount_cny: Mapped[int] = mapped_column(BigInteger)
    start_on: Mapped[date | None] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[str | None] = mapped_column(String(64))
    health: Mapped[int | None] = mapped_column(Integer)
    renewal: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(255))
    staged_at: Mapped[datetime] = mapped_column(index=True)


class RenewalWarning(Base):
    """One 续约预警 per contract, ever (UNIQUE contract_id: a scan run twice or in two processes warns once).
    status: open → contacted (已联系) → proof (续签证明 filed) | lifted (manager lifted the lock);
    `locked`: the owner's other actions on the customer's leads wait for the proof or the manager."""

    __tablename__ = "renewal_warnings"
    __table_args__ = (Index("ix_renewal_warnings_locked", "locked", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(128))
    health: Mapped[int] = mapped_column(Integer)
    health_source: Mapped[str] = mapped_column(String(16))  # imported | computed
    last_paid_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new|open|contacted|proof|lifted|withdrawn
    locked: Mapped[bool] = mapped_column(Boolean, default=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class RampPath(Base):
    """A new-rep ramp-up path (新人通关): ordered tasks; one path is current, replacing it keeps the old rows
    for the reps' history."""

    __tablename__ = "ramp_paths"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class RampTask(Base):
    """One step of a path. kind: quiz (questions drawn from the knowledge cards at run time) | read (a card
    set) | shadow (confirmed by the manager); `spec` holds its axis filters and counts, never the questions."""

    __tablename__ = "ramp_tasks"
    __table_args__ = (UniqueConstraint("path_id", "position", name="uq_ramp_task_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("ramp_paths.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RampEnrollment(Base):
    """A rep on a path; until `completed_at` the rights in `[ramp] rights` stay locked for them."""

    __tablename__ = "ramp_enrollments"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("ramp_paths.id"), index=True)
    enrolled_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class RampProgress(Base):
    """A rep's state on one task. status: open | waiting (a shadow task the manager has to confirm) | done |
    replaced (left unfinished when an admin replaced the path).
    `state` holds the question being asked (card ids, option order, serial) so a stale click is recognised."""

    __tablename__ = "ramp_progress"
    __table_args__ = (UniqueConstraint("user_id", "task_id", name="uq_ramp_progress_user_task"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("ramp_tasks.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    correct: Mapped[int] = mapped_column(Integer, default=0)
    asked: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class OcrJob(Base):
    """A screenshot waiting for an OCR worker (`[ocr] mode = "worker"`, `salesbot worker ocr`): the stored image
    (evidence store), who sent it and where to answer, the time it was received. state: queued | claimed |
    done | failed; a claimed job whose `lease_until` passed (its worker died) is claimed again, `attempts` counts
    the claims."""

    __tablename__ = "ocr_jobs"
    __table_args__ = (UniqueConstraint("channel", "msg_id", name="uq_ocr_jobs_msg"),
                      Index("ix_ocr_jobs_open", "state", "lease_until"),
                      Index("ix_ocr_jobs_user", "user_id", "state", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(191))
    sender: Mapped[str] = mapped_column(String(128))  # the channel user id the message came from
    user_id: Mapped[str] = mapped_column(String(64))  # who that is for us
    conversation_id: Mapped[str | None] = mapped_column(String(128))  # the group chat it was sent in
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)  # group_ok, display_name
    image_path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime]  # the `now` the screenshot is read at (relative times, merge window)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
