"""The command table audited against redis-server's: declarations, coverage and documentation.

Every command (and subcommand) our ``COMMAND INFO`` lists that redis-server also
has must declare the same arity, flags, first/last/step key and ACL
categories. Every command Redis 7.0 has in the families this server
implements must exist here, apart from the commands listed in
``NOT_IMPLEMENTED`` with the reason. ``COMMAND DOCS`` must give every command
a summary and name the same tokens (``EX``, ``NX``, ``WITHSCORES`` ...) as
Redis's argument trees, since the TUI completes from them.
"""

from __future__ import annotations

import pytest

from tests.differential.harness import RawConnection, parse

# Groups (COMMAND DOCS "group") whose commands this server implements.
FAMILIES = {
    "string", "bitmap", "generic", "list", "hash", "set", "sorted-set", "pubsub", "transactions",
    "connection", "server", "hyperloglog", "geo", "stream", "scripting", "cluster",
}

# Commands of those families deliberately left out, each with the reason.
NOT_IMPLEMENTED: set[str] = set()  # none left

# Ours only: nothing (CLIENT SETINFO and NO-TOUCH are 7.2's; redis-py ignores 7.0's error to SETINFO).
EXTENSIONS: set[str] = set()


def _command_entries(port: int) -> dict[str, dict]:
    """``COMMAND``'s reply as name -> declaration (subcommands included as ``parent|sub``)."""
    conn = RawConnection(port)
    try:
        reply = parse(conn.call("COMMAND"))
    finally:
        conn.close()
    table: dict[str, dict] = {}

    def add(entry: list) -> None:
        table[entry[0].decode()] = {
            "arity": entry[1],
            "flags": {f.decode() for f in entry[2]},
            "keys": (entry[3], entry[4], entry[5]),
            "acl": {c.decode() for c in entry[6]},
        }
        for sub in entry[9]:
            add(sub)

    for entry in reply:
        add(entry)
    return table


def _tokens(args: list, into: set[str]) -> set[str]:
    for arg in args:
        fields = dict(zip(arg[::2], arg[1::2]))
        if b"token" in fields:
            into.add(fields[b"token"].decode().upper())
        _tokens(fields.get(b"arguments", []), into)
    return into


def _command_docs(port: int) -> dict[str, dict]:
    """``COMMAND DOCS`` as name -> {summary, group, tokens}, subcommands included."""
    conn = RawConnection(port)
    try:
        reply = parse(conn.call("COMMAND", "DOCS"))
    finally:
        conn.close()
    docs: dict[str, dict] = {}

    def add(name: str, body: list) -> None:
        fields = dict(zip(body[::2], body[1::2]))
        docs[name] = {
            "summary": fields.get(b"summary", b"").decode(),
            "group": fields.get(b"group", b"").decode(),
            "tokens": _tokens(fields.get(b"arguments", []), set()),
        }
        subs = fields.get(b"subcommands", [])
        for sub_name, sub_body in zip(subs[::2], subs[1::2]):
            add(sub_name.decode(), sub_body)

    for name, body in zip(reply[::2], reply[1::2]):
        add(name.decode(), body)
    return docs


@pytest.fixture(scope="module")
def tables(ours, real):
    return _command_entries(ours.port), _command_entries(real.port)


@pytest.fixture(scope="module")
def docs(ours, real):
    return _command_docs(ours.port), _command_docs(real.port)


def test_declarations_match_redis(tables):
    mine, theirs = tables
    mistakes = []
    for name in sorted(set(mine) & set(theirs)):
        for field in ("arity", "flags", "keys", "acl"):
            if mine[name][field] != theirs[name][field]:
                mistakes.append(f"{name} {field}: ours={mine[name][field]} redis={theirs[name][field]}")
    assert not mistakes, "\n".join(mistakes)


def test_only_deliberate_extensions(tables):
    mine, theirs = tables
    assert set(mine) - set(theirs) == EXTENSIONS


def test_every_command_of_our_families_exists(tables, docs):
    mine, _ = tables
    _, their_docs = docs
    wanted = {name for name, doc in their_docs.items() if doc["group"] in FAMILIES}
    missing = sorted(wanted - set(mine) - NOT_IMPLEMENTED)
    assert not missing, f"commands Redis 7.0 has and we lack: {missing}"
    # The list of omissions stays honest: nothing on it exists, and everything on it is Redis's.
    assert not NOT_IMPLEMENTED & set(mine)
    assert NOT_IMPLEMENTED <= wanted


def test_every_command_has_a_summary(docs):
    mine, _ = docs
    assert [name for name, doc in mine.items() if not doc["summary"].strip()] == []


def test_argument_tokens_match_redis(docs):
    mine, theirs = docs
    differences = []
    for name in sorted(set(mine) & set(theirs)):
        if mine[name]["tokens"] != theirs[name]["tokens"]:
            extra = sorted(mine[name]["tokens"] - theirs[name]["tokens"])
            lacking = sorted(theirs[name]["tokens"] - mine[name]["tokens"])
            differences.append(f"{name}: ours only {extra}, redis only {lacking}")
    assert not differences, "\n".join(differences)


def test_groups_match_redis(docs):
    mine, theirs = docs
    differ = sorted(
        f"{name}: ours={mine[name]['group']} redis={theirs[name]['group']}"
        for name in set(mine) & set(theirs)
        if mine[name]["group"] != theirs[name]["group"]
    )
    assert not differ, "\n".join(differ)
