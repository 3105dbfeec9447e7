"""Command metadata read from the connected server's `COMMAND DOCS`.

Redis 7 (and our bundled server) describe every command's arguments as a tree:
leaves are typed values (`key`, `string`, `integer`, ...) or `pure-token` keywords,
inner nodes are `oneof` (alternatives) and `block` (a sequence); any node may carry a
keyword `token`, and the flags `optional`, `multiple` and `multiple_token`. This module
turns that reply into `Arg` / `CommandDoc` values; `completion.py` walks them generically.

Servers without `COMMAND DOCS` (Redis < 7) fall back to the names from `COMMAND`.
Tables are cached per server (address + version + run id) for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Arg", "CommandDoc", "CommandTable", "find_help", "load_command_table", "parse_docs"]

# The value type a key argument must hold, by the command group that uses it.
GROUP_KEY_TYPES = {
    "string": "string",
    "bitmap": "string",
    "hyperloglog": "string",
    "list": "list",
    "hash": "hash",
    "set": "set",
    "sorted-set": "zset",
    "geo": "zset",
    "stream": "stream",
}


@dataclass(frozen=True, eq=False)
class Arg:
    """One node of a command's argument tree (identity-compared: each node is unique)."""

    name: str
    type: str
    token: str | None = None
    optional: bool = False
    multiple: bool = False
    multiple_token: bool = False
    children: tuple[Arg, ...] = ()
    display_text: str | None = None

    @property
    def is_value(self) -> bool:
        return self.type not in ("pure-token", "oneof", "block")

    def syntax(self, bare: bool = False) -> str:
        """redis-cli's hint notation: `[EX seconds|PX milliseconds]`, `key [key ...]`."""
        if self.type == "pure-token":
            body = self.token or self.name
        else:
            if self.type == "oneof":
                inner = "|".join(child.syntax() for child in self.children)
            elif self.type == "block":
                inner = " ".join(child.syntax() for child in self.children)
            else:
                inner = self.display_text or self.name
            body = f"{self.token} {inner}" if self.token else inner
        if self.multiple:
            again = body if (self.multiple_token or not self.token) else body.split(" ", 1)[-1]
            body = f"{body} [{again} ...]"
        if self.optional and not bare:
            body = f"[{body}]"
        return body

    def tokens(self) -> Iterable[str]:
        """Every keyword in this subtree (used to prefer reading keywords as keywords)."""
        if self.token:
            yield self.token.upper()
        for child in self.children:
            yield from child.tokens()


@dataclass(eq=False)
class CommandDoc:
    """A command (or a subcommand such as `CONFIG GET`) and what its docs say."""

    name: str  # upper case, subcommands as "CONFIG GET"
    summary: str = ""
    since: str = ""
    group: str = ""
    complexity: str = ""
    args: tuple[Arg, ...] = ()
    subcommands: dict[str, CommandDoc] = field(default_factory=dict)
    has_docs: bool = True

    @property
    def key_type(self) -> str | None:
        """The type a key argument should have (None: any type)."""
        return GROUP_KEY_TYPES.get(self.group)

    @property
    def all_tokens(self) -> frozenset[str]:
        return frozenset(token for arg in self.args for token in arg.tokens())

    def syntax(self) -> str:
        return " ".join(arg.syntax() for arg in self.args)


class CommandTable:
    """All commands of one server, by upper-case name."""

    def __init__(self, commands: dict[str, CommandDoc]) -> None:
        self.commands = commands

    def __contains__(self, name: str) -> bool:
        return name.upper() in self.commands

    def __len__(self) -> int:
        return len(self.commands)

    def get(self, name: str) -> CommandDoc | None:
        return self.commands.get(name.upper())

    def names(self) -> list[str]:
        return sorted(self.commands)

    def resolve(self, words: list[str]) -> tuple[CommandDoc | None, int]:
        """The command (or subcommand) the words start with, and how many words name it."""
        if not words:
            return None, 0
        doc = self.get(words[0])
        if doc is None:
            return None, 0
        if doc.subcommands and len(words) > 1:
            sub = doc.subcommands.get(words[1].upper())
            if sub is not None:
                return sub, 2
        return doc, 1


def find_help(table: CommandTable, topic: list[str]) -> list[CommandDoc]:
    """What `HELP <command>` or `HELP @<group>` shows, as redis-cli's help does."""
    if not topic:
        return []
    if topic[0].startswith("@"):
        group = topic[0][1:].lower()
        docs = [doc for doc in table.commands.values() if doc.group == group]
        docs += [
            sub for doc in table.commands.values() for sub in doc.subcommands.values() if sub.group == group
        ]
        return sorted(docs, key=lambda doc: doc.name)
    doc, used = table.resolve(topic)
    if doc is None:
        return []
    if doc.subcommands and used == 1:
        return [doc, *sorted(doc.subcommands.values(), key=lambda sub: sub.name)]
    return [doc]


# --- parsing the reply -----------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _pairs(value: Any) -> dict[str, Any]:
    """A RESP2 flat list `[k, v, k, v]` or a RESP3 map, as a dict with str keys."""
    if isinstance(value, dict):
        return {_text(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {_text(value[i]): value[i + 1] for i in range(0, len(value) - 1, 2)}
    return {}


def _parse_arg(raw: Any) -> Arg:
    info = _pairs(raw)
    flags = {_text(flag) for flag in info.get("flags") or []}
    token = info.get("token")
    return Arg(
        name=_text(info.get("name", "")),
        type=_text(info.get("type", "string")),
        token=_text(token) if token is not None else None,
        optional="optional" in flags,
        multiple="multiple" in flags,
        multiple_token="multiple_token" in flags,
        children=tuple(_parse_arg(child) for child in info.get("arguments") or []),
        display_text=_text(info["display_text"]) if "display_text" in info else None,
    )


def _parse_command(name: str, raw: Any) -> CommandDoc:
    info = _pairs(raw)
    subcommands = {}
    for sub_name, sub_raw in _pairs(info.get("subcommands") or []).items():
        full = sub_name.replace("|", " ").upper()
        subcommands[full.split(" ", 1)[-1]] = _parse_command(full, sub_raw)
    return CommandDoc(
        name=name.upper(),
        summary=_text(info.get("summary", "")),
        since=_text(info.get("since", "")),
        group=_text(info.get("group", "")),
        complexity=_text(info.get("complexity", "")),
        args=tuple(_parse_arg(arg) for arg in info.get("arguments") or []),
        subcommands=subcommands,
    )


def parse_docs(reply: Any) -> CommandTable:
    """Build a table from a `COMMAND DOCS` reply (RESP2 list or RESP3 map)."""
    commands: dict[str, CommandDoc] = {}
    for name, raw in _pairs(reply).items():
        if "|" in name:  # a server listing subcommands at the top level
            parent, sub = name.upper().split("|", 1)
            doc = _parse_command(f"{parent} {sub}", raw)
            commands.setdefault(parent, CommandDoc(parent)).subcommands[sub] = doc
        else:
            doc = _parse_command(name, raw)
            if name.upper() in commands:
                doc.subcommands.update(commands[name.upper()].subcommands)
            commands[doc.name] = doc
    return CommandTable(commands)


def parse_command_names(reply: Any) -> CommandTable:
    """Fallback for old servers: names (and nothing else) from a `COMMAND` reply."""
    commands = {}
    for entry in reply or []:
        if isinstance(entry, list) and entry:
            name = _text(entry[0]).upper()
            commands[name] = CommandDoc(name, has_docs=False)
    return CommandTable(commands)


# --- loading, with a per-server cache ---------------------------------------------------

_cache: dict[tuple[str, ...], CommandTable] = {}
_cache_lock = threading.Lock()


def _is_error(reply: Any) -> bool:
    return isinstance(reply, Exception) or type(reply).__name__ == "ErrorReply"


def load_command_table(execute: Any, server_id: tuple[str, ...] | None = None) -> CommandTable:
    """Fetch (or reuse) the table of the server behind `execute(*args) -> reply`.

    `execute` is a synchronous function sending one command and returning its raw reply;
    errors may be returned or raised. `server_id` keys the cache (e.g. address, version, run id).
    """
    if server_id is not None:
        with _cache_lock:
            if server_id in _cache:
                return _cache[server_id]
    table: CommandTable | None = None
    try:
        reply = execute("COMMAND", "DOCS")
        if not _is_error(reply) and reply:
            table = parse_docs(reply)
    except Exception:  # noqa: BLE001 - any failure means "no docs": fall back below
        table = None
    if table is None:
        try:
            reply = execute("COMMAND")
            table = parse_command_names(reply if not _is_error(reply) else [])
        except Exception:  # noqa: BLE001
            table = CommandTable({})
    if server_id is not None:
        with _cache_lock:
            _cache[server_id] = table
    return table
