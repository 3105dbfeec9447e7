"""COMMAND INFO and COMMAND DOCS, byte for byte: every command ours declares against redis-server 7.0.15.

The whole entry is compared (name, arity, flags, legacy key positions, ACL
categories, tips, key specs, subcommands) in RESP2 and RESP3, for every command
and subcommand our ``COMMAND LIST`` names, so a command added later (the
replication and cluster ones) is checked as it lands: one declared without key
specs, or with other specs than Redis's, fails here. The one normalisation:
Redis lists a container's subcommands in the order of its hash table, which a
random seed shuffles at each start, so they are compared as a multiset of exact
byte strings. COMMAND GETKEYS and GETKEYSANDFLAGS, derived from the same specs,
are compared over generated invocations in ``tests/fuzz/test_fuzz_commands.py``.
COMMAND DOCS is compared field by field, all but the prose this project words
itself (``OWN_WORDS``).
"""

from __future__ import annotations

import pytest

from tests.differential.harness import RawConnection, parse, raw_elements

# Commands ours declares that redis-server 7.0.15 does not have: none.
EXTENSIONS: set[str] = set()


def _normalised(entry: bytes) -> tuple[bytes, ...]:
    """One COMMAND INFO entry as exact bytes, its subcommands (if any) in a fixed order."""
    header, fields = raw_elements(entry)
    subs_header, subs = raw_elements(fields[9]) if fields[9][:1] == b"*" else (fields[9], [])
    return (header, *fields[:9], subs_header, *sorted(subs))


def _names(port: int) -> list[str]:
    conn = RawConnection(port)
    try:
        return sorted(name.decode() for name in parse(conn.call("COMMAND", "LIST")))
    finally:
        conn.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def conns(request, ours, real):
    """A connection to each server (ours first), in RESP2 or RESP3."""
    opened = [RawConnection(ours.port), RawConnection(real.port)]
    if request.param == 3:
        for conn in opened:
            conn.call("HELLO", "3")
    yield opened
    for conn in opened:
        conn.close()


def test_command_info_of_every_declared_command(ours, real, conns):
    names = _names(ours.port)
    assert set(names) - set(_names(real.port)) == EXTENSIONS
    differ = []
    for name in names:
        if name in EXTENSIONS:
            continue
        mine, theirs = (conn.call("COMMAND", "INFO", name) for conn in conns)
        _, [mine_entry] = raw_elements(mine)
        _, [their_entry] = raw_elements(theirs)
        if _normalised(mine_entry) != _normalised(their_entry):
            differ.append(f"{name}:\n  ours  {parse(mine)}\n  redis {parse(theirs)}")
    assert not differ, f"{len(differ)} of {len(names)} differ:\n" + "\n".join(differ)


def test_command_lists_every_entry_as_command_info_does(ours, real):
    """COMMAND with no argument: the same entries (Redis's order is its hash table's)."""
    replies = []
    for port in (ours.port, real.port):
        conn = RawConnection(port)
        try:
            _, entries = raw_elements(conn.call("COMMAND"))
        finally:
            conn.close()
        replies.append({parse(entry)[0].decode(): _normalised(entry) for entry in entries})
    mine, theirs = replies
    assert set(mine) - set(theirs) == EXTENSIONS
    assert {name: mine[name] for name in mine if name not in EXTENSIONS} == {name: theirs[name] for name in mine
                                                                            if name not in EXTENSIONS}


# COMMAND DOCS fields this project writes in its own words, by its rule for prose (summaries,
# complexity notes and the history of changes are Redis's documentation, not its behaviour).
# Everything else (since, group, doc flags, deprecation, the whole argument tree with names,
# types, tokens, flags, key spec indexes and per-argument since) must be Redis's, byte for byte.
OWN_WORDS = {b"summary", b"complexity", b"history"}


def _doc_fields(reply: bytes) -> list[tuple[bytes, bytes]]:
    """A one-command COMMAND DOCS reply as its (field, exact value) pairs, prose and subcommands left out."""
    _, top = raw_elements(reply)
    _, body = raw_elements(top[1])
    pairs = [(parse(body[i]), body[i + 1]) for i in range(0, len(body), 2)]
    return [(k, v) for k, v in pairs if k not in OWN_WORDS and k != b"subcommands"]


def test_command_docs_of_every_declared_command(ours, conns):
    names = [name for name in _names(ours.port) if name not in EXTENSIONS]
    differ = []
    for name in names:  # subcommands are asked by their own names (Redis lists them in hash order)
        mine, theirs = (_doc_fields(conn.call("COMMAND", "DOCS", name)) for conn in conns)
        if mine != theirs:
            differ.append(f"{name}:\n  ours  {mine}\n  redis {theirs}")
    assert not differ, f"{len(differ)} of {len(names)} differ:\n" + "\n".join(differ)
