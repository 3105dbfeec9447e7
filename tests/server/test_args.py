"""The argument cursor and keyword groups every option parser uses (server/commands/args.py)."""

from __future__ import annotations

import pytest

from server.commands.args import (
    INVALID_CURSOR,
    NOT_FLOAT,
    NOT_INTEGER,
    SYNTAX_ERROR,
    ArgCursor,
    OneOf,
    parse_scan_cursor,
    parse_scan_options,
)
from server.protocol import Error


def test_cursor_reads_left_to_right():
    args = ArgCursor((b"count", b"12", b"1.5", b"x", b"a", b"b"))
    assert args and args.left() == 6 and args.peek() == b"count"
    assert args.next_keyword() == b"COUNT"
    assert args.has(5) and not args.has(6)
    assert args.next_int() == 12
    assert args.next_float() == 1.5
    assert args.next_bytes() == b"x"
    assert list(args.next_many(2)) == [b"a", b"b"]
    assert not args
    with pytest.raises(Error):
        args.peek()
    args.finish()


def test_cursor_errors_are_redis_texts():
    with pytest.raises(Error) as info:
        ArgCursor((b"x",)).next_int()
    assert info.value is NOT_INTEGER
    with pytest.raises(Error) as info:
        ArgCursor((b"nan",)).next_float()
    assert info.value is NOT_FLOAT
    custom = Error(b"ERR timeout is not an integer or out of range")
    with pytest.raises(Error) as info:
        ArgCursor((b"+1",)).next_int(custom)
    assert info.value is custom
    with pytest.raises(Error) as info:
        ArgCursor(()).next_bytes()
    assert info.value is SYNTAX_ERROR
    leftover = ArgCursor((b"a", b"b"), pos=1)
    with pytest.raises(Error) as info:
        leftover.finish()
    assert info.value is SYNTAX_ERROR
    assert list(leftover.rest()) == [b"b"]
    leftover.finish()


def test_one_of_accepts_a_repeat_but_not_a_second_word():
    group = OneOf(b"NX", b"XX")
    assert group.chosen is None
    assert group.take(b"NX") and group.take(b"NX")
    assert not group.take(b"XX")
    assert not group.take(b"GT")
    assert group.chosen == b"NX"


@pytest.mark.parametrize(("text", "value"), [
    (b"0", 0), (b"", 0), (b"00", 0), (b"+1", 1), (b"-1", 2**64 - 1), (b"18446744073709551615", 2**64 - 1),
    (b"-18446744073709551615", 1), (b"7\x00junk", 7), (b"\x00", 0),
])
def test_scan_cursor_accepted(text, value):
    assert parse_scan_cursor(text) == value


@pytest.mark.parametrize("text", [
    b" 0", b"\t0", b"0 ", b"-", b"+", b"+-1", b"18446744073709551616", b"-18446744073709551616", b"0x1", b"1e3",
    "\u0663".encode(),
])
def test_scan_cursor_rejected(text):
    with pytest.raises(Error) as info:
        parse_scan_cursor(text)
    assert info.value is INVALID_CURSOR


def test_scan_options():
    assert parse_scan_options((), allow_type=False) == (10, None, None)
    assert parse_scan_options((b"match", b"a*", b"COUNT", b"3", b"type", b"hash"), allow_type=True) == (3, b"a*", b"hash")
    for bad in ((b"TYPE", b"hash"), (b"COUNT",), (b"COUNT", b"0"), (b"MATCH",), (b"FOO", b"1")):
        with pytest.raises(Error) as info:
            parse_scan_options(bad, allow_type=False)
        assert info.value is SYNTAX_ERROR
    with pytest.raises(Error) as info:
        parse_scan_options((b"COUNT", b"x"), allow_type=False)
    assert info.value is NOT_INTEGER
