"""String and bit commands compared byte for byte with redis-server, RESP2 and RESP3.

Each scenario is a list of commands run in order on both servers from empty
databases; every reply must be identical. Scenarios that need a key of another
type create it with whichever collection command our server offers (the
collection families live elsewhere); ``TTL`` is compared where our server has it.
"""

from __future__ import annotations

import pytest

from server.client import Client
from server.command import load_all
from server.dispatch import build_lookup, execute
from server.instance import Server
from tests.differential.harness import RawConnection, parse

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"

# Scenarios: name → commands. "!wrongtype k" stands for "make k a key of a non-string type".
# TTL is only asked after relative expiries (whole seconds left on both servers); after an
# absolute one the answer depends on when the second ticks between the two calls.
SCENARIOS: dict[str, list[tuple]] = {
    "get_set_basic": [
        ("GET", "k"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", ""), ("GET", "k"),
        ("SET", "k", "12345"), ("GET", "k"), ("SET", "k", "v", "x"), ("SET", "k"), ("GET", "k", "x"),
        ("set", "K", "lower case command"), ("GET", "K"),
    ],
    "set_conditions": [
        ("SET", "k", "a", "NX"), ("SET", "k", "b", "NX"), ("GET", "k"), ("SET", "k", "c", "XX"),
        ("SET", "missing", "c", "XX"), ("GET", "missing"), ("SET", "k", "d", "NX", "XX"),
        ("SET", "k", "d", "XX", "NX"), ("SET", "k", "e", "nx", "nx"), ("SET", "k", "f", "xx", "XX"),
        ("GET", "k"),
    ],
    "set_get_option": [
        ("SET", "k", "a", "GET"), ("SET", "k", "b", "GET"), ("SET", "k", "c", "GET", "GET"),
        ("SET", "k", "d", "NX", "GET"), ("SET", "k2", "d", "NX", "GET"), ("SET", "k3", "x", "XX", "GET"),
        ("GET", "k3"), ("SET", "k", "e", "XX", "GET", "EX", "100"), ("GET", "k"),
        ("!wrongtype", "w"), ("SET", "w", "x", "GET"), ("SET", "w", "x", "GET", "EX", "0"),
        ("SET", "w", "x", "NX", "GET"), ("SET", "w", "x"), ("GET", "w"),
    ],
    "set_expiry_options": [
        ("SET", "k", "v", "EX", "100"), ("TTL", "k"), ("SET", "k", "v", "PX", "100000"), ("TTL", "k"),
        ("SET", "k", "v", "EXAT", "99999999999"), ("EXISTS", "k"), ("SET", "k", "v", "PXAT", "99999999999999"),
        ("EXISTS", "k"), ("SET", "k", "v", "EX", "100"), ("SET", "k", "v2", "KEEPTTL"), ("TTL", "k"), ("SET", "k", "v3"), ("TTL", "k"),
        ("SET", "k", "v", "EX", "100", "EX", "200"), ("TTL", "k"), ("SET", "k", "v", "EX", "100", "PX", "5"),
        ("SET", "k", "v", "EX", "100", "KEEPTTL"), ("SET", "k", "v", "KEEPTTL", "EX", "1"),
        ("SET", "k", "v", "KEEPTTL", "KEEPTTL"), ("SET", "k", "v", "EX"), ("SET", "k", "v", "PX"),
        ("SET", "k", "v", "ex", "10"), ("TTL", "k"), ("SET", "k", "v", "EXAT", "1"), ("GET", "k"),
        ("SET", "k", "v", "PXAT", "1"), ("GET", "k"), ("SET", "k", "v", "PERSIST"), ("SET", "k", "v", "FOO"),
    ],
    "set_expiry_errors": [
        ("SET", "k", "v", "EX", "0"), ("SET", "k", "v", "EX", "-1"), ("SET", "k", "v", "PX", "0"),
        ("SET", "k", "v", "EX", "abc"), ("SET", "k", "v", "EX", "1.5"), ("SET", "k", "v", "EX", " 1"),
        ("SET", "k", "v", "EX", BIG), ("SET", "k", "v", "PX", BIG), ("SET", "k", "v", "EXAT", BIG),
        ("SET", "k", "v", "PXAT", BIG), ("SET", "k", "v", "EX", "9223372036854775"),
        ("SET", "k", "v", "EX", "9223372036854776"), ("SET", "k", "v", "EX", "9223372036854775808"),
        ("SET", "k", "v", "EXAT", "-5"), ("SET", "k", "v", "NX", "EX", "0"), ("GET", "k"),
        ("SETEX", "k", "0", "v"), ("SETEX", "k", "-10", "v"), ("SETEX", "k", "x", "v"),
        ("SETEX", "k", BIG, "v"), ("PSETEX", "k", "0", "v"), ("PSETEX", "k", BIG, "v"), ("PSETEX", "k", "x", "v"),
        ("GET", "k"),
    ],
    "setex_psetex_setnx": [
        ("SETEX", "k", "100", "v"), ("GET", "k"), ("TTL", "k"), ("PSETEX", "k", "100000", "w"), ("GET", "k"),
        ("TTL", "k"), ("SETNX", "k", "x"), ("SETNX", "n", "x"), ("GET", "n"), ("SETEX", "k"),
        ("SETEX", "k", "1"), ("PSETEX", "k", "1"), ("SETNX", "k"), ("!wrongtype", "w"), ("SETEX", "w", "10", "v"),
        ("GET", "w"), ("!wrongtype", "w2"), ("SETNX", "w2", "v"),
    ],
    "getset_getdel": [
        ("GETSET", "k", "a"), ("GETSET", "k", "b"), ("GET", "k"), ("SET", "t", "v", "EX", "100"),
        ("GETSET", "t", "w"), ("TTL", "t"), ("GETDEL", "k"), ("GETDEL", "k"), ("GET", "k"),
        ("!wrongtype", "w"), ("GETSET", "w", "x"), ("GETDEL", "w"), ("GETSET", "k"), ("GETDEL", "k", "x"),
    ],
    "getex": [
        ("GETEX", "k"), ("SET", "k", "v"), ("GETEX", "k"), ("GETEX", "k", "EX", "100"), ("TTL", "k"),
        ("GETEX", "k", "PERSIST"), ("TTL", "k"), ("GETEX", "k", "PX", "200000"), ("TTL", "k"),
        ("GETEX", "k", "EXAT", "99999999999"), ("EXISTS", "k"), ("GETEX", "k", "PXAT", "99999999999999"),
        ("EXISTS", "k"), ("GETEX", "k", "PERSIST", "PERSIST"), ("GETEX", "k", "EX", "1", "PERSIST"),
        ("GETEX", "k", "PERSIST", "EX", "1"), ("GETEX", "k", "EX", "0"), ("GETEX", "k", "EX", "x"),
        ("GETEX", "k", "EX"), ("GETEX", "k", "KEEPTTL"), ("GETEX", "k", "NX"), ("GETEX", "k", "GET"),
        ("GETEX", "missing", "EX", "0"), ("GETEX", "missing", "FOO"), ("GETEX", "k", "EX", "10", "EX", "20"),
        ("TTL", "k"), ("GETEX", "k", "EXAT", "1"), ("GET", "k"), ("SET", "k", "v"),
        ("GETEX", "k", "PXAT", "1"), ("GET", "k"), ("!wrongtype", "w"), ("GETEX", "w"),
        ("GETEX", "w", "EX", "0"), ("GETEX", "w", "FOO"), ("GETEX",),
    ],
    "mget_mset_msetnx": [
        ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "c"), ("MSET", "a"), ("MSET", "a", "1", "b"),
        ("MSET", "a", "x", "a", "y"), ("GET", "a"), ("MSETNX", "a", "1", "z", "2"), ("GET", "z"),
        ("MSETNX", "y", "1", "z", "2"), ("MGET", "y", "z"), ("MSETNX", "q", "1", "q", "2"), ("GET", "q"),
        ("MSETNX", "a"), ("MSETNX", "a", "1", "b"), ("!wrongtype", "w"), ("MGET", "a", "w", "b"),
        ("MSETNX", "w", "1"), ("MSET", "w", "s"), ("GET", "w"), ("SET", "t", "v", "EX", "100"),
        ("MSET", "t", "v2"), ("TTL", "t"), ("MGET",), ("MSET",),
    ],
    "incr_decr": [
        ("INCR", "n"), ("INCR", "n"), ("DECR", "n"), ("DECR", "n"), ("DECR", "n"), ("INCRBY", "n", "10"),
        ("INCRBY", "n", "-20"), ("DECRBY", "n", "5"), ("DECRBY", "n", "-5"), ("GET", "n"),
        ("SET", "n", BIG), ("INCR", "n"), ("INCRBY", "n", "0"), ("DECRBY", "n", SMALL), ("SET", "n", SMALL),
        ("DECR", "n"), ("INCRBY", "n", SMALL), ("DECRBY", "n", "1"), ("SET", "n", "-1"), ("DECRBY", "n", SMALL),
        ("SET", "n", "0"), ("DECRBY", "n", SMALL), ("INCRBY", "n", BIG), ("INCRBY", "n", "1"),
        ("INCRBY", "n", "9223372036854775808"), ("INCRBY", "n", "x"), ("INCRBY", "n", "1.5"),
        ("INCRBY", "n", ""), ("INCRBY", "n", " 1"), ("INCRBY", "n", "+1"), ("INCRBY", "n", "01"),
        ("DECRBY", "n", "-0"), ("SET", "s", "abc"), ("INCR", "s"), ("SET", "s", " 1"), ("INCR", "s"),
        ("SET", "s", "1 "), ("INCR", "s"), ("SET", "s", "01"), ("INCR", "s"), ("SET", "s", "-0"), ("INCR", "s"),
        ("SET", "s", "1.0"), ("INCR", "s"), ("SET", "s", ""), ("INCR", "s"), ("SET", "s", "+5"), ("INCR", "s"),
        ("SET", "s", "99999999999999999999"), ("INCR", "s"), ("SET", "t", "10", "EX", "100"), ("INCR", "t"),
        ("TTL", "t"), ("!wrongtype", "w"), ("INCR", "w"), ("DECRBY", "w", "1"), ("INCR",), ("INCRBY", "n"),
    ],
    "incrbyfloat": [
        ("INCRBYFLOAT", "f", "0.1"), ("INCRBYFLOAT", "f", "0.2"), ("INCRBYFLOAT", "f", "-0.3"), ("GET", "f"),
        ("SET", "f", "10.50"), ("INCRBYFLOAT", "f", "0.1"), ("INCRBYFLOAT", "f", "5.0e3"),
        ("INCRBYFLOAT", "f", "2.0e2"), ("INCRBYFLOAT", "f", "-5200.6"), ("SET", "f", "3"),
        ("INCRBYFLOAT", "f", "-1.1"), ("INCRBYFLOAT", "f", "1e300"), ("INCRBYFLOAT", "f", "-1e300"),
        ("INCRBYFLOAT", "f", "1.23456789012345678901"), ("INCRBYFLOAT", "f", "0x10"), ("INCRBYFLOAT", "f", "0x1p-3"),
        ("INCRBYFLOAT", "f", "inf"), ("INCRBYFLOAT", "f", "-inf"), ("INCRBYFLOAT", "f", "nan"),
        ("INCRBYFLOAT", "f", "abc"), ("INCRBYFLOAT", "f", ""), ("INCRBYFLOAT", "f", " 1"),
        ("INCRBYFLOAT", "f", "1 "), ("INCRBYFLOAT", "f", "1e"), ("INCRBYFLOAT", "f", ".5"),
        ("INCRBYFLOAT", "f", "5."), ("INCRBYFLOAT", "f", "+2"), ("INCRBYFLOAT", "f", "1e5000"),
        ("INCRBYFLOAT", "f", "1e-5000"), ("INCRBYFLOAT", "f", "1e-300"), ("INCRBYFLOAT", "f", "1_0"),
        ("INCRBYFLOAT", "f", "1/2"), ("INCRBYFLOAT", "f", "0"), ("GET", "f"), ("SET", "f", "1e400"),
        ("INCRBYFLOAT", "f", "1"), ("SET", "f", "inf"), ("INCRBYFLOAT", "f", "1"), ("SET", "f", "abc"),
        ("INCRBYFLOAT", "f", "1"), ("SET", "f", " 1"), ("INCRBYFLOAT", "f", "1"), ("SET", "f", "-0.0"),
        ("INCRBYFLOAT", "f", "0"), ("SET", "f", "1.7976931348623157e308"), ("INCRBYFLOAT", "f", "1e308"),
        ("SET", "f", "-3.5"), ("INCRBYFLOAT", "f", "3.5"), ("INCRBYFLOAT", "f", "-0.00000000000000001"),
        ("INCRBYFLOAT", "f", "-0.000000000000000001"), ("SET", "f", "5", "EX", "100"),
        ("INCRBYFLOAT", "f", "1.5"), ("TTL", "f"), ("SET", "f", "1e4932"), ("INCRBYFLOAT", "f", "-1e4931"),
        ("INCRBYFLOAT", "f", "1e4932"), ("INCRBYFLOAT", "f", "0x1p16383"), ("SET", "f", "0"),
        ("INCRBYFLOAT", "f", "1e-4950"), ("INCRBYFLOAT", "f", "3e-4951"), ("INCRBYFLOAT", "f", "1" * 5000),
        ("INCRBYFLOAT", "f", "1" * 5120), ("INCRBYFLOAT", "f", "0x1.8p1"), ("INCRBYFLOAT", "f", "infinity"),
        ("!wrongtype", "w"), ("INCRBYFLOAT", "w", "1"),
        ("INCRBYFLOAT", "w", "x"), ("INCRBYFLOAT", "f"),
    ],
    "append_strlen": [
        ("APPEND", "k", "abc"), ("APPEND", "k", "def"), ("GET", "k"), ("STRLEN", "k"), ("APPEND", "k", ""),
        ("STRLEN", "missing"), ("APPEND", "e", ""), ("EXISTS", "e"), ("STRLEN", "e"), ("SET", "n", "123"),
        ("APPEND", "n", "4"), ("INCR", "n"), ("STRLEN", "n"), ("SET", "t", "v", "EX", "100"),
        ("APPEND", "t", "w"), ("TTL", "t"), ("!wrongtype", "w"), ("APPEND", "w", "x"), ("STRLEN", "w"),
        ("APPEND", "k"), ("STRLEN",),
    ],
    "getrange_substr": [
        ("SET", "k", "Hello, World"), ("GETRANGE", "k", "0", "4"), ("GETRANGE", "k", "-5", "-1"),
        ("GETRANGE", "k", "0", "-1"), ("GETRANGE", "k", "0", "100"), ("GETRANGE", "k", "5", "3"),
        ("GETRANGE", "k", "-1", "-5"), ("GETRANGE", "k", "-100", "-50"), ("GETRANGE", "k", "-100", "2"),
        ("GETRANGE", "k", "20", "30"), ("GETRANGE", "k", "11", "11"), ("GETRANGE", "k", "12", "-1"),
        ("GETRANGE", "k", "-1", "-1"), ("GETRANGE", "k", "0", "0"), ("GETRANGE", "k", SMALL, BIG),
        ("GETRANGE", "k", "x", "1"), ("GETRANGE", "k", "1", "x"), ("GETRANGE", "k", "1", "9223372036854775808"),
        ("GETRANGE", "missing", "0", "-1"), ("GETRANGE", "missing", "x", "1"), ("SUBSTR", "k", "0", "4"),
        ("SUBSTR", "k", "-3", "-1"), ("SUBSTR", "missing", "0", "1"), ("SET", "e", ""),
        ("GETRANGE", "e", "0", "-1"), ("GETRANGE", "e", "-1", "0"), ("SET", "n", "12345"),
        ("GETRANGE", "n", "1", "2"), ("!wrongtype", "w"), ("GETRANGE", "w", "0", "1"),
        ("GETRANGE", "w", "x", "1"), ("GETRANGE", "k", "0"), ("SUBSTR", "k"),
    ],
    "setrange": [
        ("SETRANGE", "k", "0", "Hello"), ("SETRANGE", "k", "6", "World"), ("GET", "k"),
        ("SETRANGE", "k", "1", "a"), ("GET", "k"), ("SETRANGE", "k", "20", ""), ("GET", "k"),
        ("SETRANGE", "missing", "5", ""), ("EXISTS", "missing"), ("SETRANGE", "missing", "3", "x"),
        ("GET", "missing"), ("SETRANGE", "k", "-1", "x"), ("SETRANGE", "k", "x", "y"),
        ("SETRANGE", "k", "1.5", "y"), ("SETRANGE", "k", "536870911", ""), ("SETRANGE", "k", "536870912", "x"),
        ("SETRANGE", "k", "536870911", "xy"), ("SETRANGE", "new", "536870912", "x"), ("EXISTS", "new"),
        ("SETRANGE", "k", BIG, "x"), ("SETRANGE", "k", "9223372036854775808", "x"), ("SET", "n", "1234"),
        ("SETRANGE", "n", "1", "9"), ("INCR", "n"), ("SET", "t", "value", "EX", "100"),
        ("SETRANGE", "t", "0", "V"), ("TTL", "t"), ("!wrongtype", "w"), ("SETRANGE", "w", "0", "x"),
        ("SETRANGE", "w", "0", ""), ("SETRANGE", "w", "-1", "x"), ("SETRANGE", "k", "0"),
    ],
    "lcs": [
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4"), ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "-3"), ("LCS", "a", "b", "IDX", "MINMATCHLEN", "x"),
        ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "LEN", "IDX"), ("LCS", "a", "b", "FOO"),
        ("LCS", "a", "b", "LEN", "WITHMATCHLEN"), ("LCS", "a", "b", "WITHMATCHLEN"), ("LCS", "a", "missing"),
        ("LCS", "missing", "b", "IDX"), ("LCS", "missing", "other", "LEN"), ("LCS", "a", "a"),
        ("LCS", "a", "a", "IDX", "WITHMATCHLEN"), ("MSET", "x", "aaaa", "y", "aa"), ("LCS", "x", "y", "IDX"),
        ("MSET", "p", "abcXdefYghi", "q", "ZabcdefWWghi"), ("LCS", "p", "q"), ("LCS", "p", "q", "IDX", "WITHMATCHLEN"),
        ("LCS", "q", "p", "idx", "withmatchlen", "minmatchlen", "2"), ("LCS", "p", "q", "len", "len"),
        ("MSET", "u", "12345", "v", "2345"), ("LCS", "u", "v", "IDX"), ("!wrongtype", "w"), ("LCS", "a", "w"),
        ("LCS", "w", "a", "FOO"), ("LCS", "a"),
    ],
    "setbit_getbit": [
        ("SETBIT", "b", "7", "1"), ("GET", "b"), ("GETBIT", "b", "7"), ("GETBIT", "b", "6"),
        ("GETBIT", "b", "100"), ("SETBIT", "b", "7", "0"), ("SETBIT", "b", "7", "0"), ("SETBIT", "b", "100", "1"),
        ("STRLEN", "b"), ("GET", "b"), ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "x", "1"),
        ("SETBIT", "b", "1", "2"), ("SETBIT", "b", "1", "-1"), ("SETBIT", "b", "1", "x"), ("SETBIT", "b", "1", ""),
        ("SETBIT", "b", "4294967296", "x"), ("SETBIT", "b", "4294967296", "1"), ("SETBIT", "b", BIG, "1"),
        ("GETBIT", "b", "4294967296"), ("GETBIT", "b", "4294967295"), ("GETBIT", "b", "-1"), ("GETBIT", "b", "x"),
        ("GETBIT", "missing", "0"), ("GETBIT", "missing", "-1"), ("SET", "n", "1"), ("GETBIT", "n", "2"),
        ("GETBIT", "n", "3"), ("SETBIT", "n", "6", "1"), ("GET", "n"), ("SET", "t", "v", "EX", "100"),
        ("SETBIT", "t", "0", "1"), ("TTL", "t"), ("!wrongtype", "w"), ("SETBIT", "w", "0", "1"),
        ("GETBIT", "w", "0"), ("SETBIT", "w", "-1", "1"), ("SETBIT", "b", "1"), ("GETBIT", "b"),
    ],
    "bitcount": [
        ("SET", "k", "foobar"), ("BITCOUNT", "k"), ("BITCOUNT", "k", "0", "0"), ("BITCOUNT", "k", "1", "1"),
        ("BITCOUNT", "k", "-2", "-1"), ("BITCOUNT", "k", "5", "30"), ("BITCOUNT", "k", "0", "-1", "BYTE"),
        ("BITCOUNT", "k", "5", "30", "BIT"), ("BITCOUNT", "k", "-3", "-1", "bit"), ("BITCOUNT", "k", "1", "0"),
        ("BITCOUNT", "k", "-1", "-5"), ("BITCOUNT", "k", "-100", "100"), ("BITCOUNT", "k", "-100", "-90"),
        ("BITCOUNT", "k", "7", "9", "BIT"), ("BITCOUNT", "k", "0", "47", "BIT"), ("BITCOUNT", "k", "47", "47", "BIT"),
        ("BITCOUNT", "k", "48", "100", "BIT"), ("BITCOUNT", "k", "-9", "-2", "BIT"), ("BITCOUNT", "k", "0"),
        ("BITCOUNT", "k", "0", "1", "BIT", "x"), ("BITCOUNT", "k", "0", "1", "FOO"), ("BITCOUNT", "k", "x", "1"),
        ("BITCOUNT", "k", "0", "x"), ("BITCOUNT", "k", "-1", "-5", "FOO"), ("BITCOUNT", "k", "x", "1", "FOO"),
        ("BITCOUNT", "missing"), ("BITCOUNT", "missing", "0"), ("BITCOUNT", "missing", "x", "y"),
        ("BITCOUNT", "missing", "0", "1", "FOO"), ("SET", "e", ""), ("BITCOUNT", "e"), ("BITCOUNT", "e", "0", "-1"),
        ("SET", "n", "12345"), ("BITCOUNT", "n"), ("BITCOUNT", "k", SMALL, BIG), ("BITCOUNT", "k", SMALL, BIG, "BIT"),
        ("!wrongtype", "w"), ("BITCOUNT", "w"), ("BITCOUNT", "w", "0", "1"), ("BITCOUNT", "w", "x", "1"),
        ("BITCOUNT",),
    ],
    "bitpos": [
        ("SET", "k", "\xff\xf0\x00"), ("BITPOS", "k", "0"), ("BITPOS", "k", "1"), ("BITPOS", "k", "0", "1"),
        ("BITPOS", "k", "1", "2"), ("BITPOS", "k", "1", "2", "-1"), ("BITPOS", "k", "0", "0", "0"),
        ("BITPOS", "k", "1", "1", "-1"), ("BITPOS", "k", "0", "0", "-1", "BIT"), ("BITPOS", "k", "1", "7", "15", "BIT"),
        ("BITPOS", "k", "0", "2", "7", "BIT"), ("BITPOS", "k", "0", "12", "13", "bit"), ("BITPOS", "k", "1", "12", "20", "BIT"),
        ("BITPOS", "k", "0", "3", "10", "BIT"), ("BITPOS", "k", "1", "-10", "-1", "BIT"), ("BITPOS", "k", "0", "5", "1"),
        ("BITPOS", "k", "0", "100"), ("BITPOS", "k", "1", "-100"), ("BITPOS", "k", "0", "-100", "-50"),
        ("BITPOS", "k", "0", "1", "2", "BYTE"), ("BITPOS", "k", "0", "20", "BIT"), ("BITPOS", "k", "0", "0", "1", "FOO"),
        ("BITPOS", "k", "2"), ("BITPOS", "k", "-1"), ("BITPOS", "k", "x"), ("BITPOS", "k", "0", "x"),
        ("BITPOS", "k", "0", "0", "x"), ("BITPOS", "k", "0", "0", "1", "BIT", "x"),
        ("SET", "ones", "\xff\xff"), ("BITPOS", "ones", "0"), ("BITPOS", "ones", "0", "0"),
        ("BITPOS", "ones", "0", "0", "-1"), ("BITPOS", "ones", "0", "0", "-1", "BIT"), ("BITPOS", "ones", "0", "3", "BIT"),
        ("BITPOS", "ones", "1", "1"), ("SET", "zeros", "\x00\x00"), ("BITPOS", "zeros", "1"), ("BITPOS", "zeros", "0"),
        ("BITPOS", "zeros", "1", "0", "-1", "BIT"), ("SET", "e", ""), ("BITPOS", "e", "0"), ("BITPOS", "e", "1"),
        ("BITPOS", "e", "0", "0"), ("BITPOS", "e", "0", "0", "-1", "BIT"), ("BITPOS", "missing", "0"),
        ("BITPOS", "missing", "1"), ("BITPOS", "missing", "1", "x"), ("BITPOS", "missing", "2"),
        ("BITPOS", "missing", "0", "1", "2", "FOO"), ("SET", "n", "9"), ("BITPOS", "n", "1"),
        ("!wrongtype", "w"), ("BITPOS", "w", "1"), ("BITPOS", "w", "2"), ("BITPOS", "w", "1", "x"), ("BITPOS", "k"),
    ],
    "bitop": [
        ("SET", "a", "abc"), ("SET", "b", "\x0f\xf0"), ("BITOP", "AND", "d", "a", "b"), ("GET", "d"),
        ("BITOP", "OR", "d", "a", "b"), ("GET", "d"), ("BITOP", "XOR", "d", "a", "b", "a"), ("GET", "d"),
        ("BITOP", "NOT", "d", "a"), ("GET", "d"), ("BITOP", "not", "d", "b"), ("GET", "d"),
        ("BITOP", "AND", "d", "a", "missing"), ("GET", "d"), ("BITOP", "OR", "d", "missing"), ("EXISTS", "d"),
        ("BITOP", "OR", "d", "missing", "other"), ("BITOP", "NOT", "d", "a", "b"), ("BITOP", "NOT", "d", "missing"),
        ("BITOP", "FOO", "d", "a"), ("BITOP", "AND", "d"), ("SET", "t", "v", "EX", "100"),
        ("BITOP", "AND", "t", "a"), ("TTL", "t"), ("GET", "t"), ("BITOP", "AND", "a", "a", "b"), ("GET", "a"),
        ("SET", "n", "12"), ("BITOP", "OR", "d", "n", "n"), ("GET", "d"), ("!wrongtype", "w"),
        ("BITOP", "OR", "d", "a", "w"), ("BITOP", "OR", "w", "a"), ("GET", "w"), ("!wrongtype", "w2"),
        ("BITOP", "OR", "w2", "missing"), ("EXISTS", "w2"), ("BITOP", "FOO", "d", "w"),
    ],
    "bitfield": [
        ("BITFIELD", "k"), ("EXISTS", "k"), ("BITFIELD", "k", "GET", "u8", "0"), ("EXISTS", "k"),
        ("BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0"), ("GET", "k"),
        ("BITFIELD", "k", "INCRBY", "u8", "0", "1"), ("BITFIELD", "k", "INCRBY", "i5", "100", "1", "GET", "u4", "0"),
        ("BITFIELD", "k", "SET", "i8", "#1", "-100", "GET", "i8", "#1", "GET", "u8", "#1"), ("GET", "k"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300", "INCRBY", "i8", "8", "-300"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1", "INCRBY", "u8", "0", "-1000"),
        ("BITFIELD", "k", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "1000", "INCRBY", "i8", "8", "-1000"),
        ("BITFIELD", "k", "overflow", "sat", "SET", "u8", "0", "-1", "SET", "i4", "0", "100", "SET", "i4", "0", "-100"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u2", "0", "4", "SET", "i2", "0", "2", "SET", "i2", "0", "-2"),
        ("BITFIELD", "k", "SET", "u2", "0", "7", "SET", "u3", "3", "-1", "GET", "u6", "0"),
        ("BITFIELD", "k", "SET", "i64", "0", SMALL, "INCRBY", "i64", "0", "-1", "GET", "i64", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i64", "0", BIG, "INCRBY", "i64", "0", "1", "INCRBY", "i64", "0", SMALL),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "1", "SET", "u63", "0", BIG, "INCRBY", "u63", "0", "1"),
        ("BITFIELD", "k", "SET", "u63", "3", "12345", "GET", "u63", "3", "GET", "i64", "3", "GET", "u1", "65"),
        # Redis computes max - value in 64 bits: far below the minimum wraps into an overflow upwards.
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i21", "63", SMALL, "GET", "i21", "63", "SET", "i8", "0", "-9223372036854775000",
         "GET", "i8", "0", "SET", "i8", "0", "-9223372036854775681", "GET", "i8", "0", "SET", "i64", "0", SMALL),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "i21", "63", SMALL, "OVERFLOW", "WRAP", "SET", "i21", "63", SMALL),
        ("BITFIELD", "k", "GET", "u64", "0"), ("BITFIELD", "k", "GET", "i65", "0"), ("BITFIELD", "k", "GET", "i0", "0"),
        ("BITFIELD", "k", "GET", "x8", "0"), ("BITFIELD", "k", "GET", "U8", "0"), ("BITFIELD", "k", "GET", "u", "0"),
        ("BITFIELD", "k", "GET", "u08", "0"), ("BITFIELD", "k", "GET", "u8", "-1"), ("BITFIELD", "k", "GET", "u8", "x"),
        ("BITFIELD", "k", "GET", "u8", "#"), ("BITFIELD", "k", "GET", "u8", "#-1"), ("BITFIELD", "k", "GET", "u8", "##1"),
        ("BITFIELD", "k", "GET", "u8", "4294967296"), ("BITFIELD", "k", "GET", "u8", "4294967295"),
        ("BITFIELD", "k", "GET", "u8", "#536870912"), ("BITFIELD", "k", "SET", "u8", "0", "x"),
        ("BITFIELD", "k", "SET", "u8", "0"), ("BITFIELD", "k", "GET", "u8"), ("BITFIELD", "k", "INCRBY", "u8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "FOO", "GET", "u8", "0"), ("BITFIELD", "k", "OVERFLOW"),
        ("BITFIELD", "k", "FOO"), ("BITFIELD", "k", "GET", "u8", "0", "FOO"),
        ("BITFIELD", "k", "SET", "u8", "0", "1", "GET", "x8", "0"), ("GET", "k"),
        ("BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u8", "100", "1000"), ("GET", "new"),
        ("BITFIELD", "new2", "OVERFLOW", "SAT", "SET", "u1", "0", "1", "OVERFLOW", "FAIL", "SET", "u1", "1", "2"),
        ("GET", "new2"), ("SET", "n", "12"), ("BITFIELD", "n", "GET", "u16", "0", "INCRBY", "u8", "8", "1"),
        ("GET", "n"), ("SET", "t", "v", "EX", "100"), ("BITFIELD", "t", "SET", "u8", "0", "65"), ("TTL", "t"),
        ("GET", "t"), ("BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i3", "#5"), ("BITFIELD_RO", "missing", "GET", "u8", "0"),
        ("BITFIELD_RO", "k", "SET", "u8", "0", "1"), ("BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "OVERFLOW", "SAT"), ("BITFIELD_RO", "k"), ("BITFIELD_RO", "k", "FOO"),
        ("BITFIELD_RO", "k", "GET", "x1", "0"), ("!wrongtype", "w"), ("BITFIELD", "w", "GET", "u8", "0"),
        ("BITFIELD", "w", "SET", "u8", "0", "1"), ("BITFIELD", "w"), ("BITFIELD_RO", "w", "GET", "u8", "0"),
        ("BITFIELD_RO", "w", "SET", "u8", "0", "1"), ("BITFIELD", "w", "GET", "x8", "0"), ("BITFIELD",),
    ],
}

_COLLECTION_MAKERS = [("RPUSH", "k", "x"), ("SADD", "k", "x"), ("HSET", "k", "f", "v"), ("ZADD", "k", "1", "x")]


def _known(conn: RawConnection, name: str) -> bool:
    """Does the server behind ``conn`` implement ``name``? (Unknown: a null in place of the info array.)"""
    return conn.call("COMMAND", "INFO", name)[4:5] == b"*"


def run_scenario(differ, commands: list[tuple]) -> None:
    """Run ``commands`` on both servers, comparing every reply (see SCENARIOS)."""
    has_ttl = _known(differ.ours, "TTL")
    for cmd in commands:
        if cmd[0] == "!wrongtype":
            maker = next((m for m in _COLLECTION_MAKERS if _known(differ.ours, m[0])), None)
            assert maker is not None, "a collection command is needed to stand for a wrong type"
            differ.check(maker[0], cmd[1], *maker[2:])
        elif cmd[0] == "TTL" and not has_ttl:
            differ.call("EXISTS", cmd[1])  # TTL is the key family's; keep the step, compare existence
        else:
            differ.check(*cmd)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_resp2(diff, name):
    run_scenario(diff, SCENARIOS[name])


@pytest.mark.parametrize("name", ["get_set_basic", "set_get_option", "getex", "mget_mset_msetnx", "incrbyfloat",
                                  "lcs", "bitfield", "getrange_substr"])
def test_scenario_resp3(diff3, name):
    """Shapes that differ in RESP3: nulls, LCS IDX as a map, BITFIELD FAIL nulls."""
    run_scenario(diff3, SCENARIOS[name])


def test_string_limit_follows_proto_max_bulk_len(diff):
    """The 512 MB limit is proto-max-bulk-len: lowered, it bounds SETRANGE, APPEND, SETBIT, LCS."""
    diff.check("CONFIG", "SET", "proto-max-bulk-len", "1048576")
    try:
        diff.check_all([
            ("SETRANGE", "k", "1048575", "x"), ("STRLEN", "k"), ("SETRANGE", "k", "1048576", "x"),
            ("SETRANGE", "k", "1048575", "xy"), ("APPEND", "k", "y"), ("SET", "k2", "abc"),
            ("SETRANGE", "k2", "1048574", "yz"), ("SETBIT", "b", "8388607", "1"), ("SETBIT", "b", "8388608", "1"),
            ("GETBIT", "b", "8388608"), ("BITFIELD", "b", "GET", "u8", "8388600"),
            ("BITFIELD", "b", "GET", "u8", "8388608"), ("STRLEN", "b"),
            ("SET", "x", "a" * 600), ("SET", "y", "b" * 600), ("LCS", "x", "y"), ("LCS", "x", "y", "LEN"),
            ("SET", "y", "b" * 400), ("LCS", "x", "y", "LEN"),
        ])
    finally:
        diff.call("CONFIG", "SET", "proto-max-bulk-len", "536870912", compare=False)


def test_string_limit_default(diff):
    """At the default limit, offsets that would pass 512 MB are refused before anything is allocated."""
    diff.check_all([
        ("SETRANGE", "k", "536870912", "x"), ("SETRANGE", "k", "536870911", "xy"), ("EXISTS", "k"),
        ("SETBIT", "k", "4294967296", "1"), ("BITFIELD", "k", "SET", "u8", "4294967296", "1"), ("EXISTS", "k"),
    ])


def test_lcs_longer_strings(diff):
    """The bit-parallel table agrees with Redis's on strings long enough to have many tied paths."""
    a = ("ACGTTGCA" * 40)[:317]
    b = ("TGCAACGT" * 45)[:359]
    diff.check("MSET", "a", a, "b", b)
    diff.check("LCS", "a", "b")
    diff.check("LCS", "a", "b", "LEN")
    diff.check("LCS", "a", "b", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN")
    diff.check("LCS", "b", "a", "IDX")


def test_binary_safe_values(diff):
    value = bytes(range(256))
    diff.check_all([
        ("SET", b"\x00k\xff", value), ("GET", b"\x00k\xff"), ("APPEND", b"\x00k\xff", b"\r\n\x00"),
        ("GETRANGE", b"\x00k\xff", "250", "-1"), ("BITCOUNT", b"\x00k\xff"), ("BITPOS", b"\x00k\xff", "1", "1"),
        ("LCS", b"\x00k\xff", b"\x00k\xff", "LEN"),
    ])


def test_object_encoding(diff):
    """int/embstr/raw, and "raw" once a value is modified in place (where OBJECT exists)."""
    diff.check_all([
        ("SET", "k", "123"), ("OBJECT", "ENCODING", "k"), ("SET", "k", "abc"), ("OBJECT", "ENCODING", "k"),
        ("SET", "k", "x" * 45), ("OBJECT", "ENCODING", "k"), ("SET", "k", "abc"), ("APPEND", "k", "d"),
        ("OBJECT", "ENCODING", "k"), ("SET", "k", "abc"), ("SETRANGE", "k", "0", "x"), ("OBJECT", "ENCODING", "k"),
        ("SET", "k", "abc"), ("SETRANGE", "k", "0", ""), ("OBJECT", "ENCODING", "k"), ("SET", "k", "abc"),
        ("SETBIT", "k", "0", "1"), ("OBJECT", "ENCODING", "k"), ("INCR", "k2"), ("OBJECT", "ENCODING", "k2"),
        ("APPEND", "k3", "12"), ("OBJECT", "ENCODING", "k3"), ("INCRBYFLOAT", "k4", "1.5"),
        ("OBJECT", "ENCODING", "k4"), ("BITOP", "NOT", "k5", "k3"), ("OBJECT", "ENCODING", "k5"),
        ("SETRANGE", "k6", "0", "a"), ("OBJECT", "ENCODING", "k6"), ("BITFIELD", "k7", "SET", "u8", "0", "1"),
        ("OBJECT", "ENCODING", "k7"), ("GETSET", "k", "5"), ("OBJECT", "ENCODING", "k"),
    ])


def test_transactions_and_errors_inside_multi(diff):
    diff.check_all([
        ("MULTI",), ("SET", "k", "1"), ("INCR", "k"), ("INCRBYFLOAT", "k", "x"), ("APPEND", "k", "0"),
        ("GETDEL", "k"), ("EXEC",), ("GET", "k"),
        # Replies are snapshots: later commands in the transaction do not change earlier replies.
        ("SET", "k", "abc"), ("APPEND", "k", "d"), ("MULTI",), ("GET", "k"), ("MGET", "k", "k"), ("GETEX", "k"),
        ("APPEND", "k", "x"), ("SETRANGE", "k", "1", "YZ"), ("SETBIT", "k", "0", "1"),
        ("BITFIELD", "k", "SET", "u8", "8", "0"), ("GET", "k"), ("GETSET", "k", "n"), ("EXEC",),
    ])


WATCH_CASES = [
    ("SETBIT", "k", "0", "0"), ("SETBIT", "k", "0", "1"), ("BITFIELD", "k", "SET", "u8", "0", "97"),
    ("BITFIELD", "k", "SET", "u8", "0", "98"), ("BITFIELD", "k", "GET", "u8", "0"), ("BITFIELD", "k", "INCRBY", "u8", "0", "0"),
    ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"), ("BITFIELD", "k", "SET", "u8", "100", "0"),
    ("SETRANGE", "k", "0", ""), ("SETRANGE", "k", "0", "a"), ("APPEND", "k", ""), ("GETEX", "k"),
    ("GETEX", "k", "PERSIST"), ("SET", "k", "a", "NX"), ("SET", "k", "a", "XX"), ("INCRBY", "n", "0"),
    ("INCRBYFLOAT", "n", "0"), ("BITOP", "OR", "k", "none"), ("BITOP", "OR", "none2", "none"), ("GETDEL", "none"),
    ("MSETNX", "k", "1"), ("SETNX", "k", "1"), ("GETSET", "k", "a"),
]


@pytest.mark.parametrize("cmd", WATCH_CASES, ids=lambda c: " ".join(c))
def test_watch_sees_only_real_changes(diff, cmd):
    """A command that leaves the key as it was does not abort a transaction WATCHing it."""
    watched = cmd[2] if cmd[0] == "BITOP" else cmd[1]
    diff.check_all([("SET", "k", "a"), ("SET", "n", "5"), ("WATCH", watched), cmd, ("MULTI",), ("PING",), ("EXEC",)])


# --------------------------------------------------------------------------- keyspace events


def _drain_events(conn: RawConnection) -> list[bytes]:
    """Every message received until the PING sentinel's reply, as raw bytes."""
    conn.send_raw(b"*2\r\n$4\r\nPING\r\n$3\r\nEND\r\n")
    events = []
    while True:
        reply = conn.read_reply()
        if b"END" in reply and b"pong" in reply:
            return events
        events.append(reply)


EVENT_SCRIPT: list[tuple] = [
    ("SET", "k", "v"), ("SET", "k", "v", "EX", "100"), ("SET", "k", "v", "NX"), ("SET", "k", "v", "XX", "GET"),
    ("SETNX", "k", "v"), ("SETNX", "n", "v"), ("SETEX", "k", "10", "v"), ("PSETEX", "k", "10000", "v"),
    ("GETSET", "k", "w"), ("GETDEL", "k"), ("GETDEL", "k"), ("SET", "k", "v"), ("GETEX", "k", "EX", "100"),
    ("GETEX", "k", "PERSIST"), ("GETEX", "k", "PERSIST"), ("GETEX", "k", "EXAT", "1"), ("GETEX", "missing", "EX", "1"),
    ("MSET", "a", "1", "b", "2"), ("MSETNX", "a", "1", "c", "2"), ("MSETNX", "c", "1", "d", "2"),
    ("INCR", "i"), ("DECR", "i"), ("INCRBY", "i", "5"), ("DECRBY", "i", "5"), ("INCRBY", "a", "x"),
    ("INCRBYFLOAT", "f", "1.5"), ("APPEND", "s", "x"), ("APPEND", "s", "y"), ("APPEND", "s", ""),
    ("SETRANGE", "s", "5", "z"), ("SETRANGE", "s", "1", ""), ("SETRANGE", "r", "0", ""),
    ("SETBIT", "bits", "3", "1"), ("SETBIT", "bits", "3", "1"), ("SETBIT", "bits", "3", "0"),
    ("BITFIELD", "bf", "GET", "u8", "0"), ("BITFIELD", "bf", "SET", "u8", "0", "1"),
    ("BITFIELD", "bf", "SET", "u8", "0", "1"), ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"),
    ("BITOP", "OR", "dest", "a", "b"), ("BITOP", "OR", "dest", "none1", "none2"), ("BITOP", "OR", "dest", "none1"),
    ("GET", "missing"), ("MGET", "a", "missing"), ("GETRANGE", "missing", "0", "1"), ("STRLEN", "missing"),
    ("SET", "x", "v", "PXAT", "1"), ("GET", "x"), ("SET", "missing2", "v", "GET"), ("SET", "missing3", "v", "NX", "GET"),
    ("GETSET", "missing4", "v"), ("GETEX", "missing5", "PERSIST"), ("LCS", "missing6", "a"), ("BITCOUNT", "missing7"),
    ("BITPOS", "missing8", "1"), ("GETBIT", "missing9", "0"), ("BITFIELD_RO", "missing10", "GET", "u8", "0"),
    ("BITFIELD", "missing11", "GET", "u8", "0"), ("STRLEN", "a"), ("GETRANGE", "a", "0", "1"),
]


def _hits_and_misses(conn: RawConnection) -> list[bytes]:
    info = parse(conn.call("INFO", "stats"))
    return [line for line in info.split(b"\r\n") if line.startswith((b"keyspace_hits:", b"keyspace_misses:"))]


def test_keyspace_hits_and_misses(diff):
    """Read lookups count hits and misses as Redis's do; write lookups count neither."""
    diff.call("CONFIG", "RESETSTAT", compare=False)
    for cmd in EVENT_SCRIPT:
        diff.call(*cmd, compare=False)
    assert _hits_and_misses(diff.ours) == _hits_and_misses(diff.real)
    assert len(_hits_and_misses(diff.ours)) == 2


def _real_events(port: int, script: list[tuple]) -> list[tuple[bytes, bytes]]:
    """(event, key) pairs that redis-server publishes on ``__keyevent@0__`` while ``script`` runs."""
    control = RawConnection(port)
    listener = RawConnection(port)
    control.call("FLUSHALL")
    control.call("CONFIG", "SET", "notify-keyspace-events", "EAnm")
    listener.call("PSUBSCRIBE", "__keyevent@0__:*")
    try:
        for cmd in script:
            control.call(*cmd)
        messages = [parse(raw) for raw in _drain_events(listener)]
    finally:
        control.call("CONFIG", "SET", "notify-keyspace-events", "")
        listener.close()
        control.close()
    return [(m[2].split(b":", 1)[1], m[3]) for m in messages]


def _our_events(script: list[tuple]) -> list[tuple[bytes, bytes]]:
    """The (event, key) pairs our command code emits for ``script``, run in-process on a fresh server."""
    load_all()
    build_lookup()
    server = Server()
    server.config.set_many([("notify-keyspace-events", ["EAnm"])])
    events: list[tuple[bytes, bytes]] = []
    server.keyspace.notify_hook = lambda kind, event, key, dbid: events.append((event, key))
    client = Client(server, 1)
    for cmd in script:
        execute(client, [a.encode() if isinstance(a, str) else a for a in cmd])
    return events


def test_keyspace_events(real):
    """The same script emits the same events, for the same keys, in the same order, as redis-server."""
    assert _our_events(EVENT_SCRIPT) == _real_events(real.port, EVENT_SCRIPT)


def test_keyspace_events_over_pubsub(ours, real):
    """End to end: the events reach a subscriber of our server as they do on redis-server's."""
    assert _real_events(ours.port, EVENT_SCRIPT) == _real_events(real.port, EVENT_SCRIPT)
