"""Generic key commands compared byte for byte with redis-server: replies, errors and keyspace events.

Replies that depend on hash order (KEYS, SCAN) are compared as sets; TTLs are
set far enough in the future that both servers round them the same way.
Keyspace notifications are compared by subscribing on both servers and
collecting the events each command sends.
"""

from __future__ import annotations

import time

import pytest

from tests.differential.harness import RawConnection, encode_command, parse

FAR = 100_000  # seconds: TTLs that no test outlives
FAR_MS = "99999999999999"  # an absolute time in ms far in the future


def keys_as_set(reply: bytes) -> tuple:
    """A KEYS or SCAN reply reduced to (cursor or None, sorted keys)."""
    value = parse(reply)
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
        return value[0], sorted(value[1])
    return None, sorted(value) if isinstance(value, list) else value


def same_keys(diff, *args) -> list:
    mine, theirs = diff.call(*args, compare=False)
    assert keys_as_set(mine) == keys_as_set(theirs), f"{args!r}: ours={mine!r} real={theirs!r}"
    return keys_as_set(mine)[1]


def known(diff, name: str) -> bool:
    """Whether our server implements ``name`` yet (collections are written by others)."""
    return parse(diff.ours.call("COMMAND", "INFO", name)) != [None]


# --------------------------------------------------------------------------- glob


TRICKY_KEYS = [
    b"", b"a", b"b", b"z", b"A", b"abc", b"abd", b"ab", b"a*c", b"a?c", b"a[c", b"a]c", b"a\\c", b"a-c",
    b"-", b"^", b"\\", b"]", b"[", b"*", b"?", b"hello", b"hallo", b"hxllo", b"hllo", b"heeello",
    b"h\nllo", b"\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"a\xffc", b"foo:bar", b"foo:baz:1", b"foo",
]
PATTERNS = [
    "*", "**", "***", "?", "??", "???", "*?", "?*", "a*", "*c", "a*c", "a**c", "*a*", "h?llo", "h*llo",
    "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo", "[z-a]*", "[a-z]", "[A-Z]", "[a-", "[a", "[", "[^",
    "[^a", "[]", "[]a]", "[^]", "[!a]", "a\\*c", "a\\?c", "a\\[c", "a\\", "\\", "\\\\", "a\\\\c",
    "a[\\]]c", "a[\\", "[\\", "a[b-]", "a[-c]c", "*[", "*[^", "[\\-]", "[-]", "[--z]", "a[*]c", "a[?]c",
    "foo:*", "foo:*:*", "foo:ba?", "*:*", "", "\\*", "[\x01-\xff]", "[\xff-\x01]", "[\x80-\xff]",
    "[a-\xff]", "[\x00-\x7f]", "a[\xff]c", "*\xff*", "[^\x00-\x7f]", "h[^a-e]llo", "[^-]", "[a-a]",
]


def test_generated_glob_patterns_match_like_redis(ours, real):
    """Patterns drawn from glob's special characters, matched against keys made of the same ones."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests.differential.harness import Differ

    differ = Differ(ours.port, real.port)
    differ.flush()
    alphabet = b"ab*?[]^-\\"
    keys = {b""} | {bytes([x]) for x in alphabet} | {bytes([x, y]) for x in b"ab-]" for y in b"ab[\\"}
    pairs = []
    for key in keys:
        pairs += [key, b"v"]
    differ.check("MSET", *pairs)

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=6).map(lambda raw: bytes(alphabet[x % len(alphabet)] for x in raw)))
    def check(pattern):
        same_keys(differ, "KEYS", pattern)

    try:
        check()
    finally:
        differ.flush()
        differ.close()


def test_glob_patterns_match_like_redis(diff):
    pairs = []
    for key in TRICKY_KEYS:
        pairs += [key, b"v"]
    diff.check("MSET", *pairs)
    for pattern in PATTERNS:
        raw = pattern.encode("latin-1")
        same_keys(diff, "KEYS", raw)
        same_keys(diff, "SCAN", "0", "MATCH", raw, "COUNT", "1000")


# --------------------------------------------------------------------------- existence


def test_del_unlink_exists_type_touch(diff):
    diff.check_all([
        "SET a 1", "SET b 2", "EXISTS a", "EXISTS a a b nokey", "TYPE a", "TYPE nokey",
        "TOUCH a b nokey a", "DEL a nokey a", "EXISTS a", "UNLINK b b c", "DEL nokey", "DEL", "UNLINK",
        "EXISTS", "TYPE", "TYPE a b", "TOUCH",
    ])
    diff.check("SET", "", "empty")
    diff.check("EXISTS", "")
    diff.check("DEL", "")


def test_keys_and_scan_skip_expired_keys(diff):
    diff.check("SET", "live", "1")
    diff.check("SET", "dying", "1", "PX", "1")
    time.sleep(0.01)
    same_keys(diff, "KEYS", "*")
    same_keys(diff, "SCAN", "0", "COUNT", "100")
    diff.check("DBSIZE")


def test_scan_options_and_errors(diff):
    for i in range(30):
        diff.check("SET", f"key:{i}", "v")
    diff.check("SET", "other", "v")
    same_keys(diff, "SCAN", "0", "COUNT", "1000")
    same_keys(diff, "SCAN", "0", "MATCH", "key:1*", "COUNT", "1000")
    same_keys(diff, "SCAN", "0", "match", "*", "count", "1000", "type", "string")
    same_keys(diff, "SCAN", "0", "COUNT", "1000", "TYPE", "STRING")
    same_keys(diff, "SCAN", "0", "COUNT", "1000", "TYPE", "list")
    same_keys(diff, "SCAN", "0", "COUNT", "1000", "TYPE", "nosuchtype")
    same_keys(diff, "SCAN", "0", "COUNT", "5", "COUNT", "1000", "MATCH", "x", "MATCH", "other")
    for args in (
        ("SCAN",), ("SCAN", "x"), ("SCAN", " 1"), ("SCAN", "1 "), ("SCAN", "-"), ("SCAN", "+"),
        ("SCAN", "0x10"), ("SCAN", "18446744073709551616"), ("SCAN", "0", "COUNT"), ("SCAN", "0", "COUNT", "0"),
        ("SCAN", "0", "COUNT", "-1"), ("SCAN", "0", "COUNT", "x"), ("SCAN", "0", "MATCH"),
        ("SCAN", "0", "TYPE"), ("SCAN", "0", "FOO", "bar"), ("SCAN", "x", "COUNT", "0"),
        ("SCAN", "0", "COUNT", "0", "FOO"), ("SCAN", "0", "COUNT", "9223372036854775808"),
    ):
        diff.check(*args)


def test_scan_accepts_every_cursor_strtoul_does(diff):
    # On an empty database every valid cursor ends the iteration at once.
    for cursor in ("0", "", "+0", "-0", "007", "-1", "+5", "18446744073709551615",
                   "-18446744073709551615", "123456789"):
        diff.check("SCAN", cursor)


def test_scan_type_none_keeps_an_expired_key(diff):
    """Redis 7.0 quirk: the TYPE filter expires the key (type "none"), so the expiry filter passes it."""
    diff.check("SET", "gone", "1", "PX", "1")
    time.sleep(0.01)
    diff.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        diff.check("SET", "gone", "1", "PX", "1")
        time.sleep(0.01)
        same_keys(diff, "SCAN", "0", "COUNT", "100", "TYPE", "none")
        diff.check("EXISTS", "gone")
    finally:
        diff.call("DEBUG", "SET-ACTIVE-EXPIRE", "1", compare=False)


def test_full_scan_returns_every_key(diff):
    for i in range(0, 300, 50):
        pairs = []
        for j in range(i, i + 50):
            pairs += [f"k{j}", "v"]
        diff.check("MSET", *pairs)
    for conn in (diff.ours, diff.real):
        seen: set[bytes] = set()
        cursor = b"0"
        calls = 0
        while True:
            cursor, keys = parse(conn.call("SCAN", cursor, "COUNT", "7"))
            seen.update(keys)
            calls += 1
            if cursor == b"0":
                break
        assert seen == {b"k%d" % j for j in range(300)}
        assert calls > 5


def test_randomkey(diff):
    diff.check("RANDOMKEY")
    diff.check("SET", "only", "1")
    diff.check("RANDOMKEY")
    diff.check("RANDOMKEY", "x")


# --------------------------------------------------------------------------- rename, move, copy


def test_rename_and_renamenx(diff):
    diff.check_all([
        "RENAME nokey b", "RENAMENX nokey b", "RENAME nokey nokey", "SET a 1", "RENAME a a", "RENAMENX a a",
        "RENAME a b", "EXISTS a", "GET b", "SET c 3", "RENAMENX b c", "RENAME b c", "GET c", "EXISTS b",
        "RENAME c", "RENAMENX c d e",
    ])
    diff.check("EXPIRE", "c", FAR)
    diff.check("RENAME", "c", "d")
    diff.check("TTL", "d")
    diff.check("SET", "e", "5", "EX", FAR * 2)
    diff.check("RENAME", "d", "e")  # the destination's own TTL goes with it
    diff.check("TTL", "e")
    diff.check("SET", "f", "6")
    diff.check("RENAME", "f", "e")
    diff.check("TTL", "e")


def test_move(diff):
    diff.check_all([
        "MOVE nokey 1", "SET a 1", "MOVE a 0", "MOVE a 16", "MOVE a -1", "MOVE a x", "MOVE a 2147483648",
        "MOVE a 99999999999999999999", "MOVE a 1", "EXISTS a", "SELECT 1", "GET a", "SET b 2", "SELECT 0",
        "SET b 1", "MOVE b 1", "GET b", "MOVE nokey 0", "MOVE a", "MOVE a 1 2",
    ])
    diff.check("SET", "t", "1", "EX", FAR)
    diff.check("MOVE", "t", "1")
    diff.check("SELECT", "1")
    diff.check("TTL", "t")
    diff.check("OBJECT", "ENCODING", "t")


def test_copy(diff):
    diff.check_all([
        "COPY nokey b", "SET a hello", "COPY a a", "COPY a a DB 0", "COPY a a DB 1", "COPY a b", "GET b",
        "COPY a b", "SET a changed", "COPY a b REPLACE", "GET b", "COPY a b DB", "COPY a b DB x",
        "COPY a b DB 16", "COPY a b DB -1", "COPY a b DB 2147483648", "COPY a b FOO", "COPY a b REPLACE REPLACE",
        "COPY a c DB 5 DB 3", "SELECT 3", "GET c", "SELECT 5", "EXISTS c", "SELECT 0", "COPY a",
    ])
    diff.check("SET", "n", "12345")
    diff.check("COPY", "n", "n2")
    diff.check("OBJECT", "ENCODING", "n2")
    diff.check("SET", "long", "x" * 50)
    diff.check("COPY", "long", "long2")
    diff.check("OBJECT", "ENCODING", "long2")
    diff.check("SET", "r", "ab")
    diff.check("APPEND", "r", "c")
    diff.check("COPY", "r", "r2")
    diff.check("OBJECT", "ENCODING", "r2")
    diff.check("APPEND", "r2", "d")
    diff.check("GET", "r")  # the copy is independent
    diff.check("SET", "t", "1", "EX", FAR)
    diff.check("COPY", "t", "t2", "DB", "1")
    diff.check("SELECT", "1")
    diff.check("TTL", "t2")


COLLECTIONS = [
    ("RPUSH", ["RPUSH", "{k}", "a", "b", "c"], ["LRANGE", "{k}", "0", "-1"], False),
    ("HSET", ["HSET", "{k}", "f", "v", "g", "w"], ["HGETALL", "{k}"], True),
    ("SADD", ["SADD", "{k}", "x", "y", "z"], ["SMEMBERS", "{k}"], True),
    ("ZADD", ["ZADD", "{k}", "1", "x", "2", "y"], ["ZRANGE", "{k}", "0", "-1", "WITHSCORES"], False),
]


@pytest.mark.parametrize("create,fill,read,unordered", COLLECTIONS, ids=[c[0] for c in COLLECTIONS])
def test_collections_copy_rename_move(diff, create, fill, read, unordered):
    """COPY gives an independent copy of every type; RENAME and MOVE carry the value itself."""
    if not (known(diff, create) and known(diff, read[0])):
        pytest.fail(f"{create}/{read[0]} is unknown to our server")

    def run(template, key):
        return diff.check(*[part.format(k=key) for part in template], sort=unordered)

    run(fill, "src")
    diff.check("TYPE", "src")
    diff.check("OBJECT", "ENCODING", "src")
    diff.check("COPY", "src", "dst")
    run(fill[:2] + ["extra", *fill[3:]] if create != "ZADD" else ["ZADD", "{k}", "9", "extra"], "dst")
    run(read, "src")
    run(read, "dst")
    diff.check("RENAME", "dst", "moved")
    run(read, "moved")
    diff.check("MOVE", "moved", "2")
    diff.check("SELECT", "2")
    run(read, "moved")
    diff.check("TYPE", "moved")


# --------------------------------------------------------------------------- expiry


def test_expire_options(diff):
    diff.check_all(["EXPIRE nokey 10", "SET a 1", "TTL a", "PTTL a", "EXPIRETIME a", "PEXPIRETIME a"])
    for args in (
        ("EXPIRE", "a", "100", "XX"), ("EXPIRE", "a", "100", "GT"), ("EXPIRE", "a", "100", "LT"),
        ("TTL", "a"), ("PERSIST", "a"), ("EXPIRE", "a", "100", "NX"), ("EXPIRE", "a", "200", "NX"),
        ("EXPIRE", "a", "200", "XX"), ("TTL", "a"), ("EXPIRE", "a", "100", "GT"), ("EXPIRE", "a", "300", "GT"),
        ("TTL", "a"), ("EXPIRE", "a", "400", "LT"), ("EXPIRE", "a", "150", "lt"), ("TTL", "a"),
        ("EXPIRE", "a", "100", "xx", "gt"), ("EXPIRE", "a", "100", "XX", "LT"), ("TTL", "a"),
        ("EXPIRE", "a", "1", "NX", "XX"), ("EXPIRE", "a", "1", "NX", "GT"), ("EXPIRE", "a", "1", "GT", "LT"),
        ("EXPIRE", "a", "1", "FOO"), ("EXPIRE", "a", "x", "FOO"), ("EXPIRE", "a", "x"), ("EXPIRE", "a", "1.5"),
        ("EXPIRE", "a", ""), ("EXPIRE", "a"), ("PERSIST",), ("TTL",), ("EXPIRETIME", "a", "b"),
    ):
        diff.check(*args)


def test_expire_unsupported_option_stops_at_a_nul(diff):
    """Redis formats the option with %s: the error echoes it up to its first NUL byte."""
    diff.check("SET", "a", "1")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        diff.check(cmd, "a", "100", "a\x00bc\xff")
        diff.check(cmd, "a", "100", "\x00x")
        diff.check(cmd, "a", "100", "NX", "zz\x00")


def test_expire_limits(diff):
    diff.check("SET", "a", "1")
    for args in (
        ("EXPIRE", "a", "9223372036854775807"), ("EXPIRE", "a", "9223372036854776"),
        ("EXPIRE", "a", "-9223372036854776"), ("PEXPIRE", "a", "9223372036854775807"),
        ("EXPIREAT", "a", "9223372036854776"), ("EXPIREAT", "a", "-9223372036854775808"),
        ("EXPIRE", "a", "9223372036854775808"), ("PEXPIREAT", "a", "9223372036854775807"),
        ("PEXPIRETIME", "a"), ("EXPIRETIME", "a"), ("EXPIREAT", "a", "9223372036854775"), ("EXPIRETIME", "a"),
        ("PEXPIREAT", "a", FAR_MS), ("PEXPIRETIME", "a"), ("EXPIRETIME", "a"),
        ("PEXPIREAT", "a", "99999999999499"), ("EXPIRETIME", "a"), ("PEXPIREAT", "a", "99999999999500"),
        ("EXPIRETIME", "a"),
    ):
        diff.check(*args)


def test_expire_in_the_past_deletes(diff):
    for command, when in (("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-5"), ("EXPIREAT", "1"),
                          ("PEXPIREAT", "0"), ("EXPIREAT", "-100")):
        diff.check("SET", "k", "v")
        diff.check(command, "k", when)
        diff.check("EXISTS", "k")
    diff.check("SET", "k", "v")
    diff.check("EXPIRE", "k", "0", "NX")  # the condition is checked before the deletion
    diff.check("EXISTS", "k")
    diff.check("EXPIRE", "k", "100")
    diff.check("EXPIRE", "k", "0", "GT")
    diff.check("EXPIRE", "k", "0", "LT")
    diff.check("EXISTS", "k")


def test_ttl_rounding_and_units(diff):
    diff.check("SET", "k", "v")
    diff.check("PEXPIRE", "k", "100400")
    diff.check("TTL", "k")
    diff.check("PEXPIRE", "k", "100800")
    diff.check("TTL", "k")
    diff.check("EXPIRE", "k", "100")
    diff.check("TTL", "k")
    diff.check("SET", "k", "v", "KEEPTTL")
    diff.check("TTL", "k")
    diff.check("SET", "k", "v")
    diff.check("TTL", "k")


def test_lazy_expiry_of_a_read_key(diff):
    diff.check("SET", "k", "v", "PX", "1")
    time.sleep(0.01)
    diff.check_all(["TTL k", "PTTL k", "EXPIRETIME k", "EXISTS k", "TYPE k", "PERSIST k", "EXPIRE k 10",
                    "RENAME k x", "COPY k x", "MOVE k 1", "DEL k", "OBJECT ENCODING k"])


def test_expiry_commands_in_resp3(diff3):
    diff3.check_all(["SET a 1", "TTL a", "EXPIRE a 100", "TTL a", "OBJECT ENCODING nokey", "OBJECT ENCODING a",
                     "TYPE a", "TYPE nokey", "RANDOMKEY", "SCAN 0", "KEYS *", "OBJECT HELP", "COPY a b",
                     "OBJECT REFCOUNT a", "OBJECT REFCOUNT nokey", "OBJECT IDLETIME nokey", "DEL a b"])
    diff3.check("RANDOMKEY")


# --------------------------------------------------------------------------- OBJECT


def test_a_copied_small_integer_is_not_the_shared_one(diff):
    """Redis shares "0" .. "9999" (REFCOUNT INT_MAX), but COPY duplicates the object: the copy
    answers 1, through RENAME, MOVE and SWAPDB, until the key is written again."""
    diff.check_all([
        "SET a 1", "COPY a b", "OBJECT REFCOUNT b", "OBJECT ENCODING b", "OBJECT REFCOUNT a",
        "RENAME b c", "OBJECT REFCOUNT c", "MOVE c 1", "SELECT 1", "OBJECT REFCOUNT c", "SELECT 0",
        "COPY a a DB 1", "SWAPDB 0 1", "OBJECT REFCOUNT a", "OBJECT REFCOUNT c", "SELECT 1", "OBJECT REFCOUNT a",
        "SET a 9999", "COPY a d", "OBJECT REFCOUNT d", "COPY d e", "OBJECT REFCOUNT e", "SET d 9999",
        "OBJECT REFCOUNT d", "SET f 10000", "COPY f g", "OBJECT REFCOUNT g", "SET h hello", "COPY h i",
        "OBJECT REFCOUNT i", "SELECT 0", "FLUSHALL",
    ])


def test_an_integral_incrbyfloat_result_is_stored_as_a_string(diff):
    """INCRBYFLOAT stores what it prints: "3" is an embstr with a reference of its own, and
    stays so when copied or renamed, until the key is written again."""
    diff.check_all([
        "INCRBYFLOAT f 3", "OBJECT ENCODING f", "OBJECT REFCOUNT f", "INCRBYFLOAT f 0.5", "OBJECT ENCODING f",
        "INCRBYFLOAT f 0.5", "OBJECT ENCODING f", "COPY f g", "OBJECT ENCODING g", "OBJECT REFCOUNT g",
        "RENAME g h", "OBJECT ENCODING h", "INCR h", "OBJECT ENCODING h", "OBJECT REFCOUNT h",
        "INCRBYFLOAT big 1e30", "OBJECT ENCODING big", "INCRBYFLOAT neg -12", "OBJECT ENCODING neg",
        "SET f 4", "OBJECT ENCODING f", "OBJECT REFCOUNT f", "FLUSHALL",
    ])


def test_object_subcommands(diff):
    diff.check_all([
        "OBJECT", "OBJECT HELP", "object help", "OBJECT HELP x", "OBJECT FOO", "OBJECT ENCODING",
        "OBJECT ENCODING a b", "OBJECT ENCODING nokey", "OBJECT REFCOUNT nokey", "OBJECT IDLETIME nokey",
        "OBJECT FREQ nokey",
    ])
    values = ["1", "0", "-1", "9999", "10000", "-5", "012", "-0", "+1", " 1", "1.5", "12345678901234567890",
              "123456789012345678901", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
              "x" * 44, "x" * 45, "hello", ""]
    for value in values:
        diff.check("SET", "s", value)
        diff.check("OBJECT", "ENCODING", "s")
        diff.check("OBJECT", "REFCOUNT", "s")
    diff.check("APPEND", "s", "x")
    diff.check("OBJECT", "ENCODING", "s")
    diff.check("INCR", "counter")
    diff.check("OBJECT", "ENCODING", "counter")
    diff.check("OBJECT", "IDLETIME", "s")
    diff.check("OBJECT", "FREQ", "s")


def test_object_freq_under_lfu(diff):
    diff.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    diff.check("CONFIG", "SET", "lfu-decay-time", "0")  # a minute boundary would lower a counter
    try:
        diff.check("SET", "k", "v")
        diff.check("OBJECT", "FREQ", "k")
        diff.check("TOUCH", "k")  # from the initial counter 5, the first access always counts
        diff.check("OBJECT", "FREQ", "k")
        diff.check("SET", "g", "v")
        diff.check("GET", "g")
        diff.check("OBJECT", "FREQ", "g")
        diff.check("OBJECT", "IDLETIME", "k")
        diff.check("OBJECT", "FREQ", "nokey")
    finally:
        diff.call("CONFIG", "SET", "maxmemory-policy", "noeviction", compare=False)
        diff.call("CONFIG", "SET", "lfu-decay-time", "1", compare=False)
    diff.check("OBJECT", "FREQ", "k")
    # Back under LRU, the LFU field is read as a clock (Redis's "will take some time to adjust"):
    # both give a large idle time, which depends on the second each reads its clock.
    mine, theirs = (int(parse(reply)) for reply in diff.call("OBJECT", "IDLETIME", "k", compare=False))
    assert abs(mine - theirs) <= 2


# --------------------------------------------------------------------------- keyspace events


class Events:
    """A subscriber to every keyspace and keyevent channel of one server."""

    def __init__(self, port: int):
        self.conn = RawConnection(port, timeout=2.0)
        self.conn.send_raw(encode_command(("PSUBSCRIBE", "__key*__:*")))
        self.conn.read_reply()

    def collect(self, marker: bytes) -> list[tuple[bytes, bytes]]:
        """Messages up to the one on channel ``marker`` (published after the commands)."""
        out = []
        while True:
            message = parse(self.conn.read_reply())
            if message[0] == b"message" and message[1] == marker:
                return out
            if message[0] == b"pmessage":
                out.append((message[2], message[3]))

    def close(self) -> None:
        self.conn.close()


def test_keyspace_events(ours, real, diff):
    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    subscribers = [Events(ours.port), Events(real.port)]
    for sub in subscribers:
        sub.conn.send_raw(encode_command(("SUBSCRIBE", "marker")))
        sub.conn.read_reply()
    try:
        commands = [
            ("SET", "a", "1"), ("DEL", "a", "nokey"), ("SET", "a", "1"), ("UNLINK", "a"), ("SET", "b", "2"),
            ("EXPIRE", "b", "100"), ("PEXPIRE", "b", "100000", "NX"), ("PERSIST", "b"), ("PERSIST", "b"),
            ("RENAME", "b", "c"), ("SET", "d", "4"), ("RENAME", "c", "d"), ("RENAMENX", "d", "d"),
            ("MOVE", "d", "1"), ("SET", "e", "5"), ("COPY", "e", "f"), ("COPY", "e", "f", "DB", "2"),
            ("COPY", "e", "f", "REPLACE"), ("EXPIRE", "f", "-1"), ("PEXPIREAT", "e", "1"),
            ("SET", "g", "1", "PX", "1"), ("SLEEP",), ("GET", "g"), ("SET", "h", "1", "PX", "1"), ("SLEEP",),
            ("DEL", "h"), ("EXPIRE", "h", "10"), ("TOUCH", "nokey"), ("EXISTS", "nokey"),
        ]
        for command in commands:
            if command == ("SLEEP",):
                time.sleep(0.01)
                continue
            diff.check(*command)
        diff.call("PUBLISH", "marker", "end", compare=False)
        mine, theirs = (sub.collect(b"marker") for sub in subscribers)
        assert mine == theirs
        assert (b"__keyevent@0__:expired", b"g") in mine
    finally:
        for sub in subscribers:
            sub.close()
        diff.call("CONFIG", "SET", "notify-keyspace-events", "", compare=False)


def test_keymiss_and_new_events(ours, real, diff):
    """Which lookups report a miss (``keymiss``) and which writes create a key (``new``)."""
    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEmn")
    subscribers = [Events(ours.port), Events(real.port)]
    for sub in subscribers:
        sub.conn.send_raw(encode_command(("SUBSCRIBE", "marker")))
        sub.conn.read_reply()
    try:
        diff.check_all([
            "EXISTS nokey", "TYPE nokey", "TTL nokey", "PTTL nokey", "EXPIRETIME nokey", "TOUCH nokey",
            "OBJECT ENCODING nokey", "COPY nokey x", "RENAMENX nokey x", "MOVE nokey 1", "DEL nokey",
            "EXPIRE nokey 10", "PERSIST nokey", "SET a 1", "COPY a b", "RENAME a c", "MOVE c 1", "COPY b d DB 2",
            "SCAN 0 TYPE string", "KEYS *", "RANDOMKEY",
        ])
        diff.call("PUBLISH", "marker", "end", compare=False)
        mine, theirs = (sub.collect(b"marker") for sub in subscribers)
        assert mine == theirs
    finally:
        for sub in subscribers:
            sub.close()
        diff.call("CONFIG", "SET", "notify-keyspace-events", "", compare=False)


def test_hit_and_miss_counting(diff):
    """INFO's keyspace_hits/misses move as in Redis for every key command."""
    diff.check("SET", "a", "1")
    diff.check("EXPIRE", "a", FAR)
    commands = [
        "EXISTS a nokey", "TYPE a", "TYPE nokey", "TTL a", "PTTL nokey", "EXPIRETIME a", "TOUCH a nokey",
        "OBJECT ENCODING a", "OBJECT REFCOUNT nokey", "COPY a b", "COPY nokey b", "RENAME b c", "MOVE c 1",
        "EXPIRE a 100000", "PERSIST a", "DEL a nokey", "SCAN 0 TYPE string", "KEYS *", "RANDOMKEY",
        "RENAMENX nokey z", "SCAN 0",
    ]
    for command in commands:
        diff.call("CONFIG", "RESETSTAT", compare=False)
        diff.check(*command.split())
        mine, theirs = (_info_fields(reply, b"keyspace_hits", b"keyspace_misses")
                        for reply in diff.call("INFO", "stats", compare=False))
        assert mine == theirs, command


def test_changes_counted_once_per_command(diff):
    """rdb_changes_since_last_save grows by one for RENAME, MOVE, COPY ..., as in Redis."""
    diff.check("MSET", "a", "1", "d", "2")
    for command in ("RENAME a b", "RENAME b d", "COPY d e", "COPY d e REPLACE", "MOVE e 1", "EXPIRE d 100000",
                    "PERSIST d", "EXPIRE d -1", "DEL nokey", "SET x 1", "RENAMENX x x", "RENAME x x",
                    "COPY x y DB 1", "RENAMENX x y", "DEL x y"):
        before = [_info_fields(reply, b"rdb_changes_since_last_save")
                  for reply in diff.call("INFO", "persistence", compare=False)]
        diff.check(*command.split())
        after = [_info_fields(reply, b"rdb_changes_since_last_save")
                 for reply in diff.call("INFO", "persistence", compare=False)]
        assert after[0][0] - before[0][0] == after[1][0] - before[1][0], command


def _info_fields(reply: bytes, *names: bytes) -> tuple[int, ...]:
    info = parse(reply)
    fields = dict(line.split(b":", 1) for line in info.split(b"\r\n") if b":" in line)
    return tuple(int(fields[name]) for name in names)


@pytest.mark.parametrize("command", [
    "EXPIRE w 100000", "PEXPIRE w 5", "PERSIST w", "EXPIRE w -1", "RENAME w other", "RENAME other w",
    "RENAMENX other w", "MOVE w 1", "COPY other w", "COPY w other", "COPY other w REPLACE", "DEL w",
    "UNLINK nokey", "TOUCH w", "EXISTS w", "TYPE w", "TTL w", "OBJECT ENCODING w", "EXPIRE nokey 10",
])
def test_watch_sees_key_changes(ours, real, diff, command):
    """Which generic commands make a WATCHed key dirty (EXEC then returns nil), as in Redis."""
    diff.check("SET", "w", "1")
    diff.check("EXPIRE", "w", "200000")
    diff.check("SET", "other", "2")
    others = [RawConnection(ours.port), RawConnection(real.port)]
    try:
        diff.check("WATCH", "w")
        for conn in others:
            conn.call(*command.split())
        diff.check("MULTI")
        diff.check("PING")
        diff.check("EXEC")
    finally:
        for conn in others:
            conn.close()


def test_restore_with_a_ttl_that_overflows_expires_at_once(diff):
    """RESTORE k 9223372036854775807 payload: Redis adds the clock to a long long, which wraps
    to a past deadline, so the key is expired at once (and a REPLACEd key is deleted)."""
    diff.check("SET", "src", "value")
    payload = parse(diff.ours.call("DUMP", "src"))
    assert payload == parse(diff.real.call("DUMP", "src"))
    diff.check("RESTORE", "k", "9223372036854775807", payload)
    diff.check("EXISTS", "k")
    diff.check("PTTL", "k")
    diff.check("SET", "k", "old")
    diff.check("RESTORE", "k", "9223372036854775000", payload, "REPLACE")
    diff.check("EXISTS", "k")
    diff.check("RESTORE", "k", "100000000", payload)
    diff.check("EXISTS", "k")
    diff.check("RESTORE", "k", "9223372036854775807", payload, "REPLACE", "ABSTTL")
    diff.check("EXISTS", "k")
