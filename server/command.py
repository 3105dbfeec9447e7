"""The command table: every command declared once, beside its implementation.

A command module declares each command with ``@command``::

    @command("lpush", arity=-3, flags="write denyoom fast", keys=(1, -1, 1), acl="list",
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
    skip_slowlog: bool = False
    skip_monitor: bool = False

    def prepare(self) -> None:
        """Turn flags into attributes once, so dispatch tests booleans, not set membership."""
        self.root_name = (self.parent.name if self.parent else self.name).encode()
        self.name_bytes = self.name.encode()
        self.no_auth = "no_auth" in self.flags
        self.no_multi = "no_multi" in self.flags
        self.denyoom = "denyoom" in self.flags
        self.is_write = "write" in self.flags
        self.skip_slowlog = "skip_slowlog" in self.flags
        self.skip_monitor = "skip_monitor" in self.flags

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

    def keys_of(self, argv: list[bytes]) -> list[bytes]:
        return [argv[i] for i in self.key_positions(argv)]


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
        func.command = cmd  # type: ignore[attr-defined]
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

    Upper-case words are tokens (typed literally); lower-case words are values.
    ``[...]`` is optional, ``a|b`` a choice, ``(...)`` a group, ``x [x ...]`` or
    ``x ...`` marks a repeatable argument.
    """
    tokens = _TOKEN_RE.findall(syntax)
    pos = 0

    def parse_sequence(closers: tuple[str, ...]) -> list[Arg]:
        nonlocal pos
        alternatives: list[list[Arg]] = [[]]
        while pos < len(tokens) and tokens[pos] not in closers:
            tok = tokens[pos]
            pos += 1
            current = alternatives[-1]
            if tok == "|":
                alternatives.append([])
            elif tok in ("[", "("):
                inner = parse_sequence(("]",) if tok == "[" else (")",))
                pos += 1  # the closer
                node = _group(inner)
                if tok == "[":
                    # "x [x ...]": an optional repeat of the previous argument.
                    if current and _is_repeat_of(inner, current[-1]):
                        current[-1].multiple = True
                        continue
                    node.optional = True
                current.append(node)
            elif tok == "...":
                if current:
                    current[-1].multiple = True
            else:
                if tok.isupper() or (tok[0].isupper() and not tok.islower()):
                    node = Arg(name=tok.lower(), type="pure-token", token=tok)
                    # "TOKEN value" pairs: the value takes the token.
                    current.append(node)
                else:
                    value = Arg(name=tok, type=_arg_type(tok))
                    if current and current[-1].type == "pure-token" and not current[-1].children:
                        tokarg = current.pop()
                        value.token = tokarg.token
                    current.append(value)
        if len(alternatives) == 1:
            return alternatives[0]
        return [Arg(name="_oneof", type="oneof", children=[_group(alt) for alt in alternatives])]

    tree = parse_sequence(())
    _name_groups(tree)
    return tree


def _group(args: list[Arg]) -> Arg:
    if len(args) == 1:
        return args[0]
    return Arg(name="_block", type="block", children=args)


def _is_repeat_of(inner: list[Arg], prev: Arg) -> bool:
    if len(inner) == 1 and inner[0].multiple:
        a = inner[0]
        return a.name == prev.name and a.type == prev.type and a.token == prev.token
    if len(inner) == 1 and inner[0].type == "block" and prev.type == "block" and inner[0].multiple:
        return [c.name for c in inner[0].children] == [c.name for c in prev.children]
    return False


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
            text = "|".join(render_args([c]) for c in arg.children)
        elif arg.type == "block":
            text = render_args(arg.children)
        elif arg.type == "pure-token":
            text = arg.token or arg.name
        else:
            text = f"{arg.token} {arg.name}" if arg.token else arg.name
        if arg.multiple:
            text = f"{text} [{text} ...]"
        if arg.optional:
            text = f"[{text}]"
        parts.append(text)
    return " ".join(parts)
