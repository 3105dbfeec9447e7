"""SCAN, HSCAN, SSCAN and ZSCAN share one cursor and option parser: compared with redis-server.

Redis 7.0 reads a cursor with ``strtoul`` and rejects a leading space, anything after the
digits and values past 64 bits (``ERR invalid cursor``); a sign is accepted and ``-`` wraps.
The collections here are small (listpack, intset) so that any valid cursor returns the whole
collection, and pages are compared as sets.
"""

from __future__ import annotations

import pytest

from tests.differential.harness import parse

ODD_CURSORS = (
    "-1", "+1", " 0", "0 ", "00", "18446744073709551616", "18446744073709551615", "-18446744073709551615",
    "-18446744073709551616", "", "-", "+", "+-1", "\t0", "\n0", "0\t", "1e3", "0x1", "٣", "0\x00junk", "\x000",
)


def same_page(d, *args) -> None:
    """Same cursor and the same elements (as a multiset), or the same error."""
    mine, theirs = d.call(*args, compare=False)
    ours, real = parse(mine), parse(theirs)
    if isinstance(real, list):
        assert isinstance(ours, list), f"{args!r}: ours={mine!r} real={theirs!r}"
        assert ours[0] == real[0], f"{args!r}: ours={mine!r} real={theirs!r}"
        assert sorted(ours[1]) == sorted(real[1]), f"{args!r}: ours={mine!r} real={theirs!r}"
    else:
        assert mine == theirs, f"{args!r}: ours={mine!r} real={theirs!r}"


@pytest.fixture
def loaded(diff):
    diff.check("HSET", "h", "f1", "v1", "f2", "v2")
    diff.check("SADD", "s", "1", "2", "3")
    diff.check("SADD", "sh", "a", "b", "c")  # a hashtable: its pages depend on the cursor
    diff.check("ZADD", "z", "1", "a", "2", "b")
    diff.check("SET", "str", "x")
    return diff


@pytest.mark.parametrize("command", ["HSCAN h", "SSCAN s", "ZSCAN z"])
def test_collection_scan_cursors(loaded, command):
    for cursor in ODD_CURSORS:
        same_page(loaded, *command.split(), cursor)
        same_page(loaded, *command.split(), cursor, "COUNT", "100")


def test_sscan_and_zscan_reject_a_leading_space(loaded):
    """Redis 7.0: ``SSCAN k " 0"`` is ERR invalid cursor (an earlier copy here returned a page)."""
    loaded.check("SSCAN", "s", " 0")
    loaded.check("ZSCAN", "z", " 0")
    assert loaded.check("SSCAN", "sh", " 0") == b"-ERR invalid cursor\r\n"


def test_keyspace_scan_cursors(diff):
    # An empty database: every valid cursor ends the iteration at once, every invalid one errs.
    for cursor in ODD_CURSORS:
        diff.check("SCAN", cursor)
        diff.check("SCAN", cursor, "TYPE", "string")


def test_options_are_read_after_the_key(loaded):
    """The cursor is checked first, then the key (missing: an empty page; other type: WRONGTYPE), then options."""
    d = loaded
    for name in ("HSCAN", "SSCAN", "ZSCAN"):
        d.check_all([
            f"{name} nokey 0 COUNT 0", f"{name} nokey 0 BAD", f"{name} nokey 0 MATCH", f"{name} nokey x COUNT 0",
            f"{name} str 0 COUNT 0", f"{name} str x", f"{name} str 0 TYPE string",
        ])
    for key in ("h", "s", "z"):
        cmd = {"h": "HSCAN", "s": "SSCAN", "z": "ZSCAN"}[key]
        d.check_all([
            f"{cmd} {key} 0 COUNT 0", f"{cmd} {key} 0 COUNT x", f"{cmd} {key} 0 COUNT", f"{cmd} {key} 0 TYPE string",
            f"{cmd} {key} 0 MATCH", f"{cmd} {key} 0 count 9223372036854775808", f"{cmd} {key} x COUNT 0",
        ])
        same_page(d, cmd, key, "0", "match", "*", "count", "5", "MATCH", "a*", "COUNT", "1")
