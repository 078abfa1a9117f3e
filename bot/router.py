"""Routes one Inbound to exactly one handler.

Feature modules own a `Router` and register with explicit matchers:

    router = Router("leads")

    @router.command("跟进")
    async def follow_up(ctx: Context, msg: Inbound) -> None: ...

A router is generic in what its handlers get first (`Router[Context]`): the router needs nothing of it, so it
sits below the context and the services that hold it.

Card actions are typed (bot/actions.py): `@router.card_action(ReassignTo, lead="manage")` hands the handler
`(ctx, action)`, or `(ctx, action, lead)` when the route acts on a lead: the dispatcher unpacks the key and
asks the router's `lead_gate` (handlers/leads/chat_gate.py) for the lead, which refuses with one wording.

Resolution order: card clicks by longest key prefix; images; files; voice notes; events by name. Text is first read
(`reads`: the front door decides what the message is — handlers/chat/front.py): an intent with its own route
(`@router.intent("greeting")`) takes it; an intent that stands for a command is routed by that command's text
(the reader puts the rewritten message on the context). Then the longest command word (after normalisation;
a word the reader does not know still routes), conditional text handlers, and the fallback.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, get_args

from bot.actions import Action, acts_on_a_lead
from bot.messages import Inbound

C = TypeVar("C")  # what a handler gets first: bot.context.Context
Handler = Callable[[C, Inbound], Awaitable[None]]
Predicate = Callable[[C, Inbound], Awaitable[bool]]
Decorator = Callable[[Handler[C]], Handler[C]]
AnyHandler = Callable[..., Awaitable[None]]  # (ctx, msg); typed card actions: (ctx, action) / (ctx, action, lead)
H = TypeVar("H", bound=AnyHandler)
# What a route acting on a lead requires of it (handlers/leads/permissions.policy_refusal says what each means):
# checked when the route is registered, so a misspelt policy fails at import instead of letting everyone through.
LeadPolicy = Literal["any", "open", "edit", "evidence", "manage"]
LEAD_POLICIES: frozenset[str] = frozenset(get_args(LeadPolicy))
# (ctx, lead id, policy) → the lead, or None after telling the user why not ("open": not frozen, not closed…)
LeadGate = Callable[[C, int, LeadPolicy], Awaitable[Any]]


@dataclass(frozen=True)
class Reading:
    """What the reader made of a text: the intent's name, and for an intent that is a plain command the
    command text its handler understands ("我的线索", "改派 3 rep02 …")."""

    intent: str
    command: str | None = None


Reader = Callable[[C, Inbound], Awaitable[Reading]]


def normalize_text(text: str) -> str:
    """NFKC (full-width → half-width), trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


KEPT_PUNCT = frozenset("，。；！？、")  # Chinese punctuation an argument keeps as typed (stored notes)


def normalize_kept(text: str) -> str:
    """`normalize_text`, except the Chinese punctuation of KEPT_PUNCT, kept as typed."""
    return " ".join("".join(c if c in KEPT_PUNCT else unicodedata.normalize("NFKC", c) for c in text).split())


def split_command(text: str, word: str) -> str | None:
    """The argument text after `word` if `text` starts with it ("跟进12 好" → "12 好"), else None; NFKC as
    `normalize_text`, except the Chinese punctuation of KEPT_PUNCT (「同意续约，下周寄合同」 is stored as typed)."""
    norm = normalize_kept(text)
    if not norm.startswith(word):
        return None
    return norm[len(word):].strip()


@dataclass
class Route(Generic[C]):
    handler: AnyHandler
    roles: frozenset[str] | None = None  # None → everyone
    when: Predicate[C] | None = None  # image/file routes: taken only when this says yes
    # Replies fit for a group chat (knowledge answers, help). Everything else — leads, drafts, reminders — is
    # answered one-to-one even when asked in a group, so nobody's customers show up in front of colleagues.
    group_ok: bool = False
    action: type[Action] | None = None  # a typed card action: the handler gets it unpacked
    lead: LeadPolicy | None = None  # the action acts on its lead_id, resolved through the router's lead gate
    # The words for someone whose role is not in `roles` (default: bot.dispatch.refusal). The role check is
    # made once, by bot.dispatch.run_route, for chat, the front door's numbered replies and the web console.
    refusal: str | None = None


@dataclass
class Router(Generic[C]):
    name: str
    commands: dict[str, Route[C]] = field(default_factory=dict)
    actions: dict[str, Route[C]] = field(default_factory=dict)
    events: dict[str, Route[C]] = field(default_factory=dict)
    images: list[Route[C]] = field(default_factory=list)
    files: list[Route[C]] = field(default_factory=list)
    voices: list[Route[C]] = field(default_factory=list)
    conditional: list[tuple[Predicate[C], Route[C]]] = field(default_factory=list)
    fallback: Route[C] | None = None
    lead_gate: LeadGate[C] | None = None
    intents: dict[str, Route[C]] = field(default_factory=dict)
    reader: Reader[C] | None = None

    # -- registration -------------------------------------------------------------------
    def command(self, *words: str, roles: set[str] | None = None, group_ok: bool = False,
                refusal: str | None = None) -> Decorator[C]:
        def register(fn: Handler[C]) -> Handler[C]:
            for word in words:
                self._add(self.commands, normalize_text(word),
                          Route(fn, _roles(roles), group_ok=group_ok, refusal=refusal))
            return fn

        return register

    def card_action(self, action: type[Action], roles: set[str] | None = None, group_ok: bool = False,
                    lead: LeadPolicy | None = None) -> Callable[[H], H]:
        """The route of one typed button (bot/actions.py): the handler gets `(ctx, action)`, or `(ctx, action,
        lead)` with `lead=`. There is no plain-string form: no handler splits a key. A policy that is not one of
        `LeadPolicy`, or `lead=` on an action without a `lead_id`, fails here, when the module is imported."""
        if lead is not None and lead not in LEAD_POLICIES:
            raise ValueError(f"{action.__name__}: unknown lead policy {lead!r} (one of {sorted(LEAD_POLICIES)})")
        if lead is not None and not acts_on_a_lead(action):
            raise TypeError(f"{action.__name__} carries no lead_id: it cannot be declared with lead={lead!r}")
        prefix = action.key_prefix()
        if lead == "manage":  # acting on a lead as its manager: the role is part of the declaration
            roles = roles or set(MANAGERS)

        def register(fn: H) -> H:
            self._add(self.actions, prefix, Route(fn, _roles(roles), group_ok=group_ok, action=action, lead=lead))
            return fn

        return register

    def intent(self, *names: str, roles: set[str] | None = None, group_ok: bool = False) -> Decorator[C]:
        """The handler for messages the reader places as one of `names` (handlers/intent.py)."""
        def register(fn: Handler[C]) -> Handler[C]:
            for name in names:
                self._add(self.intents, name, Route(fn, _roles(roles), group_ok=group_ok))
            return fn

        return register

    def reads(self, fn: Reader[C]) -> Reader[C]:
        """The one reader every text goes through first."""
        if self.reader is not None:
            raise ValueError(f"router {self.name}: a reader is already set")
        self.reader = fn
        return fn

    def event(self, name: str) -> Decorator[C]:
        def register(fn: Handler[C]) -> Handler[C]:
            self._add(self.events, name, Route(fn))
            return fn

        return register

    def image(self, roles: set[str] | None = None, when: Predicate[C] | None = None) -> Decorator[C]:
        """`when` given: this image handler goes first whenever the predicate says yes."""
        def register(fn: Handler[C]) -> Handler[C]:
            self.images.append(Route(fn, _roles(roles), when))
            return fn

        return register

    def file(self, roles: set[str] | None = None, when: Predicate[C] | None = None, refusal: str | None = None
             ) -> Decorator[C]:
        def register(fn: Handler[C]) -> Handler[C]:
            self.files.append(Route(fn, _roles(roles), when, refusal=refusal))
            return fn

        return register

    def voice(self, roles: set[str] | None = None) -> Decorator[C]:
        def register(fn: Handler[C]) -> Handler[C]:
            self.voices.append(Route(fn, _roles(roles)))
            return fn

        return register

    def text(self, when: Predicate[C] | None = None, group_ok: bool = False) -> Decorator[C]:
        """`when` given: a conditional text handler; else the fallback for any other text."""

        def register(fn: Handler[C]) -> Handler[C]:
            if when is None:
                if self.fallback is not None:
                    raise ValueError(f"router {self.name}: a fallback text handler is already set")
                self.fallback = Route(fn, group_ok=group_ok)
            else:
                self.conditional.append((when, Route(fn, group_ok=group_ok)))
            return fn

        return register

    def include(self, other: Router[C]) -> None:
        for word, route in other.commands.items():
            self._add(self.commands, word, route)
        for prefix, route in other.actions.items():
            self._add(self.actions, prefix, route)
        for name, route in other.events.items():
            self._add(self.events, name, route)
        for name, route in other.intents.items():
            self._add(self.intents, name, route)
        if other.reader is not None:
            self.reads(other.reader)
        self.images += other.images
        self.files += other.files
        self.voices += other.voices
        self.conditional += other.conditional
        if other.fallback is not None:
            if self.fallback is not None:
                raise ValueError(f"two fallback text handlers ({self.name}, {other.name})")
            self.fallback = other.fallback

    def _add(self, table: dict[str, Route[C]], key: str, route: Route[C]) -> None:
        if key in table:
            raise ValueError(f"router {self.name}: {key!r} registered twice")
        table[key] = route

    # -- resolution ---------------------------------------------------------------------
    async def resolve(self, ctx: C, msg: Inbound) -> Route[C] | None:
        if msg.kind == "click":
            return _longest_prefix(self.actions, msg.click_key or "")
        if msg.kind == "image":
            return await _first_media(self.images, ctx, msg)
        if msg.kind == "file":
            return await _first_media(self.files, ctx, msg)
        if msg.kind == "voice":
            return await _first_media(self.voices, ctx, msg)
        if msg.kind == "event":
            return self.events.get(msg.text)
        reading = await self.reader(ctx, msg) if self.reader is not None else Reading("")
        if reading.intent in self.intents:
            return self.intents[reading.intent]
        route = _command_route(self.commands, normalize_text(reading.command or msg.text))
        if route is not None:
            return route
        for when, conditional in self.conditional:
            if await when(ctx, msg):
                return conditional
        return self.fallback


MANAGERS = frozenset({"manager", "admin"})


def _roles(roles: set[str] | None) -> frozenset[str] | None:
    return frozenset(roles) if roles else None


def _command_route(table: dict[str, Route[C]], text: str) -> Route[C] | None:
    """A command word matches when the text is the word, or the word followed by a space, digit or '#'
    ("跟进12 已电话" matches 跟进; "跟进策略怎么写" does not, it is a knowledge question)."""
    for end in range(min(len(text), _longest_word(table)), 0, -1):  # longest first: a dict look-up per length
        route = table.get(text[:end])
        rest = text[end:]
        if route is not None and (not rest or rest[0].isspace() or rest[0].isdigit() or rest[0] in "#:："):
            return route
    return None


def _longest_word(table: dict[str, Route[C]]) -> int:
    """The longest command word (tables are built at start-up; measured per call, it is a max over ~100 words —
    still far less than testing every word as a prefix of every text, which was a visible share of a reply)."""
    return max(map(len, table), default=0)


async def _first_media(routes: list[Route[C]], ctx: C, msg: Inbound) -> Route[C] | None:
    """A conditional route whose predicate holds, else the first unconditional one."""
    for route in routes:
        if route.when is not None and await route.when(ctx, msg):
            return route
    return next((r for r in routes if r.when is None), None)


def _longest_prefix(table: dict[str, Route[C]], key: str) -> Route[C] | None:
    best = max((p for p in table if key.startswith(p)), key=len, default=None)
    return table[best] if best is not None else None
