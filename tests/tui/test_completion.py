"""Table-driven tests of the completion engine against live servers.

Each case is `input -> completions` (`want` must all be offered, `not_want` must not,
`exact` is the whole list) or `input -> hint`. The engine reads `COMMAND DOCS` from the
server and looks names up with SCAN, so every case runs against `redis-server` and the
bundled server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from conftest_cmdline import *  # noqa: F403
from conftest_cmdline import ServerHandle, needs, require
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from redistui.completion import RedisCompleter, RedisSource
from redistui.shell import TypedClient


@dataclass
class Case:
    text: str
    want: tuple[str, ...] = ()
    not_want: tuple[str, ...] = ()
    exact: tuple[str, ...] | None = None
    first: str | None = None


CASES = [
    # command names and subcommands
    Case("GE", want=("GET", "GETEX", "GETDEL", "GETRANGE"), first="GET"),
    Case("get", want=("get", "getex"), first="get"),
    Case("hg", want=("hget", "hgetall"), not_want=("HGET",)),
    Case("CONFIG ", want=("GET", "SET", "RESETSTAT", "REWRITE")),
    Case("CONFIG G", exact=("GET",)),
    Case("client l", want=("list",)),
    Case("OBJECT ", want=("ENCODING", "FREQ", "IDLETIME", "REFCOUNT")),
    Case("FOO ", exact=()),
    # option keywords at the cursor's position
    Case("SET k v ", exact=("EX", "EXAT", "GET", "KEEPTTL", "NX", "PX", "PXAT", "XX")),
    Case("SET k v NX ", want=("GET", "EX", "KEEPTTL"), not_want=("NX", "XX")),
    Case("SET k v EX ", exact=()),
    Case("SET k v EX 10 ", want=("NX", "XX", "GET"), not_want=("EX", "PX", "KEEPTTL")),
    Case("set k v e", want=("ex", "exat"), not_want=("nx",)),
    Case("GETEX k ", exact=("EX", "EXAT", "PERSIST", "PX", "PXAT")),
    Case("ZADD board ", exact=("CH", "GT", "INCR", "LT", "NX", "XX")),
    Case("ZADD board NX ", want=("GT", "LT", "CH", "INCR"), not_want=("NX", "XX")),
    Case("ZRANGE board 0 -1 ", want=("BYSCORE", "BYLEX", "REV", "LIMIT", "WITHSCORES")),
    Case("ZRANGE board 0 -1 WITHSCORES ", want=("BYSCORE", "REV", "LIMIT"), not_want=("WITHSCORES",)),
    Case("SCAN 0 ", exact=("COUNT", "MATCH", "TYPE")),
    Case("SCAN 0 TYPE ", exact=("hash", "list", "set", "stream", "string", "zset")),
    Case("SCAN 0 TYPE z", exact=("zset",)),
    Case("EXPIRE k 10 ", exact=("GT", "LT", "NX", "XX")),
    Case("SORT queue:jobs ", want=("BY", "LIMIT", "GET", "ASC", "DESC", "ALPHA", "STORE")),
    Case("LPOS queue:jobs x ", exact=("COUNT", "MAXLEN", "RANK")),
    Case("XREAD ", exact=("BLOCK", "COUNT", "STREAMS")),
    Case("GEOSEARCH places FROMMEMBER m ", exact=("BYBOX", "BYRADIUS")),
    Case("CLIENT KILL ", want=("ID", "TYPE", "USER", "ADDR", "SKIPME")),
    Case("BITCOUNT k 0 1 ", exact=("BIT", "BYTE")),
    Case("LMOVE a b ", exact=("LEFT", "RIGHT")),
    Case("CLIENT KILL TYPE ", want=("NORMAL", "MASTER", "PUBSUB")),
    Case("ZINTERSTORE d 2 a b WEIGHTS 1 2 ", exact=("AGGREGATE",)),
    Case("XGROUP CREATE s g ", exact=("$",)),
    Case("MEMORY USAGE k ", exact=("SAMPLES",)),
    # key names, filtered by the type the command works on
    Case("HGET ", exact=("h:cfg", "user:1")),
    Case("GET user:", exact=("user:1:name", "user:2:name")),
    Case("DEL user:", exact=("user:1", "user:1:name", "user:2:name")),
    Case("LPUSH ", exact=("queue:jobs",)),
    Case("SMEMBERS ", exact=("tags",)),
    Case("ZSCORE ", exact=("board",)),
    Case("XADD ", want=("events",), not_want=("tags",)),
    Case("GET key", exact=('"key with space"',)),
    Case('GET "key w', exact=('"key with space"',)),
    Case("GET glob", exact=("glob*star",)),
    Case("GET glob*", exact=("glob*star",)),
    Case("GET u2n", want=("user:2:name",)),
    Case("MGET user:1:name ", want=("user:2:name", "greeting")),
    Case("OBJECT ENCODING user:", want=("user:1", "user:1:name")),
    # fields and members of the key already typed
    Case("HGET user:1 ", exact=("age", "email", "name")),
    Case("HGET user:1 e", exact=("email",)),
    Case("HMGET user:1 name ", want=("email", "age")),
    Case("SISMEMBER tags ", exact=("blue", "green", "red")),
    Case("ZSCORE board a", exact=("alice",)),
    # consumer groups and consumers of the stream already typed
    Case("XACK events ", exact=("loggers", "workers")),
    Case("XPENDING events w", exact=("workers",)),
    Case("XCLAIM events workers ", exact=("alice", "bob")),
    Case("XGROUP DELCONSUMER events workers b", exact=("bob",)),
    Case("XINFO CONSUMERS events ", exact=("loggers", "workers")),
    # channels and config parameters
    Case("PUBLISH news.", exact=("news.sport", "news.tech")),
    Case("SUBSCRIBE news.sport ", want=("news.tech",)),
    Case("CONFIG GET maxmemory-p", want=("maxmemory-policy",), first="maxmemory-policy"),
    Case("CONFIG SET maxmemory-policy ", exact=()),
]


HINTS = [
    (
        "SET ",
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
    ),
    (
        "SET k v NX ",
        "[GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
    ),
    ("SET k v EX ", "seconds"),
    ("GETEX k ", "[EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]"),
    ("MGET a ", "[key ...]"),
    ("HGET", "key field"),
    ("HGET h ", "field"),
    ("GET k ", ""),
    ("LPUSH ", "key element [element ...]"),
]


@pytest.fixture(scope="module")
def seeded(cmdline_server: ServerHandle) -> Iterator[ServerHandle]:
    require(cmdline_server, *SEED)
    client = cmdline_server.client()
    client.flushall()
    client.set("user:1:name", "ann")
    client.set("user:2:name", "bob")
    client.set("greeting", "hi")
    client.set("key with space", "x")
    client.set("glob*star", "x")
    client.hset("user:1", mapping={"name": "ann", "email": "a@x", "age": "3"})
    client.hset("h:cfg", mapping={"k": "v"})
    client.rpush("queue:jobs", "a", "b")
    client.sadd("tags", "red", "green", "blue")
    client.zadd("board", {"alice": 1, "bob": 2})
    try:
        client.xadd("events", {"a": "1"})
        client.xgroup_create("events", "workers", id="0")
        client.xgroup_create("events", "loggers", id="0")
        client.xgroup_createconsumer("events", "workers", "alice")
        client.xgroup_createconsumer("events", "workers", "bob")
    except redis.ResponseError:  # a server without streams: only the stream cases need it
        pass
    subscriber = cmdline_server.client().pubsub()
    subscriber.subscribe("news.sport", "news.tech")
    subscriber.get_message(timeout=1)
    try:
        yield cmdline_server
    finally:
        subscriber.close()
        client.close()


@pytest.fixture(scope="module")
def completer(seeded: ServerHandle) -> Iterator[RedisCompleter]:
    client = TypedClient({"host": seeded.host, "port": seeded.port})
    try:
        yield RedisCompleter(RedisSource(client.execute, ttl=0.0, pipeline=client.pipeline))
    finally:
        client.close()


def complete(completer: RedisCompleter, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text, len(text)), CompleteEvent())]


SEED = (
    "COMMAND",
    "INFO",
    "SCAN",
    "HSCAN",
    "SSCAN",
    "ZSCAN",
    "PUBSUB",
    "CONFIG",
    "SUBSCRIBE",
    "HSET",
    "RPUSH",
    "SADD",
    "ZADD",
)
pytestmark = needs(*SEED)


def _command(text: str) -> str:
    """The command a case exercises (PING when the case completes a command name)."""
    words = text.split()
    if len(words) < 2 and not text.endswith(" ") or words[0].upper() == "FOO":
        return "PING"
    return words[0].upper()


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=needs(_command(c.text))) for c in CASES],
    ids=[c.text for c in CASES],
)
def test_completions(completer: RedisCompleter, case: Case) -> None:
    got = complete(completer, case.text)
    if case.exact is not None:
        assert sorted(got) == sorted(case.exact)
    for item in case.want:
        assert item in got
    for item in case.not_want:
        assert item not in got
    if case.first is not None:
        assert got and got[0] == case.first


@pytest.mark.parametrize(
    ("text", "hint"),
    [pytest.param(*h, marks=needs(_command(h[0]))) for h in HINTS],
    ids=[h[0] for h in HINTS],
)
def test_hints(completer: RedisCompleter, text: str, hint: str) -> None:
    assert completer.hint(text).arguments == hint


def test_hint_carries_summary(completer: RedisCompleter) -> None:
    hint = completer.hint("GETEX k ")
    assert hint.command == "GETEX"
    assert hint.summary
    assert "GETEX" in str(hint) and hint.summary in str(hint)


def test_completion_replaces_the_whole_typed_word(completer: RedisCompleter) -> None:
    text = 'GET "key w'
    (completion,) = list(completer.get_completions(Document(text, len(text)), CompleteEvent()))
    assert completion.start_position == -len('"key w')
    assert completion.display_meta_text == "string"


def test_keys_of_any_type_show_their_type(completer: RedisCompleter) -> None:
    text = "DEL user:"
    found = {
        c.text: c.display_meta_text
        for c in completer.get_completions(Document(text, len(text)), CompleteEvent())
    }
    assert found == {"user:1": "hash", "user:1:name": "string", "user:2:name": "string"}


def test_key_lookup_is_cached(seeded: ServerHandle) -> None:
    calls: list[tuple] = []
    client = TypedClient({"host": seeded.host, "port": seeded.port})

    def execute(*args: object) -> object:
        calls.append(args)
        return client.execute(*args)

    source = RedisSource(execute, ttl=60)
    assert source.keys(b"user:", fuzzy=False) == [b"user:1", b"user:1:name", b"user:2:name"]
    scans = len(calls)
    assert source.keys(b"user:1", fuzzy=False) == [b"user:1", b"user:1:name"]  # filtered locally
    assert len(calls) == scans
    client.close()


def test_scan_is_bounded_on_a_big_keyspace(cmdline_server: ServerHandle) -> None:
    client = cmdline_server.client()
    client.flushall()
    pipe = client.pipeline(transaction=False)
    for i in range(5000):
        pipe.set(f"k:{i}", "v")
    pipe.execute()
    typed = TypedClient({"host": cmdline_server.host, "port": cmdline_server.port})
    source = RedisSource(typed.execute, limit=20)
    found = source.keys(b"k:", fuzzy=False)
    assert len(found) == 20 and all(k.startswith(b"k:") for k in found)
    typed.close()
    client.flushall()
    client.close()


def test_old_server_without_docs_falls_back_to_command_names() -> None:
    from redistui.commands import load_command_table

    def execute(*args: object) -> object:
        if args == ("COMMAND", "DOCS"):
            raise redis.ResponseError("ERR unknown subcommand 'DOCS'")
        return [[b"get", 2, [b"readonly"], 1, 1, 1], [b"set", -3, [b"write"], 1, 1, 1]]

    table = load_command_table(execute)
    assert table.names() == ["GET", "SET"]

    class Source(RedisSource):
        def command_table(self):  # type: ignore[override]
            return table

    completer = RedisCompleter(Source(execute))
    assert complete(completer, "G") == ["GET"]
    assert complete(completer, "GET ") == []
    assert completer.hint("GET ").command == "GET"
