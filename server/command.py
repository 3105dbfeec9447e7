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
the command name; a negative one is a minimum. ``keys`` gives the command's key
specifications (Redis 7.0's key specs, written compactly; see ``parse_key_spec``),
one string per spec. Everything else about keys is derived from them once, when
the table is built: ``COMMAND INFO``'s legacy first/last/step and ``movablekeys``
flag, ``COMMAND GETKEYS(ANDFLAGS)``, ACL's read/write key permissions and the
keys client-side caching tracks. ``getkeys`` is only for the commands Redis gives
a key-finding function (``get_keys_function``): it answers when the specs cannot
(incomplete specs, unparsable key counts) or when their flags vary (SET ... GET).
``tips`` are Redis's command tips (``nondeterministic_output`` ...).

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
# Scripting commands that may take the fast path all the same: a script (or function) cannot change its caller's
# state (its commands run on the script's own client, and the ``noscript`` ones, which could change the
# server's, are refused), and the commands other clients may run while it is busy (``allow_busy``)
# change only their own client. A script that wrote, or failed, goes through ``after_call``, which
# reads the standing state again (a failed AOF write blocks writes).
FAST_SCRIPTING = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})

# Key-spec flags, in the order COMMAND INFO prints them (a flag's bit is 1 << its rank).
KEY_FLAG_NAMES = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
                  "variable_flags")
KEY_FLAG_BITS = {name: 1 << rank for rank, name in enumerate(KEY_FLAG_NAMES)}
K_RO, K_RW, K_OW, K_RM, K_ACCESS, K_UPDATE, K_INSERT, K_DELETE, K_NOT_KEY, K_INCOMPLETE, K_VARIABLE_FLAGS = (
    KEY_FLAG_BITS[name] for name in KEY_FLAG_NAMES)
# What ACL's %R~ and %W~ patterns grant (ACLSelectorCheckKey): reading, and changing a key.
ACL_READ_FLAGS = K_ACCESS
ACL_WRITE_FLAGS = K_INSERT | K_DELETE | K_UPDATE

# The tips Redis 7.0 declares (lower case, as COMMAND INFO prints them).
TIPS = frozenset((
    "nondeterministic_output", "nondeterministic_output_order", "request_policy:all_nodes",
    "request_policy:all_shards", "request_policy:multi_shard", "request_policy:special",
    "response_policy:agg_logical_and", "response_policy:agg_logical_or", "response_policy:agg_min",
    "response_policy:agg_max", "response_policy:agg_sum", "response_policy:all_succeeded",
    "response_policy:one_succeeded", "response_policy:special",
))

# A key-finding function: the arguments → (position, key-spec flags) of each key.
GetKeys = Callable[[list[bytes]], list[tuple[int, int]]]


@dataclass(frozen=True)
class KeySpec:
    """One key specification: where a command's keys start, how many follow, what is done to them.

    ``begin`` is "index" (``index``), "keyword" (search ``keyword`` from ``startfrom``;
    a negative start searches backwards from the end) or "unknown". ``find`` is
    "range" (``lastkey`` relative to the start, negative from the end; ``keystep``;
    ``limit`` divides what is left), "keynum" (``keynumidx``: the count's offset from
    the start, ``firstkey``: the first key's offset, ``keystep``) or "unknown".
    """

    flags: int
    begin: str
    index: int = 0
    keyword: bytes = b""
    startfrom: int = 0
    find: str = "range"
    lastkey: int = 0
    keystep: int = 1
    limit: int = 0
    keynumidx: int = 0
    firstkey: int = 0
    notes: str = ""

    def flag_names(self) -> list[str]:
        return [name for name in KEY_FLAG_NAMES if self.flags & KEY_FLAG_BITS[name]]


_BEGIN_RE = re.compile(r"@(?:(?P<index>\d+)|(?P<keyword>[A-Z]+)>(?P<startfrom>-?\d+)|(?P<unknown>unknown))$")
_FIND_RE = re.compile(r"(?:(?P<kind>range|keynum)\((?P<a>-?\d+),(?P<b>-?\d+),(?P<c>-?\d+)\)|(?P<unknown>unknown))$")


def parse_key_spec(text: str) -> KeySpec:
    """Read one key spec written as ``FLAGS... @BEGIN [FIND] [# notes]``.

    FLAGS are COMMAND INFO's names (``RW access delete``). BEGIN is ``@1`` (an
    index), ``@STREAMS>1`` (a keyword searched from index 1; ``>-2`` searches from
    the second-last argument backwards) or ``@unknown``. FIND is ``range(last,step,limit)``,
    ``keynum(numidx,first,step)`` or ``unknown``; left out, it is ``range(0,1,0)``: one key.
    """
    body, _, notes = text.partition("#")
    flags = 0
    begin: re.Match[str] | None = None
    find: re.Match[str] | None = None
    for word in body.split():
        if word in KEY_FLAG_BITS and begin is None:
            flags |= KEY_FLAG_BITS[word]
        elif begin is None and (begin := _BEGIN_RE.match(word)) is not None:
            continue
        elif begin is not None and find is None and (find := _FIND_RE.match(word)) is not None:
            continue
        else:
            raise ValueError(f"key spec {text!r}: unexpected {word!r}")
    if begin is None:
        raise ValueError(f"key spec {text!r}: no @begin")
    spec: dict = {"flags": flags, "notes": notes.strip()}
    if begin["index"] is not None:
        spec.update(begin="index", index=int(begin["index"]))
    elif begin["keyword"] is not None:
        spec.update(begin="keyword", keyword=begin["keyword"].encode(), startfrom=int(begin["startfrom"]))
    else:
        spec.update(begin="unknown")
    if find is not None and find["unknown"]:
        spec.update(find="unknown")
    elif find is not None:
        a, b, c = int(find["a"]), int(find["b"]), int(find["c"])
        if find["kind"] == "range":
            spec.update(find="range", lastkey=a, keystep=b, limit=c)
        else:
            spec.update(find="keynum", keynumidx=a, firstkey=b, keystep=c)
    return KeySpec(**spec)


def keys_from_specs(specs: tuple[KeySpec, ...], argv: list[bytes], arity: int,
                    include_not_keys: bool = False) -> list[tuple[int, int]] | None:
    """The keys the specs find in ``argv`` with their flags, or None when a spec cannot say.

    Redis's getKeysUsingKeySpecs: a spec that is unknown, incomplete or finds its
    key count unparsable or out of bounds makes the whole answer invalid (the caller
    then asks the command's own key-finding function, if it has one).
    """
    found: list[tuple[int, int]] = []
    argc = len(argv)
    for spec in specs:
        if spec.flags & K_NOT_KEY and not include_not_keys:
            continue
        if spec.begin == "index":
            first = spec.index
        elif spec.begin == "keyword":
            first = 0
            start = spec.startfrom if spec.startfrom > 0 else argc + spec.startfrom
            end = argc - 1 if spec.startfrom > 0 else 1
            i = start
            while i != end:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == spec.keyword.lower():
                    first = i + 1
                    break
                i = i + 1 if start <= end else i - 1
            if not first:
                continue  # the keyword is absent: this spec names no key
        else:
            return None
        if spec.find == "range":
            step = spec.keystep
            if spec.lastkey >= 0:
                last = first + spec.lastkey
            elif not spec.limit:
                last = argc + spec.lastkey
            else:
                last = first + ((argc - first) // spec.limit + spec.lastkey)
        elif spec.find == "keynum":
            step = spec.keystep
            if spec.keynumidx >= argc or first + spec.keynumidx >= argc:
                return None
            numkeys = _strict_int(argv[first + spec.keynumidx])
            if numkeys is None or numkeys < 0:
                return None
            first += spec.firstkey
            last = first + numkeys - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        found.extend((i, spec.flags) for i in range(first, last + 1, step) if i < argc)
        if spec.flags & K_INCOMPLETE:
            return None
    return found


def _strict_int(text: bytes) -> int | None:
    """string2ll: a 64-bit decimal with no sign but '-', no spaces, no leading zeros."""
    if not text or len(text) > 20 or not re.fullmatch(rb"-?[1-9][0-9]*|0", text):
        return None
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 63) else None


def numkeys_keys(store: int, count_at: int, first: int) -> GetKeys:
    """Redis's genericGetKeys for ``[destination] numkeys key [key ...]`` commands.

    It reads the count with atoi (``2abc`` is 2) and answers no keys for a count
    below 1 or beyond the arguments; its keys carry no flags.
    """
    def find(argv: list[bytes]) -> list[tuple[int, int]]:
        num = _atoi(argv[count_at]) if count_at < len(argv) else 0
        if num < 1 or num > len(argv) - first:
            return []
        keys = [(first + i, 0) for i in range(num)]
        if store:
            keys.append((store, 0))
        return keys

    return find


def _atoi(text: bytes) -> int:
    """C's atoi: optional spaces and sign, then digits, stopping at anything else (32-bit wrap)."""
    m = re.match(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)", text)
    if m is None:
        return 0
    value = max(-(1 << 63), min(int(m.group(1)), (1 << 63) - 1)) & 0xFFFFFFFF  # strtol saturates
    return value - (1 << 32) if value >= 1 << 31 else value



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
    since: str | None = None
    deprecated_since: str | None = None
    children: list[Arg] = field(default_factory=list)


@dataclass(slots=True)  # slots: dispatch reads a command's fields on every request
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
    doc_flags: tuple[str, ...] = ()  # COMMAND DOCS: "deprecated", "syscmd"
    deprecated_since: str = ""
    replaced_by: str = ""
    getkeys: GetKeys | None = None
    key_specs: tuple[KeySpec, ...] = ()
    tips: tuple[str, ...] = ()
    has_keys: bool = False  # Redis's doesCommandHaveKeys: a key-finding function or a spec of real keys
    specs_first: bool = False  # find keys with the specs before the function (their flags are fixed)
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
    plain_args: int = 0  # up to this many arguments its effect is its argv (effects.plain_args)

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
        self.batchable = not self.subcommands and (
            not (self.acl & STATE_CATEGORIES) or self.name in FAST_SCRIPTING)

    def find_keys(self, argv: list[bytes]) -> list[tuple[int, int]]:
        """The keys of ``argv`` as (index, key-spec flags): Redis's getKeysFromCommandWithSpecs."""
        if self.specs_first:
            found = keys_from_specs(self.key_specs, argv, self.arity)
            if found is not None:
                return found
        if self.getkeys is not None:
            return self.getkeys(argv)
        return []

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indexes into ``argv`` that hold key names."""
        return [pos for pos, _ in self.find_keys(argv)]


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
    keys: str | tuple[str, ...] | tuple[int, int, int] = (),
    tips: str = "",
    acl: str = "",
    summary: str,
    args: str = "",
    group: str = "generic",
    since: str = "1.0.0",
    complexity: str = "O(1)",
    getkeys: GetKeys | None = None,
    doc_flags: str = "",
    deprecated_since: str = "",
    replaced_by: str = "",
) -> Callable[[Callable], Callable]:
    """Declare a command (``"config|get"`` declares a subcommand of ``config``).

    ``keys`` is one key spec or a tuple of them (``parse_key_spec``). A bare
    ``(first, last, step)`` is still read, as a spec without flags, so a command
    declared the old way runs; ``tests/server/test_key_specs.py`` fails on it.
    """
    flagset = frozenset(flags.split())
    specs = _read_key_specs(name, keys)
    tiplist = tuple(tips.split())
    if set(tiplist) - TIPS:
        raise ValueError(f"{name}: unknown tips {set(tiplist) - TIPS}")
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
            first_key=0,
            last_key=0,
            step=0,
            acl=_category_defaults(flagset, cats),
            summary=summary,
            args=parse_syntax(args),
            syntax=args,
            group=group,
            since=since,
            complexity=complexity,
            getkeys=getkeys,
            key_specs=specs,
            tips=tiplist,
            doc_flags=tuple(doc_flags.split()),
            deprecated_since=deprecated_since,
            replaced_by=replaced_by,
        )
        _derive_key_facts(cmd)
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


def _read_key_specs(name: str, keys: str | tuple[str, ...] | tuple[int, int, int]) -> tuple[KeySpec, ...]:
    if isinstance(keys, str):
        return (parse_key_spec(keys),)
    if len(keys) == 3 and all(isinstance(k, int) for k in keys):
        first, last, step = (int(k) for k in keys)
        if not first:
            return ()
        return (KeySpec(flags=0, begin="index", index=first, lastkey=last - first if last >= 0 else last,
                        keystep=step),)
    return tuple(parse_key_spec(str(text)) for text in keys)


def _derive_key_facts(cmd: Command) -> None:
    """What the key specs imply, computed once: legacy first/last/step, movablekeys, has_keys.

    Redis's populateCommandLegacyRangeSpec: one index+range spec is the legacy
    range itself; otherwise consecutive plain (step 1) index+range specs are
    merged, and any other spec makes the command ``movablekeys``.
    """
    specs = cmd.key_specs
    movable = False
    first = last = step = 0
    if len(specs) == 1 and specs[0].begin == "index" and specs[0].find == "range":
        spec = specs[0]
        movable = bool(spec.flags & K_INCOMPLETE)
        first, step = spec.index, spec.keystep
        last = spec.lastkey + first if spec.lastkey >= 0 else spec.lastkey
    elif specs:
        lowest, highest, previous = 1 << 31, 0, 0
        for spec in specs:
            if spec.begin != "index" or spec.find != "range":
                movable = True
                continue
            if spec.keystep != 1 or (previous and previous != spec.index - 1):
                movable = True
                continue
            if spec.flags & K_INCOMPLETE:
                movable = True
            lowest = min(lowest, spec.index)
            absolute = spec.lastkey + spec.index if spec.lastkey >= 0 else spec.lastkey
            highest = max(highest & 0xFFFFFFFF, absolute & 0xFFFFFFFF)  # unsigned, as Redis compares
            highest = highest - (1 << 32) if highest >= 1 << 31 else highest
            previous = highest
        if lowest == 1 << 31:
            movable = True
        else:
            first, last, step = lowest, highest, 1
    cmd.first_key, cmd.last_key, cmd.step = first, last, step
    if movable:
        cmd.flags = cmd.flags | {"movablekeys"}
    real_keys = any(not spec.flags & K_NOT_KEY for spec in specs)
    cmd.has_keys = cmd.getkeys is not None or real_keys
    cmd.specs_first = real_keys and not any(spec.flags & K_VARIABLE_FLAGS for spec in specs)


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
_TOKEN_RE = re.compile(r"\{[^}]*\}|\[|\]|\(|\)|\||\.\.\.|[^\s\[\]()|{]+")

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

    What the words cannot say is written in braces right after an argument or a
    group, as Redis's COMMAND DOCS has it: ``{name=condition}``, ``{type=double}``,
    ``{token=GET}`` (a group's token), ``{since=6.2.0}``, ``{deprecated=2.8.12}``,
    ``{ks=1}`` (the key spec an argument belongs to; keys default to 0) and
    A quoted word (``'km'``) is a literal that is not upper case.
    ``{mt}`` (multiple_token: the token is repeated before each value), ``{multiple}``
    (for an alternative of a choice: a ``...`` there would repeat the whole choice).
    """
    tokens = _TOKEN_RE.findall(syntax)
    pos = 0

    def is_word(tok: str) -> bool:
        return tok not in ("[", "]", "(", ")", "|", "...") and not tok.startswith("{")

    def annotate(node: Arg) -> Arg:
        """Apply a ``{...}`` that follows the argument just read."""
        nonlocal pos
        if pos < len(tokens) and tokens[pos].startswith("{"):
            items = [item.strip().partition("=") for item in tokens[pos][1:-1].split(",")]
            if ("type", "=", "block") in items and node.type != "block":
                node = Arg(name=node.name, type="block", children=[node])  # a block of one argument
            for key, _, value in items:
                if key == "name":
                    node.name = value
                elif key == "type":
                    node.type = value
                elif key == "token":
                    node.token = value
                elif key == "since":
                    node.since = value
                elif key == "deprecated":
                    node.deprecated_since = value
                elif key == "ks":
                    node.key_spec_index = int(value)
                elif key == "mt":
                    node.multiple_token = True
                elif key == "multiple":  # inside a choice, where a trailing ... would repeat the choice
                    node.multiple = True
                else:
                    raise ValueError(f"unknown annotation {key!r} in {syntax!r}")
            pos += 1
        return node

    def is_token(tok: str) -> bool:
        if tok in _SYMBOL_TOKENS:
            return True
        return tok.isupper() or (tok[0].isupper() and not tok.islower())

    def parse_atom() -> tuple[Arg, bool]:
        """One argument: a group, a token (with its value), or a value. Also: was it a [...]?"""
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == '""':  # a literal empty argument (MIGRATE's key position when KEYS is used)
            return Arg(name="empty_string", type="pure-token", token=""), False
        if len(tok) > 2 and tok[0] == tok[-1] == "'":  # a literal in other case: 'km', 'yes'
            return annotate(Arg(name=tok[1:-1], type="pure-token", token=tok[1:-1])), False
        if tok in ("[", "("):
            inner = parse_sequence("]" if tok == "[" else ")")
            pos += 1  # the closer
            node = _group(inner)
            if tok == "[":
                node = _copy_optional(node, inner)
            return annotate(node), tok == "["
        if is_token(tok):
            node = Arg(name=tok.lower(), type="pure-token", token=tok)
            nxt = tokens[pos] if pos < len(tokens) else ""
            after = tokens[pos + 1 : pos + 3]
            # "SKIPME yes|no": the token introduces a choice of literal values; keep them apart.
            choice_of_values = len(after) == 2 and after[0] == "|" and is_word(after[1]) and not is_token(after[1])
            if nxt and is_word(nxt) and not is_token(nxt) and not choice_of_values:
                pos += 1
                node = Arg(name=nxt, type=_arg_type(nxt), token=tok)
            return annotate(node), False
        return annotate(Arg(name=tok, type=_arg_type(tok))), False

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
    _key_spec_defaults(tree)
    return tree


def _key_spec_defaults(args: list[Arg]) -> None:
    for arg in args:
        if arg.type == "key" and arg.key_spec_index is None:
            arg.key_spec_index = 0
        _key_spec_defaults(arg.children)


def _copy_optional(node: Arg, inner: list[Arg]) -> Arg:
    """``[...]``: the group (or its single argument) becomes optional.

    A trailing ``...`` inside the brackets repeats the whole group: ``[a b ...]``.
    """
    node.optional = True
    if len(inner) > 1 and node.type == "block" and node.children and node.children[-1].multiple:
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
