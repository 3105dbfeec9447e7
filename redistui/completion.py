"""Completion for Redis commands, shared by `redistui shell` and the TUI command line.

The pieces, in the order a line flows through them:

* `split_args` / `scan_words` read a line the way redis-cli's `sdssplitargs` does
  (`"a b"`, `'x'`, `\\x00`, `\\n`); `scan_words` also tolerates the unfinished last word.
* `analyze` walks a command's `COMMAND DOCS` argument tree (see `commands.py`) over the
  words typed so far, as a memoised backtracking matcher, and reports which arguments
  could come next. There is no per-command grammar: tokens, `oneof`, `block`,
  `optional`, `multiple` and typed values are all handled by the same few functions.
* `RedisSource` looks names up on the server (SCAN/HSCAN/SSCAN/ZSCAN with an escaped
  `MATCH prefix*`, PUBSUB CHANNELS, CONFIG GET *), with a short cache and a time budget.
* `RedisCompleter` (a prompt_toolkit `Completer`) turns both into `Completion`s;
  `RedisLexer` colours a line; `dangerous_reason` names commands worth a confirmation.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer

from redistui.commands import Arg, CommandDoc, CommandTable, load_command_table
from redistui.formatting import printable, quote_repr

__all__ = [
    "Analysis",
    "Hint",
    "RedisCompleter",
    "RedisLexer",
    "RedisSource",
    "Word",
    "analyze",
    "classify",
    "dangerous_reason",
    "escape_glob",
    "fuzzy_rank",
    "quote_arg",
    "scan_words",
    "split_args",
]

Execute = Callable[..., Any]
KEY_TYPES = ("string", "list", "set", "zset", "hash", "stream")

# --- reading a line like redis-cli ------------------------------------------------------

_BACKSLASH = {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "a": b"\a"}
_HEX = set("0123456789abcdefABCDEF")


@dataclass
class Word:
    """One argument of a line: its bytes and where its raw text sits in the line."""

    value: bytes
    start: int
    end: int
    quote: str | None = None  # the quote still open at the end of the line, if any

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", "surrogateescape")


def _read_word(text: str, i: int, strict: bool) -> tuple[Word, bool]:
    """Read one word starting at `text[i]`; return it and whether whitespace ended it."""
    start, n, buf, quote = i, len(text), bytearray(), None
    while i < n:
        c = text[i]
        if quote == '"':
            if c == "\\" and i + 3 < n and text[i + 1] == "x" and text[i + 2] in _HEX and text[i + 3] in _HEX:
                buf.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
            if c == "\\" and i + 1 < n:
                buf += _BACKSLASH.get(text[i + 1], text[i + 1].encode())
                i += 2
                continue
            if c == '"':
                if strict and i + 1 < n and not text[i + 1].isspace():
                    raise ValueError("Invalid argument(s)")
                quote = None
            else:
                buf += c.encode("utf-8", "surrogateescape")
        elif quote == "'":
            if c == "\\" and i + 1 < n and text[i + 1] == "'":
                buf += b"'"
                i += 2
                continue
            if c == "'":
                if strict and i + 1 < n and not text[i + 1].isspace():
                    raise ValueError("Invalid argument(s)")
                quote = None
            else:
                buf += c.encode("utf-8", "surrogateescape")
        elif c in " \n\r\t\0":
            return Word(bytes(buf), start, i), True
        elif c in "\"'":
            quote = c
        else:
            buf += c.encode("utf-8", "surrogateescape")
        i += 1
    if quote and strict:
        raise ValueError("Invalid argument(s)")
    return Word(bytes(buf), start, n, quote), False


def split_args(line: str) -> list[bytes]:
    """Split a command line exactly like redis-cli; `ValueError` on unbalanced quotes."""
    words: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return words
        word, _ = _read_word(line, i, strict=True)
        words.append(word.value)
        i = word.end + 1


def scan_words(text: str) -> tuple[list[Word], Word]:
    """The finished words of `text` and the (possibly empty) word being typed at its end."""
    words: list[Word] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return words, Word(b"", n, n)
        word, ended = _read_word(text, i, strict=False)
        if not ended:
            return words, word
        words.append(word)
        i = word.end + 1


def quote_arg(value: bytes | str) -> str:
    """How to type `value` so that `split_args` reads it back unchanged."""
    data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text and text.isprintable() and not any(c in text for c in " \"'\\"):
        return text
    if text is not None and text.isprintable():
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return quote_repr(data)


def escape_glob(data: bytes) -> bytes:
    """Escape Redis glob specials so a prefix matches only itself."""
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", data)


def fuzzy_rank(candidate: str, typed: str) -> tuple[int, int] | None:
    """Rank a candidate: (0, len) for a prefix match, (1, span) for a subsequence, else None."""
    cand, want = candidate.lower(), typed.lower()
    if cand.startswith(want):
        return (0, len(cand))
    pos, first = 0, -1
    for ch in want:
        pos = cand.find(ch, pos)
        if pos < 0:
            return None
        if first < 0:
            first = pos
        pos += 1
    return (1, pos - first)


# --- walking the argument tree ----------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """Something that may be typed next: a keyword (`token`) or a value of an argument."""

    arg: Arg
    kind: str  # "token" or "value"
    top: int  # index of the top-level argument it belongs to
    repeat: bool = False  # a further repetition of a `multiple` argument
    about: str = ""  # what the keyword is for: its argument's name or its group's

    def meta(self) -> str:
        """The dropdown's description: `EX seconds`, or the option's name (`condition`)."""
        if self.arg.type != "pure-token":
            return self.arg.syntax(bare=True)
        return self.about or self.arg.name


@dataclass
class Analysis:
    """What `analyze` found: what may come next, and whether the command may end here."""

    doc: CommandDoc
    expected: list[Expected] = field(default_factory=list)
    complete: bool = False
    matched: bool = True  # False when no reading of the words fits the docs
    fresh: set[int] = field(default_factory=set)  # top-level arguments not begun yet
    used: set[int] = field(default_factory=set)  # optional top-level arguments already given

    def hint(self) -> str:
        """The arguments that may come next and those after them, in redis-cli's notation."""
        if not self.expected:
            return ""
        tops = sorted({exp.top for exp in self.expected})
        parts = [self._part(top) for top in tops]
        later = range(tops[-1] + 1, len(self.doc.args))
        parts += [self.doc.args[i].syntax() for i in later if i not in self.used or i in self.fresh]
        return " ".join(parts)

    def _part(self, top: int) -> str:
        here = [exp for exp in self.expected if exp.top == top]
        arg = self.doc.args[top]
        if all(exp.repeat for exp in here):
            again = arg.syntax(bare=True)
            if arg.token and not arg.multiple_token:
                again = again.split(" ", 1)[-1]
            return f"[{again.split(' [', 1)[0]} ...]"
        if top in self.fresh:
            return arg.syntax()
        # part-way through an argument: name what is expected right here
        leaves = dict.fromkeys(
            (exp.arg.token or exp.arg.name) if exp.kind == "token" else (exp.arg.display_text or exp.arg.name)
            for exp in here
        )
        return "|".join(leaves)


def _looks_numeric(word: str, kind: str) -> bool:
    if kind == "integer":
        return re.fullmatch(r"[+-]?\d+", word) is not None
    try:
        float(word.lstrip("(["))
        return True
    except ValueError:
        return word.lower().lstrip("(") in ("inf", "+inf", "-inf", "+", "-")


class _Walker:
    """A memoised backtracking matcher of words against one command's argument tree."""

    def __init__(self, doc: CommandDoc, words: list[str], strict: bool) -> None:
        self.doc, self.words, self.strict = doc, [w.upper() for w in words], strict
        self.n = len(words)
        self.keywords = doc.all_tokens if strict else frozenset()
        self.memo: dict[tuple[int, int, bool], frozenset[int]] = {}
        self.expected: dict[tuple[int, str, bool], Expected] = {}
        self.top_of: dict[int, int] = {}
        self.about: dict[int, str] = {}
        self.fresh: set[int] = set()
        self.used: set[int] = set()  # optional arguments already given, on some reading
        for index, arg in enumerate(doc.args):
            self._index(arg, index)

    def _index(self, arg: Arg, top: int, parent: Arg | None = None) -> None:
        self.top_of[id(arg)] = top
        named = arg.name and arg.name.upper() != (arg.token or "").upper()
        self.about[id(arg)] = arg.name if named else (parent.name if parent else "")
        for child in arg.children:
            self._index(child, top, arg)

    def _expect(self, arg: Arg, kind: str, repeat: bool) -> None:
        key = (id(arg), kind, repeat)
        if key not in self.expected:
            self.expected[key] = Expected(arg, kind, self.top_of[id(arg)], repeat, self.about[id(arg)])

    def sequence(self, args: Iterable[Arg], i: int) -> set[int]:
        positions = {i}
        for arg in args:
            positions = {end for p in positions for end in self.arg(arg, p)}
            if not positions:
                break
        return positions

    def top_level(self, args: tuple[Arg, ...]) -> set[int]:
        """The command's own arguments. A run of optional ones may come in any order, as
        Redis accepts (`SET k v EX 10 NX`); each is used at most once."""
        positions, index = {0}, 0
        while index < len(args) and positions:
            run = 1
            if args[index].optional:
                while index + run < len(args) and args[index + run].optional:
                    run += 1
            for offset in range(run):
                if self.n in positions:
                    self.fresh.add(index + offset)
            if run == 1:
                positions = {end for p in positions for end in self.arg(args[index], p)}
            else:
                group = args[index : index + run]
                positions = {end for p in positions for end in self.unordered(group, index, p)}
            index += run
        return positions

    def unordered(self, group: tuple[Arg, ...], base: int, i: int) -> set[int]:
        ends: set[int] = set()
        start = (i, frozenset(range(len(group))))
        seen, frontier = {start}, [start]
        while frontier:
            pos, left = frontier.pop()
            ends.add(pos)
            if pos == self.n:
                self.fresh.update(base + k for k in left)
                self.used.update(base + k for k in range(len(group)) if k not in left)
            for k in left:
                for end in self.arg(group[k], pos) - {pos}:
                    state = (end, left - {k})
                    if state not in seen:
                        seen.add(state)
                        frontier.append(state)
        return ends

    def arg(self, arg: Arg, i: int) -> frozenset[int]:
        """End positions of `arg` (with its optional/multiple flags) starting at word `i`."""
        ends = {i} if arg.optional else set()
        first = self.once(arg, i, repeat=False)
        ends |= first
        if arg.multiple:
            seen, frontier = set(first), set(first)
            while frontier:
                following = {e for j in frontier for e in self.once(arg, j, repeat=True)} - seen
                seen |= following
                frontier = following
            ends |= seen
        return frozenset(ends)

    def once(self, arg: Arg, i: int, repeat: bool) -> frozenset[int]:
        key = (id(arg), i, repeat)
        if key not in self.memo:
            self.memo[key] = frozenset(self._once(arg, i, repeat))
        return self.memo[key]

    def _once(self, arg: Arg, i: int, repeat: bool) -> set[int]:
        if arg.type == "pure-token":
            return self.token(arg, i, repeat)
        after = self.token(arg, i, repeat) if arg.token and (not repeat or arg.multiple_token) else {i}
        ends: set[int] = set()
        for j in after:
            if arg.type == "oneof":
                for child in arg.children:
                    ends |= self.arg(child, j)
            elif arg.type == "block":
                ends |= self.sequence(arg.children, j)
            else:
                ends |= self.value(arg, j, repeat)
        return ends

    def token(self, arg: Arg, i: int, repeat: bool) -> set[int]:
        if i == self.n:
            self._expect(arg, "token", repeat)
            return set()
        return {i + 1} if self.words[i] == (arg.token or arg.name).upper() else set()

    def value(self, arg: Arg, i: int, repeat: bool) -> set[int]:
        if i == self.n:
            self._expect(arg, "value", repeat)
            return set()
        if self.strict:
            word = self.words[i]
            if word in self.keywords:
                return set()
            if arg.type in ("integer", "double") and not _looks_numeric(word, arg.type):
                return set()
        return {i + 1}


def analyze(doc: CommandDoc, words: list[str]) -> Analysis:
    """What may follow `words` (the arguments after the command name) according to `doc`.

    Keywords are read as keywords when that gives a reading (`ZADD k NX` means the NX
    option, not a score); only if nothing fits that way are they allowed as values.
    """
    for strict in (True, False):
        walker = _Walker(doc, words, strict)
        ends = walker.top_level(doc.args)
        if walker.expected or len(words) in ends:
            expected = list(walker.expected.values())
            return Analysis(doc, expected, complete=len(words) in ends, fresh=walker.fresh, used=walker.used)
    return Analysis(doc, [], complete=False, matched=False)


# --- looking names up on the server -----------------------------------------------------


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


class RedisSource:
    """Key, member, channel and config names from the server, for completion.

    Every lookup is bounded (at most `limit` names, `budget` seconds of SCAN calls) and
    cached for `ttl` seconds; a finished scan for a prefix also answers longer prefixes.
    """

    def __init__(
        self,
        execute: Execute,
        ttl: float = 3.0,
        limit: int = 50,
        budget: float = 0.15,
        pipeline: Callable[[list[tuple[Any, ...]]], list[Any]] | None = None,
    ) -> None:
        self.execute = execute
        self.pipeline = pipeline
        self.ttl, self.limit, self.budget = ttl, limit, budget
        self._cache: dict[tuple, tuple[float, list[bytes], bool]] = {}
        self._lock = threading.Lock()
        self._table: CommandTable | None = None

    # commands
    def command_table(self) -> CommandTable:
        if self._table is None:
            self._table = load_command_table(self.execute, self._server_id())
        return self._table

    def _server_id(self) -> tuple[str, ...] | None:
        try:
            info = self.execute("INFO", "server")
        except Exception:  # noqa: BLE001
            return None
        if not isinstance(info, bytes):
            return None
        fields = dict(
            line.split(":", 1) for line in info.decode(errors="replace").splitlines() if ":" in line
        )
        return (fields.get("run_id", ""), fields.get("redis_version", ""), fields.get("tcp_port", ""))

    # generic cached scan
    def _cached(self, key: tuple, prefix: bytes) -> list[bytes] | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key + (prefix,))
            if hit and now - hit[0] < self.ttl:
                return hit[1]
            for (*rest, cached_prefix), (stamp, names, finished) in self._cache.items():
                if (
                    tuple(rest) == key
                    and finished
                    and now - stamp < self.ttl
                    and prefix.startswith(cached_prefix)
                ):
                    return [name for name in names if name.startswith(prefix)]
        return None

    def _store(self, key: tuple, prefix: bytes, names: list[bytes], finished: bool) -> None:
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key + (prefix,)] = (time.monotonic(), names, finished)

    def _scan(self, command: list[Any], pattern: bytes, extra: list[Any]) -> tuple[list[bytes], bool]:
        """Run a SCAN-family command until done, `limit` names, or the time budget."""
        names: list[bytes] = []
        seen: set[bytes] = set()
        cursor: Any = b"0"
        deadline = time.monotonic() + self.budget
        while True:
            reply = self.execute(*command, cursor, "MATCH", pattern, "COUNT", 1000, *extra)
            if not isinstance(reply, list) or len(reply) != 2:
                return names, True
            cursor, batch = reply
            step = 2 if command[0] in ("HSCAN", "ZSCAN") else 1
            for name in batch[::step]:
                if isinstance(name, bytes) and name not in seen:
                    seen.add(name)
                    names.append(name)
            if cursor in (b"0", 0, "0"):
                return names, len(names) < self.limit * 4
            if len(names) >= self.limit * 4 or time.monotonic() > deadline:
                return names, False

    def _lookup(self, command: list[Any], prefix: bytes, extra: list[Any]) -> list[bytes]:
        key = (tuple(command), tuple(extra))
        cached = self._cached(key, prefix)
        if cached is not None:
            return cached
        names, finished = self._scan(command, escape_glob(prefix) + b"*", extra)
        names.sort()
        self._store(key, prefix, names, finished)
        return names

    def keys(self, prefix: bytes, key_type: str | None = None, fuzzy: bool = True) -> list[bytes]:
        """Key names starting with `prefix` (of `key_type` if given), then fuzzy matches."""
        extra = ["TYPE", key_type] if key_type else []
        names = self._lookup(["SCAN"], prefix, extra)
        if fuzzy and prefix and len(names) < 5:
            pattern = b"*" + b"*".join(escape_glob(bytes([c])) for c in prefix) + b"*"
            more, _ = self._scan(["SCAN"], pattern, extra)
            names = names + sorted(set(more) - set(names))
        return names[: self.limit]

    def types(self, keys: list[bytes]) -> dict[bytes, str]:
        """The type of each key (one pipelined round trip; empty when pipelining is unavailable)."""
        if self.pipeline is None or not keys:
            return {}
        replies = self.pipeline([("TYPE", key) for key in keys])
        return {
            key: _text(reply) for key, reply in zip(keys, replies, strict=False) if isinstance(reply, bytes)
        }

    def members(self, key: bytes, key_type: str, prefix: bytes) -> list[bytes]:
        """Hash fields, set or sorted-set members of `key` that start with `prefix`."""
        command = {"hash": "HSCAN", "set": "SSCAN", "zset": "ZSCAN"}.get(key_type)
        if command is None:
            return []
        return self._lookup([command, key], prefix, [])[: self.limit]

    def stream_groups(self, key: bytes, prefix: bytes) -> list[bytes]:
        """Consumer groups of the stream `key` whose names start with `prefix` (XINFO GROUPS)."""
        return self._xinfo_names(("XINFO", "GROUPS", key), prefix)

    def stream_consumers(self, key: bytes, group: bytes, prefix: bytes) -> list[bytes]:
        """Consumers of `group` in the stream `key` whose names start with `prefix` (XINFO CONSUMERS)."""
        return self._xinfo_names(("XINFO", "CONSUMERS", key, group), prefix)

    def _xinfo_names(self, command: tuple, prefix: bytes) -> list[bytes]:
        cached = self._cached(command, b"")
        if cached is None:
            try:
                reply = self.execute(*command)
            except Exception:  # noqa: BLE001 - no such key or group, wrong type: nothing to offer
                reply = []
            names = []
            for item in reply if isinstance(reply, list) else []:
                fields = item if isinstance(item, dict) else dict(zip(item[::2], item[1::2], strict=False))
                name = fields.get(b"name", fields.get("name"))
                if isinstance(name, str):
                    name = name.encode("utf-8", "surrogateescape")
                if isinstance(name, bytes):
                    names.append(name)
            cached = sorted(names)
            self._store(command, b"", cached, True)
        return [name for name in cached if name.startswith(prefix)][: self.limit]

    def channels(self, prefix: bytes, shard: bool = False) -> list[bytes]:
        key = ("PUBSUB", shard)
        cached = self._cached(key, prefix)
        if cached is None:
            reply = self.execute(
                "PUBSUB", "SHARDCHANNELS" if shard else "CHANNELS", escape_glob(prefix) + b"*"
            )
            cached = sorted(reply) if isinstance(reply, list) else []
            self._store(key, prefix, cached, True)
        return cached[: self.limit]

    def config_params(self) -> list[str]:
        key = ("CONFIG",)
        cached = self._cached(key, b"")
        if cached is None:
            reply = self.execute("CONFIG", "GET", "*")
            cached = sorted(reply[::2]) if isinstance(reply, list) else []
            self._store(key, b"", cached, True)
        return [_text(name) for name in cached]


# --- the completer ----------------------------------------------------------------------


@dataclass
class Hint:
    """The hint line: the command's syntax from here on and its one-line summary."""

    command: str = ""
    arguments: str = ""
    summary: str = ""

    def __str__(self) -> str:
        about = f"{self.command}: {self.summary}" if self.summary else self.command
        return f"{self.arguments}  — {about}" if self.arguments else about


def _case_like(name: str, typed: str) -> str:
    """Insert names in lower case when the user types lower case."""
    return name.lower() if typed and typed == typed.lower() and typed != typed.upper() else name


class RedisCompleter(Completer):
    """prompt_toolkit completer for Redis command lines, driven by `COMMAND DOCS`."""

    def __init__(self, source: RedisSource, fuzzy: bool = True) -> None:
        self.source = source
        self.fuzzy = fuzzy

    @property
    def table(self) -> CommandTable:
        return self.source.command_table()

    def _ranked(self, names: Iterable[str], typed: str) -> list[str]:
        scored = []
        for name in names:
            rank = fuzzy_rank(name, typed) if typed else (0, 0)
            if rank is not None and (self.fuzzy or rank[0] == 0):
                scored.append((rank, name))
        return [name for _, name in sorted(scored)]

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        words, current = scan_words(document.text_before_cursor)
        replace = -(len(document.text_before_cursor) - current.start)
        typed = current.text
        table = self.table
        if not words:
            for name in self._ranked(table.names(), typed):
                doc = table.get(name)
                yield Completion(_case_like(name, typed), replace, display_meta=doc.summary if doc else "")
            return
        values = [w.text for w in words]
        doc, used = table.resolve(values)
        if doc is None:
            return
        if doc.subcommands and used == 1:
            if len(words) == 1:
                for name in self._ranked(doc.subcommands, typed):
                    sub = doc.subcommands[name]
                    yield Completion(_case_like(name, typed), replace, display_meta=sub.summary)
            return
        analysis = analyze(doc, values[used:])
        yield from self._argument_completions(analysis, values[used:], current, replace)

    def _argument_completions(
        self, analysis: Analysis, args: list[str], current: Word, replace: int
    ) -> Iterator[Completion]:
        typed = current.text
        seen: set[str] = set()
        tokens = [exp for exp in analysis.expected if exp.kind == "token"]
        for name in self._ranked({(exp.arg.token or exp.arg.name).upper() for exp in tokens}, typed):
            meta = next(exp.meta() for exp in tokens if (exp.arg.token or "").upper() == name)
            text = _case_like(name, typed)
            if text not in seen:
                seen.add(text)
                yield Completion(text, replace, display_meta=meta)
        for exp in analysis.expected:
            if exp.kind != "value":
                continue
            for value, meta in self._values(analysis.doc, exp.arg, args, current):
                text = quote_arg(value)
                if text not in seen:
                    seen.add(text)
                    yield Completion(text, replace, display=printable(value), display_meta=meta)

    def _values(self, doc: CommandDoc, arg: Arg, args: list[str], current: Word) -> list[tuple[Any, str]]:
        """Names from the server for a value argument, with a short description each."""
        prefix = current.value
        name = arg.name.lower()
        try:
            if arg.type == "key":
                kind = doc.key_type
                keys = self.source.keys(prefix, kind)
                types = {} if kind else self.source.types(keys)
                return [(key, kind or types.get(key, "key")) for key in keys]
            if doc.name in ("CONFIG GET", "CONFIG SET") and name == "parameter":
                typed = current.text
                return [(p, "config") for p in self._ranked(self.source.config_params(), typed)][:50]
            if name in ("channel", "shardchannel"):
                found = self.source.channels(prefix, shard=name == "shardchannel")
                return [(channel, "channel") for channel in found]
            if name == "type" and arg.type == "string":  # SCAN ... TYPE <type>
                return [(t, "type") for t in self._ranked(KEY_TYPES, current.text)]
            if name == "command-name":
                return [(n, "command") for n in self._ranked(self.table.names(), current.text)][:50]
            key_type = doc.key_type
            first_is_key = doc.args and doc.args[0].type == "key" and not doc.args[0].token
            if key_type == "stream" and first_is_key and args:
                # XACK/XPENDING/XCLAIM/XAUTOCLAIM/XGROUP .../XINFO CONSUMERS: key, group, consumer.
                key = args[0].encode("utf-8", "surrogateescape")
                if name in ("group", "groupname"):
                    return [(g, "group") for g in self.source.stream_groups(key, prefix)]
                if name in ("consumer", "consumername") and len(args) >= 2:
                    group = args[1].encode("utf-8", "surrogateescape")
                    return [(c, "consumer") for c in self.source.stream_consumers(key, group, prefix)]
            wants = {"hash": ("field",), "set": ("member",), "zset": ("member",)}.get(key_type or "", ())
            if name in wants and first_is_key and args:
                key = args[0].encode("utf-8", "surrogateescape")
                return [(m, name) for m in self.source.members(key, key_type or "", prefix)]
        except Exception:  # noqa: BLE001 - completion must never break typing
            return []
        return []

    # hints
    def hint(self, text: str) -> Hint:
        """The hint for a line: the matched command, the arguments still to type, its summary."""
        words, current = scan_words(text)
        typing = bool(current.value or current.quote)
        if typing:
            words = [*words, current]
        if not words:
            return Hint()
        table = self.table
        values = [w.text for w in words]
        doc, used = table.resolve(values)
        if doc is None:
            return Hint()
        if doc.subcommands and used == 1:
            subs = " | ".join(sorted(doc.subcommands))
            return Hint(doc.name, subs, doc.summary)
        if not doc.has_docs:
            return Hint(doc.name)
        finished = [w.text for w in (words[used:-1] if typing else words[used:])]
        analysis = analyze(doc, finished)
        return Hint(doc.name, analysis.hint(), doc.summary)


# --- highlighting -----------------------------------------------------------------------


def classify(text: str, table: CommandTable | None) -> list[tuple[int, int, str]]:
    """Spans `(start, end, role)` of a line; roles: command, keyword, key, number, string, argument."""
    words, current = scan_words(text)
    if current.end > current.start:
        words = [*words, current]
    spans: list[tuple[int, int, str]] = []
    doc, used = table.resolve([w.text for w in words]) if table else (None, 0)
    keywords = doc.all_tokens if doc else frozenset()
    first_key = used if doc and doc.args and doc.args[0].type == "key" and not doc.args[0].token else -1
    for index, word in enumerate(words):
        raw = text[word.start : word.end]
        if index < max(used, 1):
            role = "command" if doc else "unknown"
        elif word.text.upper() in keywords and raw[:1] not in "\"'":
            role = "keyword"
        elif index == first_key:
            role = "key"
        elif raw[:1] in "\"'":
            role = "string"
        elif re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", word.text):
            role = "number"
        else:
            role = "argument"
        spans.append((word.start, word.end, role))
    return spans


class RedisLexer(Lexer):
    """prompt_toolkit lexer: styles `class:command`, `class:keyword`, `class:key`, ..."""

    def __init__(self, table: Callable[[], CommandTable | None]) -> None:
        self.table = table

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        lines = document.lines

        def get_line(number: int) -> StyleAndTextTuples:
            line = lines[number]
            try:
                table = self.table()
            except Exception:  # noqa: BLE001
                table = None
            fragments: StyleAndTextTuples = []
            pos = 0
            for start, end, role in classify(line, table):
                if start > pos:
                    fragments.append(("", line[pos:start]))
                fragments.append((f"class:{role}", line[start:end]))
                pos = end
            if pos < len(line):
                fragments.append(("", line[pos:]))
            return fragments

        return get_line


# --- commands worth a confirmation -------------------------------------------------------

DANGEROUS: dict[str, str] = {
    "FLUSHALL": "deletes every key in every database",
    "FLUSHDB": "deletes every key in the current database",
    "KEYS": "walks the whole keyspace and blocks the server meanwhile (SCAN does not)",
    "SHUTDOWN": "stops the server",
    "DEBUG": "can stall or crash the server",
    "SWAPDB": "swaps two whole databases",
    "CONFIG SET": "changes the server's configuration",
    "CONFIG RESETSTAT": "resets the server's statistics",
    "SCRIPT FLUSH": "removes every cached Lua script",
    "FUNCTION FLUSH": "deletes every library",
    "CLUSTER RESET": "resets the cluster node",
    "REPLICAOF": "makes the server a replica, discarding its data",
    "SLAVEOF": "makes the server a replica, discarding its data",
    "FAILOVER": "switches the master over",
    "CLIENT KILL": "disconnects clients",
    "ACL DELUSER": "deletes users",
}


def dangerous_reason(words: list[str]) -> str | None:
    """Why running these words deserves a confirmation, or None."""
    if not words:
        return None
    head = words[0].upper()
    if len(words) > 1 and f"{head} {words[1].upper()}" in DANGEROUS:
        return DANGEROUS[f"{head} {words[1].upper()}"]
    return DANGEROUS.get(head)
