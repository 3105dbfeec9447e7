"""The command table: every command declared once, beside its implementation.

A command module declares each command with ``@command``::

    @command("lpush", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), acl="list",
             summary="Prepends elements to a list, creating it if needed.",
             args="key element [element ...]", since="1.0.0", group="list")
    def lpush(ctx: Client, key: bytes, *elements: bytes) -> int: ...

and the decorator records it in ``TABLE``. Dispatch (arity, MULTI, ACL),
``COMMAND INFO/DOCS/LIST/GETKEYS``, ACL categories and the TUI's completion
(through ``COMMAND DOCS``) all read this one table.

Arity follows Redis: a positive number is the exact argument count including
the command name; a negative one is a minimum. ``keys`` is (first, last, step)
as in ``COMMAND INFO``; commands whose keys cannot be found by position give
``getkeys``, a function from the arguments to the key positions.

``args`` is written the way Redis documents a command's syntax
(``key [NX|XX] [EX seconds|PX milliseconds]``). It is parsed once into the
argument tree that ``COMMAND DOCS`` reports.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# The flags and categories Redis 7.0 knows; a typo in a declaration fails at import.
FLAGS = frozenset(
    "write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor "
    "skip_slowlog asking fast no_auth may_replicate sentinel only_sentinel no_mandatory_keys "
    "no_multi movablekeys allow_busy no_async_loading".split()
)
CATEGORIES = (
    "keyspace read write set sortedset list hash string bitmap hyperloglog geo stream pubsub "
    "admin fast slow blocking dangerous connection transaction scripting".split()
)

# Categories of the commands that may change a client's or the server's standing state.
STATE_CATEGORIES = frozenset({"admin", "dangerous", "connection", "transaction", "pubsub", "scripting"})


@dataclass
class Arg:
    """One node of a command's argument tree, as ``COMMAND DOCS`` reports it."""

    name: str
    type: str  # string integer double key pattern unix-time pure-token oneof block
    token: str | None = None
    optional: bool = False
    multiple: bool = False
    multiple_token: bool = False
    key_spec_index: int | None = None
    children: list[Arg] = field(default_factory=list)


@dataclass
class Command:
    name: str  # lower case; subcommands as "config|get"
    func: Callable
    arity: int
    flags: frozenset[str]
    first_key: int
    last_key: int
    step: int
    acl: frozenset[str]
    summary: str
    args: list[Arg]
    syntax: str
    group: str
    since: str
    complexity: str
    getkeys: Callable[[list[bytes]], list[int]] | None = None
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    parent: Command | None = None
    # Statistics, as INFO commandstats reports them.
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    root_name: bytes = b""
    name_bytes: bytes = b""
    no_auth: bool = False
    no_multi: bool = False
    denyoom: bool = False
    is_write: bool = False
    is_readonly: bool = False
    skip_slowlog: bool = False
    skip_monitor: bool = False
    min_args: int = 0  # the bounds of len(argv) that the arity allows
    max_args: int = 0
    batchable: bool = False

    def prepare(self) -> None:
        """Turn flags into attributes once, so dispatch tests booleans, not set membership."""
        self.root_name = (self.parent.name if self.parent else self.name).encode()
        self.name_bytes = self.name.encode()
        self.no_auth = "no_auth" in self.flags
        self.no_multi = "no_multi" in self.flags
        self.denyoom = "denyoom" in self.flags
        self.is_write = "write" in self.flags
        self.is_readonly = "readonly" in self.flags
        self.skip_slowlog = "skip_slowlog" in self.flags
        self.skip_monitor = "skip_monitor" in self.flags
        self.min_args = abs(self.arity)
        self.max_args = self.arity if self.arity > 0 else 1 << 62
        # May dispatch run it on its per-batch fast path? Only if it cannot change what that
        # path takes as settled for a batch: login, MULTI, subscriptions, MONITOR, ACL rules,
        # limits, the last save's outcome (see ``dispatch.run_requests``).
        self.batchable = not self.subcommands and not (self.acl & STATE_CATEGORIES)

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indexes into ``argv`` that hold key names."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        if self.first_key == 0:
            return []
        last = self.last_key
        if last < 0:
            last = len(argv) + last
        return list(range(self.first_key, min(last, len(argv) - 1) + 1, self.step))


TABLE: dict[bytes, Command] = {}


def _category_defaults(flags: frozenset[str], acl: set[str]) -> frozenset[str]:
    """Categories Redis derives from flags (setImplicitACLCategories)."""
    cats = set(acl)
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    return frozenset(cats)


def command(
    name: str,
    *,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    acl: str = "",
    summary: str,
    args: str = "",
    group: str = "generic",
    since: str = "1.0.0",
    complexity: str = "O(1)",
    getkeys: Callable[[list[bytes]], list[int]] | None = None,
) -> Callable[[Callable], Callable]:
    """Declare a command (``"config|get"`` declares a subcommand of ``config``)."""
    flagset = frozenset(flags.split())
    unknown = flagset - FLAGS
    if unknown:
        raise ValueError(f"{name}: unknown flags {unknown}")
    cats = set(acl.split())
    if cats - set(CATEGORIES):
        raise ValueError(f"{name}: unknown ACL categories {cats - set(CATEGORIES)}")

    def register(func: Callable) -> Callable:
        parent_name, _, sub_name = name.lower().partition("|")
        cmd = Command(
            name=name.lower(),
            func=func,
            arity=arity,
            flags=flagset,
            first_key=keys[0],
            last_key=keys[1],
            step=keys[2],
            acl=_category_defaults(flagset, cats),
            summary=summary,
            args=parse_syntax(args),
            syntax=args,
            group=group,
            since=since,
            complexity=complexity,
            getkeys=getkeys,
        )
        if getkeys is not None:
            cmd.flags = cmd.flags | {"movablekeys"}
        if sub_name:
            parent = TABLE.get(parent_name.encode())
            if parent is None:
                raise ValueError(f"declare container {parent_name!r} before {name!r}")
            cmd.parent = parent
            parent.subcommands[sub_name.encode()] = cmd
        else:
            if name.encode() in TABLE:
                raise ValueError(f"command {name!r} declared twice")
            TABLE[name.lower().encode()] = cmd
        func.command = cmd  # type: ignore[attr-defined]  # a function attribute: its declaration
        return func

    return register


def container(name: str, *, summary: str, group: str = "server", since: str = "2.0.0", acl: str = "") -> None:
    """Declare a command that only holds subcommands (CONFIG, CLIENT, OBJECT ...)."""
    upper = name.upper()

    def no_subcommand(ctx, *args):  # pragma: no cover - dispatch never calls it
        raise RuntimeError(f"{upper} needs a subcommand")

    command(name, arity=-2, summary=summary, group=group, since=since, acl=acl)(no_subcommand)


def load_all() -> dict[bytes, Command]:
    """Import every module in ``server.commands`` so their declarations run."""
    from server import commands

    for info in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"server.commands.{info.name}")
    return TABLE


# --------------------------------------------------------------------------- syntax → tree

_SYMBOL_TOKENS = ("*", "=", "~", "$")  # literal one-character arguments (XADD's "*", "MAXLEN ~", "$")
_TOKEN_RE = re.compile(r"\[|\]|\(|\)|\||\.\.\.|[^\s\[\]()|]+")

_INTEGER_NAMES = {
    "seconds", "milliseconds", "count", "offset", "start", "end", "stop", "index", "timeout",
    "numkeys", "increment", "decrement", "db", "destination-db", "numreplicas", "port",
    "rank", "len", "cursor", "unix-time-seconds", "unix-time-milliseconds", "delta",
    "bit", "value-int", "id", "client-id", "maxlen", "min-idle-time", "position", "limit",
    "encoding-offset", "ttl", "serializedvalue-ttl", "idletime", "frequency", "numerator",
    "pivot-index", "numsub", "protover", "milliseconds-timeout", "count-limit",
}
_DOUBLE_NAMES = {"score", "float-increment", "weight", "min-score", "max-score"}


def _arg_type(name: str) -> str:
    if name in ("key", "key1", "key2", "source", "destination", "newkey", "srckey", "destkey") or name.endswith("-key"):
        return "key"
    if name in ("pattern",):
        return "pattern"
    if name.startswith("unix-time"):
        return "unix-time"
    if name in _INTEGER_NAMES:
        return "integer"
    if name in _DOUBLE_NAMES:
        return "double"
    return "string"


def parse_syntax(syntax: str) -> list[Arg]:
    """Parse ``key [NX|XX] [EX seconds|PX ms] [member ...]`` into an argument tree.

    Upper-case words are tokens (typed literally); lower-case words are values,
    and a token followed by a value is one argument (``EX seconds``). ``[...]`` is
    optional, ``(...)`` a group, ``a|b`` a choice between the single arguments on
    either side (it binds tighter than juxtaposition, as in Redis's docs), and a
    token right before a choice introduces it (``TYPE NORMAL|PUBSUB``).
    ``x [x ...]`` or ``x ...`` marks a repeatable argument.
    """
    tokens = _TOKEN_RE.findall(syntax)
    pos = 0

    def is_word(tok: str) -> bool:
        return tok not in ("[", "]", "(", ")", "|", "...")

    def is_token(tok: str) -> bool:
        if tok in _SYMBOL_TOKENS:
            return True
        return tok.isupper() or (tok[0].isupper() and not tok.islower())

    def parse_atom() -> tuple[Arg, bool]:
        """One argument: a group, a token (with its value), or a value. Also: was it a [...]?"""
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok in ("[", "("):
            inner = parse_sequence("]" if tok == "[" else ")")
            pos += 1  # the closer
            node = _group(inner)
            if tok == "[":
                node = _copy_optional(node, inner)
            return node, tok == "["
        if is_token(tok):
            node = Arg(name=tok.lower(), type="pure-token", token=tok)
            nxt = tokens[pos] if pos < len(tokens) else ""
            after = tokens[pos + 1 : pos + 3]
            # "SKIPME yes|no": the token introduces a choice of literal values; keep them apart.
            choice_of_values = len(after) == 2 and after[0] == "|" and is_word(after[1]) and not is_token(after[1])
            if nxt and is_word(nxt) and not is_token(nxt) and not choice_of_values:
                pos += 1
                node = Arg(name=nxt, type=_arg_type(nxt), token=tok)
            return node, False
        return Arg(name=tok, type=_arg_type(tok)), False

    def parse_sequence(closer: str | None) -> list[Arg]:
        nonlocal pos
        current: list[Arg] = []
        while pos < len(tokens) and tokens[pos] != closer:
            tok = tokens[pos]
            if tok == "...":
                pos += 1
                if current:
                    current[-1].multiple = True
                continue
            if tok == "|":
                pos += 1
                if not current or pos >= len(tokens):
                    continue
                left = current.pop()
                right, _ = parse_atom()
                if left.type == "oneof" and left.name == "_oneof":
                    left.children.append(right)
                    current.append(left)
                    continue
                choice = Arg(name="_oneof", type="oneof", children=[left, right])
                if current and current[-1].type == "pure-token" and not current[-1].optional:
                    choice.token = current.pop().token  # "TYPE NORMAL|PUBSUB"
                current.append(choice)
                continue
            node, bracketed = parse_atom()
            if bracketed and node.multiple and current:
                repeated = node.children if node.type == "block" else [node]
                previous = current[-len(repeated) :]
                if [(a.name, a.type) for a in previous] == [(a.name, a.type) for a in repeated]:
                    # "x [x ...]" or "a b [a b ...]": the arguments before repeat.
                    del current[-len(repeated) :]
                    if len(previous) == 1:
                        previous[0].multiple = True
                        current.append(previous[0])
                    else:
                        current.append(Arg(name="_block", type="block", children=previous, multiple=True))
                    continue
            current.append(node)
        return current

    tree = parse_sequence(None)
    _name_groups(tree)
    return tree


def _copy_optional(node: Arg, inner: list[Arg]) -> Arg:
    """``[...]``: the group (or its single argument) becomes optional.

    A trailing ``...`` inside the brackets repeats the whole group: ``[a b ...]``.
    """
    node.optional = True
    if node.type == "block" and node.children and node.children[-1].multiple:
        node.children[-1].multiple = False
        node.multiple = True
    return node


def _group(args: list[Arg]) -> Arg:
    if len(args) == 1:
        return args[0]
    return Arg(name="_block", type="block", children=args)


def _name_groups(args: list[Arg]) -> None:
    """Give blocks and choices readable names, as Redis's docs do (``condition``, ``expiration``)."""
    for arg in args:
        if arg.children:
            _name_groups(arg.children)
            if arg.name in ("_oneof", "_block"):
                parts = [c.token.lower() if c.token else c.name for c in arg.children]
                arg.name = "-".join(p.strip("_") for p in parts)[:40] or arg.type


def render_args(args: list[Arg]) -> str:
    """The syntax string back from a tree (used for hints)."""
    parts = []
    for arg in args:
        if arg.type == "oneof":
            body = "|".join(render_args([c]) for c in arg.children)
        elif arg.type == "block":
            body = render_args(arg.children)
        elif arg.type == "pure-token":
            body = arg.token or arg.name
        else:
            body = arg.name
        token = arg.token if arg.token and arg.type != "pure-token" else ""
        text = f"{token} {body}" if token else body
        if arg.multiple:
            again = text if arg.multiple_token else body
            text = f"{text} [{again} ...]"
        if arg.optional:
            text = f"[{text}]"
        parts.append(text)
    return " ".join(parts)
