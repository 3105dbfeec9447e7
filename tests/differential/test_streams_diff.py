"""Stream commands compared byte for byte with redis-server, in RESP2 and RESP3.

Entries are added with explicit IDs so both servers hold the same data; the
time-dependent fields (idle times, delivery times, seen-times) are either
pinned with XCLAIM TIME/IDLE or compared after masking. Node boundaries are
exercised by lowering ``stream-node-max-entries`` (approximate trimming and
XINFO's radix-tree figures depend on them).
"""

from __future__ import annotations

import re

import pytest

from tests.differential.harness import Differ, parse


@pytest.fixture(params=[2, 3])
def sd(request, ours, real):
    d = Differ(ours.port, real.port, resp=request.param)
    d.flush()
    yield d
    d.call("CONFIG", "SET", "stream-node-max-entries", "100", compare=False)
    d.call("CONFIG", "SET", "stream-node-max-bytes", "4096", compare=False)
    d.close()


def fill(d, key="s", n=10, start=1, fields=("f", "v")):
    for i in range(start, start + n):
        d.check("XADD", key, f"{i}-0", *fields)


def test_xadd_ids_and_errors(sd):
    d = sd
    d.check_all([
        "XADD s 1-1 a 1", "XADD s 1-1 a 1", "XADD s 1-0 a 1", "XADD s 1-* b 2", "XADD s 1-* b 2",
        "XADD s 5 c 3", "XADD s 5-* c 3", "XADD s 0-0 a 1", "XADD x 0-0 a 1", "XADD x 0-* a 1",
        "XADD s 6-x a 1", "XADD s - a 1", "XADD s + a 1", "XADD s 6-1 a", "XADD s 6-1",
        "XADD s 6-1 a 1 b", "XADD s NOMKSTREAM 7-0 a 1", "XADD missing NOMKSTREAM 1-0 a 1", "EXISTS missing",
        "XADD s MAXLEN -1 8-0 a 1", "XADD s MAXLEN abc 8-0 a 1", "XADD s MAXLEN 1 MINID 1 8-0 a 1",
        "XADD s LIMIT 10 8-0 a 1", "XADD s MAXLEN 5 LIMIT 10 8-0 a 1", "XADD s MAXLEN ~ 5 LIMIT -1 8-0 a 1",
        "XADD s MINID ~ 5- 9-0 a 1", "XADD s 007-1 a 1", "XADD s 18446744073709551616-0 a 1",
        "XADD s 18446744073709551615-18446744073709551615 a 1", "XADD s 18446744073709551615-* a 1",
        "XADD s * a 1", "XLEN s", "XRANGE s - +", "SET str v", "XADD str 1-0 a 1", "XLEN str", "XLEN nokey",
        "TYPE s", "OBJECT ENCODING s", "XADD e 18446744073709551615-18446744073709551614 a 1",
        "XADD e 18446744073709551615-* a 1",
    ])


def test_xadd_trimming(sd):
    d = sd
    d.call("CONFIG", "SET", "stream-node-max-entries", "3", compare=False)
    fill(d, n=20)
    d.check_all([
        "XADD s MAXLEN ~ 10 21-0 f v", "XLEN s", "XADD s MAXLEN = 10 22-0 f v", "XLEN s",
        "XADD s MINID ~ 15 23-0 f v", "XRANGE s - +", "XADD s MINID 17-0 24-0 f v", "XRANGE s - +",
        "XTRIM s MAXLEN 5", "XTRIM s MAXLEN ~ 2", "XTRIM s MAXLEN ~ 2 LIMIT 1", "XTRIM s MAXLEN ~ 2 LIMIT 100",
        "XRANGE s - +", "XTRIM s MINID 100", "XLEN s", "EXISTS s", "XTRIM s", "XTRIM s FOO", "XTRIM s LIMIT 5",
        "XTRIM s MAXLEN 1 LIMIT 5", "XTRIM nokey MAXLEN 1", "XTRIM s MAXLEN", "XTRIM s MINID -",
        "XTRIM s MINID ~ 1 MAXLEN 2", "XINFO STREAM s",
    ])


def test_ranges(sd):
    d = sd
    fill(d, n=8)
    d.check("XADD", "s", "9-5", "other", "fields", "x", "y")
    d.check_all([
        "XRANGE s - +", "XRANGE s - + COUNT 3", "XRANGE s - + COUNT 0", "XRANGE s - + COUNT -1",
        "XRANGE s 3 5", "XRANGE s (3 (5", "XRANGE s (3-0 +", "XRANGE s - (9-5", "XRANGE s 9 9",
        "XREVRANGE s + -", "XREVRANGE s + - COUNT 2", "XREVRANGE s (5 (2", "XREVRANGE s 5 2 COUNT 1",
        "XRANGE s ( +", "XRANGE s (- +", "XRANGE s - (+", "XRANGE s (18446744073709551615-18446744073709551615 +",
        "XRANGE s - (0-0", "XRANGE s - (0", "XRANGE s 5 3", "XRANGE s abc +", "XRANGE s - + COUNT",
        "XRANGE s - + LIMIT 1", "XRANGE nokey - +", "XRANGE nokey - + COUNT 0", "XRANGE s 3-x +",
        "XRANGE s  +", "XRANGE s -3 +", "XRANGE s 18446744073709551616 +",
    ])


def test_xdel_and_metadata(sd):
    d = sd
    d.call("CONFIG", "SET", "stream-node-max-entries", "4", compare=False)
    fill(d, n=12)
    d.check_all([
        "XDEL s 1-0", "XINFO STREAM s", "XDEL s 1-0 2-0 3-0 4-0", "XINFO STREAM s", "XDEL s 7-0 x",
        "XDEL s 8-0 99-0", "XINFO STREAM s", "XRANGE s - +", "XDEL nokey 1-0", "XDEL s 5-0 6-0 9-0 10-0 11-0 12-0",
        "XLEN s", "EXISTS s", "XINFO STREAM s", "XADD s 13-0 a b", "XINFO STREAM s", "XINFO STREAM s FULL",
    ])


def test_xsetid(sd):
    d = sd
    fill(d, n=3)
    d.check_all([
        "XSETID s 2-0", "XSETID s 3-0", "XSETID s 10-0", "XADD s 9-0 a b", "XSETID s 10-0 ENTRIESADDED 1",
        "XSETID s 10-0 ENTRIESADDED -1", "XSETID s 10-0 ENTRIESADDED 50 MAXDELETEDID 11-0",
        "XSETID s 10-0 ENTRIESADDED 50 MAXDELETEDID 5-0", "XINFO STREAM s", "XSETID nokey 1-0", "XSETID s x",
        "XSETID s 20-0 FOO", "XSETID s 20-0 ENTRIESADDED", "XSETID s +", "XADD s 10-0 a b", "XADD s 10-1 a b",
    ])


def test_groups_basic(sd):
    d = sd
    fill(d, n=5)
    d.check_all([
        "XGROUP CREATE s g 0", "XGROUP CREATE s g 0", "XGROUP CREATE s g2 $", "XGROUP CREATE nokey g 0",
        "XGROUP CREATE nokey g $ MKSTREAM", "TYPE nokey", "XGROUP CREATE s g3 0 ENTRIESREAD 2",
        "XGROUP CREATE s g4 0 ENTRIESREAD -2", "XGROUP CREATE s g5 0 FOO", "XGROUP CREATE s g5 + ",
        "XGROUP CREATE s g5 0 MKSTREAM ENTRIESREAD 1 MKSTREAM", "XGROUP CREATE s g5 x",
        "XGROUP SETID s g 3", "XGROUP SETID s nog 3", "XGROUP SETID s g $ ENTRIESREAD 5",
        "XGROUP SETID s g 0 FOO BAR", "XGROUP SETID s g 0 ENTRIESREAD", "XGROUP CREATECONSUMER s g alice",
        "XGROUP CREATECONSUMER s g alice", "XGROUP CREATECONSUMER s nog bob", "XGROUP DELCONSUMER s g bob",
        "XGROUP DESTROY s g2", "XGROUP DESTROY s g2", "XGROUP DESTROY nokey2 g", "XGROUP FOO s g",
        "XGROUP HELP", "XGROUP CREATE s", "XGROUP DESTROY s g extra", "XINFO GROUPS s", "XINFO HELP",
        "XINFO FOO s", "XINFO GROUPS nokey2", "XINFO CONSUMERS s nog", "XINFO STREAM s FULL COUNT",
        "XINFO STREAM s FOO", "XINFO STREAM s FULL COUNT x",
    ])
    d.check("SET", "str", "v")
    d.check_all(["XGROUP CREATE str g 0", "XINFO STREAM str", "XINFO GROUPS str"])


def mask_idle(reply: bytes) -> bytes:
    """Idle times and seen/delivery times vary by a few ms between servers."""
    return re.sub(rb"(idle\r\n:)\d+", rb"\1N", reply)


def close_enough(mine, theirs, slack: int = 1000) -> bool:
    """Replies equal except for integers (idle/elapsed ms) that may differ by a few ms."""
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(close_enough(a, b, slack) for a, b in zip(mine, theirs, strict=True))
    if isinstance(mine, int) and isinstance(theirs, int):
        return abs(mine - theirs) <= slack
    return mine == theirs


def pending(d, *commands: str) -> None:
    """Compare replies that carry elapsed times, allowing a little clock skew between the servers."""
    for cmd in commands:
        mine, theirs = d.call(*cmd.split(), compare=False)
        if mine[:1] == b"-" or theirs[:1] == b"-":
            assert mine == theirs, (cmd, mine, theirs)
        assert close_enough(parse(mine), parse(theirs)), (cmd, mine, theirs)


def test_xreadgroup_xack_xpending(sd):
    d = sd
    fill(d, n=6)
    d.check_all([
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >", "XREADGROUP GROUP g bob STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >", "XREADGROUP GROUP g alice STREAMS s 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s 0", "XREADGROUP GROUP g alice STREAMS s 1-0",
        "XPENDING s g", "XPENDING s g - + 0",
        "XPENDING s g - + 10 nobody", "XPENDING s nog", "XPENDING nokey g", "XPENDING s g - +",
        "XPENDING s g IDLE 10 - +", "XPENDING s g - + x", "XPENDING s g x + 1",
        "XPENDING s g IDLE 3600000 - + 10",
        "XACK s g 1-0 2-0 99-0", "XACK s g x", "XACK s nog 1-0", "XACK nokey g 1-0", "XPENDING s g",
        "XINFO GROUPS s", "XDEL s 3-0", "XREADGROUP GROUP g bob STREAMS s 0", "XINFO GROUPS s",
        "XADD s 7-0 f v", "XINFO GROUPS s", "XREADGROUP GROUP g bob NOACK STREAMS s >", "XPENDING s g",
        "XINFO GROUPS s", "XREADGROUP GROUP nog bob STREAMS s >", "XREADGROUP GROUP g bob STREAMS nokey >",
        "XREADGROUP GROUP g bob STREAMS s $", "XREADGROUP GROUP g bob STREAMS s", "XREADGROUP STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s 0 1", "XREADGROUP GROUP g bob BLOCK -1 STREAMS s >",
        "XREADGROUP GROUP g bob COUNT x STREAMS s >", "XREADGROUP GROUP g bob FOO STREAMS s >",
        "XREAD GROUP g bob STREAMS s >", "XREAD NOACK STREAMS s 0",
        "XGROUP DELCONSUMER s g bob", "XPENDING s g", "XINFO STREAM s",
    ])
    pending(d, "XPENDING s g - + 10 alice", "XPENDING s g (1 + 2 bob", "XPENDING s g IDLE 0 - + 10")
    mine, theirs = d.call("XINFO", "CONSUMERS", "s", "g", compare=False)
    assert mask_idle(mine) == mask_idle(theirs)


def test_xread(sd):
    d = sd
    fill(d, n=4)
    fill(d, key="t", n=2)
    d.check_all([
        "XREAD STREAMS s 0", "XREAD COUNT 2 STREAMS s t 0 0", "XREAD STREAMS s t 2 1", "XREAD STREAMS s $",
        "XREAD STREAMS nokey $", "XREAD STREAMS s nokey 0 0", "XREAD STREAMS s 4", "XREAD STREAMS s",
        "XREAD STREAMS s t 0", "XREAD COUNT 1", "XREAD FOO STREAMS s 0", "XREAD STREAMS s >",
        "XREAD BLOCK x STREAMS s 0", "XREAD BLOCK -5 STREAMS s 0", "XREAD BLOCK 10 STREAMS s 0",
        "XREAD COUNT -3 STREAMS s 0", "XREAD STREAMS s +", "XREAD STREAMS s -", "XREAD STREAMS s (1",
    ])
    d.check("MULTI")
    d.check("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    d.check("EXEC")


def test_xclaim_and_xautoclaim(sd):
    d = sd
    fill(d, n=6)
    d.check_all([
        "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice STREAMS s >",
        "XCLAIM s g bob 0 1-0 2-0 TIME 1000 RETRYCOUNT 5",
        "XCLAIM s g bob 0 3-0 JUSTID TIME 2000",
        "XCLAIM s g carol 0 99-0 FORCE JUSTID TIME 3000", "XCLAIM s g carol 0 4-0 FORCE TIME 3000",
        "XCLAIM s g carol 3600000 5-0 TIME 3000", "XCLAIM s g carol 0 5-0 LASTID 10-0 JUSTID TIME 4000",
        "XINFO GROUPS s", "XCLAIM s g carol 0 6-0 FOO", "XCLAIM s g carol x 6-0", "XCLAIM s g carol 0 6-0 IDLE x",
        "XCLAIM s g carol 0 6-0 TIME x", "XCLAIM s g carol 0 6-0 RETRYCOUNT x", "XCLAIM s g carol 0 6-0 LASTID x",
        "XCLAIM s nog carol 0 6-0", "XCLAIM nokey g carol 0 6-0", "XDEL s 2-0",
        "XCLAIM s g dave 0 2-0 JUSTID TIME 1",
        "XAUTOCLAIM s g erin 0 0 COUNT 2 JUSTID", "XDEL s 4-0",
        "XAUTOCLAIM s g erin 0 0 COUNT 10", "XAUTOCLAIM s g erin 0 (0 COUNT 1 JUSTID",
        "XAUTOCLAIM s g erin 3600000 0", "XAUTOCLAIM s g erin 0 0 COUNT 0", "XAUTOCLAIM s g erin 0 0 COUNT x",
        "XAUTOCLAIM s g erin 0 0 FOO", "XAUTOCLAIM s g erin x 0", "XAUTOCLAIM s g erin 0 x",
        "XAUTOCLAIM s nog erin 0 0", "XAUTOCLAIM s g erin 0 0 COUNT 9223372036854775807",
    ])
    pending(d, "XPENDING s g - + 10", "XPENDING s g - + 10 erin")
    # Delivery times pinned by TIME are comparable in full.
    d.check("XCLAIM", "s", "g", "zed", "0", "1-0", "3-0", "5-0", "6-0", "TIME", "12345", "JUSTID")
    mine, theirs = d.call("XINFO", "STREAM", "s", "FULL", compare=False)
    assert re.sub(rb"seen-time\r\n:\d+", b"", mine) == re.sub(rb"seen-time\r\n:\d+", b"", theirs)


def test_lag_and_entries_read(sd):
    d = sd
    fill(d, n=5)
    d.check_all([
        "XGROUP CREATE s g 0", "XGROUP CREATE s h $", "XGROUP CREATE s i 3-0", "XINFO GROUPS s",
        "XREADGROUP GROUP g a COUNT 2 STREAMS s >", "XINFO GROUPS s", "XDEL s 4-0", "XINFO GROUPS s",
        "XREADGROUP GROUP g a STREAMS s >", "XINFO GROUPS s", "XADD s 6-0 f v", "XINFO GROUPS s",
        "XGROUP SETID s h 2-0", "XINFO GROUPS s", "XTRIM s MAXLEN 1", "XINFO GROUPS s",
        "XGROUP SETID s i 0 ENTRIESREAD 3", "XINFO GROUPS s",
    ])


def test_keyspace_commands(sd):
    d = sd
    fill(d, n=3)
    d.check_all([
        "XGROUP CREATE s g 0", "XREADGROUP GROUP g a COUNT 1 STREAMS s >", "COPY s c", "XINFO GROUPS c",
        "XPENDING c g", "RENAME c r", "XINFO STREAM r", "MOVE r 1", "SELECT 1", "XPENDING r g", "SELECT 0",
        "TYPE s", "OBJECT ENCODING s", "SCAN 0 TYPE stream", "DEL s", "EXISTS s",
    ])


def test_node_boundaries_by_bytes(sd):
    d = sd
    d.call("CONFIG", "SET", "stream-node-max-bytes", "200", compare=False)
    for i in range(1, 30):
        d.check("XADD", "s", f"{i}-0", "field", "x" * (i * 3), "n", str(i * 1000))
    d.check_all(["XINFO STREAM s", "XTRIM s MAXLEN ~ 10", "XINFO STREAM s", "XTRIM s MINID ~ 25", "XLEN s"])
    d.check("XADD", "s", "40-0", "a", "b", "c", "d")
    d.check("XINFO", "STREAM", "s", "FULL")


def test_option_parsing_edges(sd):
    """Option loops read one argument at a time, as Redis's do: each error comes from where it is met."""
    d = sd
    fill(d, n=5)
    d.check_all([
        "XADD s MAXLEN ~", "XADD s MAXLEN =", "XADD s MAXLEN ~ 3", "XADD s MINID = 2-0 90-0 f v", "XLEN s",
        "XTRIM s MAXLEN = 3", "XTRIM s MAXLEN ~", "XADD s NOMKSTREAM MAXLEN 2 91-0 f v", "XLEN s",
        "XREAD GROUP g c STREAMS s 0", "XREAD NOACK STREAMS s 0", "XREAD COUNT 1 COUNT 2 STREAMS s 0",
        "XREAD BLOCK", "XREAD STREAMS", "XREADGROUP STREAMS s >", "XREADGROUP GROUP g STREAMS s >",
        "XGROUP CREATE s g $ ENTRIESREAD -2", "XGROUP CREATE s g $ FOO", "XGROUP CREATE s g $ ENTRIESREAD",
        "XGROUP CREATE s g $ MKSTREAM ENTRIESREAD 3", "XGROUP SETID s g 0 MKSTREAM", "XGROUP SETID s g 0 ENTRIESREAD 1",
        "XCLAIM s g c 0 1-0 2-0 FOO", "XCLAIM s g c 0 1-0 IDLE", "XCLAIM s g c 0 x JUSTID",
    ])


def test_parse(sd):
    assert parse(sd.check("XADD", "p", "1-0", "a", "1")) in (b"1-0", "1-0")


def test_keyspace_notifications(ours, real):
    """Every stream event (xadd, xtrim, xdel, xgroup-*, xsetid) in Redis's order, against redis-server."""
    from tests.differential.live import Pair, new_fence

    cmd = Pair(ours.port, real.port)
    sub = Pair(ours.port, real.port)
    cmd.call("FLUSHALL")
    sub.call("PSUBSCRIBE", "__key*__:*")
    sub.call("SUBSCRIBE", "stream-fence")
    try:
        cmd.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
        for command in [
            "XADD s 1-0 f v", "XADD s MAXLEN 1 2-0 f v", "XADD s MAXLEN 5 3-0 f v", "XDEL s 2-0", "XDEL s 99-0",
            "XTRIM s MAXLEN 0", "XTRIM s MAXLEN 0", "XADD s 4-0 f v", "XGROUP CREATE s g 0",
            "XGROUP CREATE new g $ MKSTREAM", "XGROUP CREATECONSUMER s g c1", "XGROUP CREATECONSUMER s g c1",
            "XREADGROUP GROUP g c2 STREAMS s >", "XREADGROUP GROUP g c2 STREAMS s >",
            "XCLAIM s g c3 0 4-0", "XAUTOCLAIM s g c4 0 0", "XGROUP SETID s g 0", "XGROUP DELCONSUMER s g c2",
            "XGROUP DELCONSUMER s g nobody", "XGROUP DESTROY s g", "XSETID s 10-0", "XADD s NOMKSTREAM 11-0 f v",
            "XADD nope NOMKSTREAM 1-0 f v", "RENAME s t", "COPY t u", "DEL t u new",
        ]:
            cmd.check(*command.split())
        fence = new_fence()
        cmd.check("PUBLISH", "stream-fence", fence)
        mine, theirs = sub.read_until(fence)
        assert mine == theirs, f"\n  ours={mine!r}\n  real={theirs!r}"
        assert any(b"xgroup-createconsumer" in repr(e).encode() for e in mine)
    finally:
        cmd.call("CONFIG", "SET", "notify-keyspace-events", "", compare=False)
        cmd.close()
        sub.close()


def test_streams_in_scripts(sd):
    """From Lua: XREAD/XREADGROUP without BLOCK work, with BLOCK they are refused with Redis's error."""
    d = sd
    fill(d, n=3)
    d.check("XGROUP", "CREATE", "s", "g", "0")
    d.check("EVAL", "return redis.call('XREAD', 'COUNT', 2, 'STREAMS', KEYS[1], '0')", "1", "s")
    d.check("EVAL", "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', KEYS[1], '>')", "1", "s")
    d.check("EVAL", "return redis.pcall('xread', 'BLOCK', 0, 'STREAMS', KEYS[1], '$')", "1", "s")
    d.check("EVAL", "return redis.pcall('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', KEYS[1], '>')",
            "1", "s")
    d.check("EVAL", "return redis.call('XADD', KEYS[1], '9-0', 'a', 'b')", "1", "s")
    d.check("XPENDING", "s", "g")


def test_xadd_elements_too_large(ours, real):
    """Fields and values over 1 GiB in all fail after the ID checks, leaving the new key empty, as in 7.0.15.

    1 GiB has to cross to each server once (the limit is a constant): the slowest stream test, kept to one XADD.
    """
    d = Differ(ours.port, real.port)
    d.flush()
    d.check_all(["XADD big 5-0 a 1"])
    value = b"x" * (512 << 20)  # proto-max-bulk-len's default: the largest argument either server takes
    for key in (b"fresh",):
        for conn in (d.ours, d.real):
            conn.sock.settimeout(300)
            conn.send_raw(b"*7\r\n$4\r\nXADD\r\n$%d\r\n%b\r\n$1\r\n*\r\n$1\r\nf\r\n$%d\r\n" % (len(key), key, len(value)))
            conn.send_raw(value)
            conn.send_raw(b"\r\n$1\r\ng\r\n$%d\r\n" % len(value))
            conn.send_raw(value)
            conn.send_raw(b"\r\n")
        mine, theirs = d.ours.read_reply(), d.real.read_reply()
        assert mine == theirs == b"-ERR Elements are too large to be stored\r\n"
    del value
    d.check_all(["XADD big 1-0 a 1", "EXISTS fresh", "TYPE fresh", "XLEN fresh", "XLEN big", "XINFO STREAM fresh",
                 "XADD fresh 1-0 a 1"])
    d.close()
