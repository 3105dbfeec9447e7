"""Server-free parts of the command line: quoting, reply formatting, highlighting, safety."""

from __future__ import annotations

import pytest

from redistui.commands import find_help, parse_docs
from redistui.completion import (
    analyze,
    classify,
    dangerous_reason,
    escape_glob,
    fuzzy_rank,
    quote_arg,
    scan_words,
    split_args,
)
from redistui.formatting import (
    Double,
    ErrorReply,
    Map,
    RSet,
    Status,
    format_raw,
    format_reply,
    format_tty,
    quote_repr,
)
from redistui.history import SafeFileHistory, is_sensitive

SPLIT = [
    ("GET k", [b"GET", b"k"]),
    ('SET "a b" c', [b"SET", b"a b", b"c"]),
    ("SET 'x y' z", [b"SET", b"x y", b"z"]),
    (r'SET k "\x00\xffA"', [b"SET", b"k", b"\x00\xffA"]),
    (r'SET k "a\nb\t\"\\"', [b"SET", b"k", b'a\nb\t"\\']),
    (r"SET k 'it\'s'", [b"SET", b"k", b"it's"]),
    ('SET k ""', [b"SET", b"k", b""]),
    ("  spaced   out  ", [b"spaced", b"out"]),
    ('a"b c" d', [b"ab c", b"d"]),
    ("SET k café", [b"SET", b"k", "café".encode()]),
]


@pytest.mark.parametrize(("line", "words"), SPLIT)
def test_split_args_like_redis_cli(line: str, words: list[bytes]) -> None:
    assert split_args(line) == words


@pytest.mark.parametrize("line", ['GET "unterminated', "GET 'open", 'GET "a"b'])
def test_split_args_rejects_what_redis_cli_rejects(line: str) -> None:
    with pytest.raises(ValueError):
        split_args(line)


@pytest.mark.parametrize(
    "value", [b"plain", b"a b", b'q"uote', b"back\\slash", b"\x00\xff", "café".encode(), b"", b"it's"]
)
def test_quote_arg_round_trips(value: bytes) -> None:
    assert split_args(f"GET {quote_arg(value)}") == [b"GET", value]


def test_scan_words_reports_the_word_being_typed() -> None:
    words, current = scan_words('HGET "my key" fi')
    assert [w.value for w in words] == [b"HGET", b"my key"]
    assert (current.value, current.start) == (b"fi", 14)
    words, current = scan_words('GET "open quote')
    assert current.quote == '"' and current.value == b"open quote" and current.start == 4
    _, current = scan_words("GET ")
    assert current.value == b"" and current.start == 4


def test_escape_glob() -> None:
    assert escape_glob(b"a*b?[c]\\") == b"a\\*b\\?\\[c\\]\\\\"


def test_fuzzy_rank_prefers_prefixes_then_tight_matches() -> None:
    assert fuzzy_rank("GETEX", "get") == (0, 5)
    assert fuzzy_rank("HGETALL", "hga")[0] == 1
    assert fuzzy_rank("GET", "xyz") is None
    names = ["ZRANGEBYSCORE", "ZRANGE", "ZREVRANGE"]
    ranked = sorted((fuzzy_rank(n, "zrange"), n) for n in names if fuzzy_rank(n, "zrange"))
    assert [n for _, n in ranked][:2] == ["ZRANGE", "ZRANGEBYSCORE"]


# --- a hand-made docs tree exercises every node kind ------------------------------------

DOCS = [
    b"demo",
    [
        b"summary",
        b"A demo",
        b"group",
        b"string",
        b"arguments",
        [
            [b"name", b"key", b"type", b"key"],
            [
                b"name",
                b"mode",
                b"type",
                b"oneof",
                b"flags",
                [b"optional"],
                b"arguments",
                [
                    [b"name", b"fast", b"type", b"pure-token", b"token", b"FAST"],
                    [b"name", b"slow", b"type", b"pure-token", b"token", b"SLOW"],
                ],
            ],
            [
                b"name",
                b"limit",
                b"type",
                b"block",
                b"token",
                b"LIMIT",
                b"flags",
                [b"optional"],
                b"arguments",
                [
                    [b"name", b"offset", b"type", b"integer"],
                    [b"name", b"count", b"type", b"integer"],
                ],
            ],
            [
                b"name",
                b"pattern",
                b"type",
                b"pattern",
                b"token",
                b"GET",
                b"flags",
                [b"optional", b"multiple", b"multiple_token"],
            ],
            [b"name", b"member", b"type", b"string", b"flags", [b"multiple"]],
        ],
    ],
]


def next_tokens(words: str) -> set[str]:
    doc = parse_docs(DOCS).get("DEMO")
    assert doc is not None
    analysis = analyze(doc, words.split())
    return {exp.arg.token for exp in analysis.expected if exp.kind == "token"}


def test_generic_walk_over_every_node_kind() -> None:
    assert next_tokens("k") == {"FAST", "SLOW", "LIMIT", "GET"}
    assert next_tokens("k FAST") == {"LIMIT", "GET"}
    assert next_tokens("k LIMIT") == set()  # an integer is expected
    assert next_tokens("k LIMIT 0 10") == {"FAST", "SLOW", "GET"}  # optional runs in any order
    assert next_tokens("k GET a") == {"FAST", "SLOW", "LIMIT", "GET"}  # multiple_token repeats the token
    assert next_tokens("k m1") == set()  # past the options, only members remain
    doc = parse_docs(DOCS).get("DEMO")
    assert doc is not None
    assert (
        doc.syntax()
        == "key [FAST|SLOW] [LIMIT offset count] [GET pattern [GET pattern ...]] member [member ...]"
    )
    assert analyze(doc, ["k", "m1"]).complete
    assert not analyze(doc, ["k"]).complete


# --- reply formatting ---------------------------------------------------------------


def test_quote_repr_matches_sdscatrepr() -> None:
    assert quote_repr(b'a"b\\c\n\r\t\x07\x08\x00\xff~') == '"a\\"b\\\\c\\n\\r\\t\\a\\b\\x00\\xff~"'


def test_tty_format_nested_and_wide() -> None:
    reply = [b"a", [b"b", [1, None]], ErrorReply(b"ERR nope"), Status(b"OK"), []]
    assert format_tty(reply) == (
        '1) "a"\n'
        '2) 1) "b"\n'
        "   2) 1) (integer) 1\n"
        "      2) (nil)\n"
        "3) (error) ERR nope\n"
        "4) OK\n"
        "5) (empty array)\n"
    )
    wide = format_tty([str(i).encode() for i in range(10)])
    assert wide.startswith(' 1) "0"\n') and wide.endswith('10) "9"\n')


def test_resp3_kinds_format_like_redis_cli() -> None:
    assert format_tty(Map([b"k", b"v", b"n", 1])) == '1# "k" => "v"\n2# "n" => (integer) 1\n'
    assert format_tty(Map([b"k", [b"a", b"b"]])) == '1# "k" => \n   1) "a"\n   2) "b"\n'
    assert format_tty(RSet([b"x"])) == '1~ "x"\n'
    assert format_tty(Double(b"1.5")) == "(double) 1.5\n"
    assert format_tty(True) == "(true)\n"
    assert format_tty(Map([])) == "(empty hash)\n"


def test_raw_format() -> None:
    assert format_raw([b"a", [b"b", 2], None]) == b"a\nb\n2\n"
    assert format_reply(ErrorReply(b"ERR x"), raw=True) == b"ERR x\n\n"
    assert format_reply(None, raw=True) == b"\n"
    assert format_reply(Map([b"k", b"v"]), raw=True) == b"k v\n"


# --- highlighting and safety ----------------------------------------------------------


def test_classify_roles() -> None:
    table = parse_docs(DOCS)
    roles = [role for _, _, role in classify('demo mykey FAST LIMIT 0 10 "m 1"', table)]
    assert roles == ["command", "key", "keyword", "keyword", "number", "number", "string"]
    assert [role for _, _, role in classify("nosuch x", table)] == ["unknown", "argument"]


@pytest.mark.parametrize(
    ("line", "dangerous"),
    [
        ("FLUSHALL", True),
        ("flushdb async", True),
        ("KEYS *", True),
        ("CONFIG SET maxmemory 1", True),
        ("CONFIG GET *", False),
        ("GET k", False),
        ("SHUTDOWN NOSAVE", True),
        ("DEBUG SLEEP 1", True),
    ],
)
def test_dangerous_commands(line: str, dangerous: bool) -> None:
    assert (dangerous_reason(line.split()) is not None) is dangerous


@pytest.mark.parametrize(
    ("line", "sensitive"),
    [
        ("AUTH pw", True),
        ("auth user pw", True),
        ("HELLO 3 AUTH u p", True),
        ("HELLO 3", False),
        ("ACL SETUSER bob on >secret", True),
        ("CONFIG SET requirepass x", True),
        ("GET auth", False),
    ],
)
def test_sensitive_lines(line: str, sensitive: bool) -> None:
    assert is_sensitive(line) is sensitive


def test_history_never_stores_credentials(tmp_path) -> None:
    history = SafeFileHistory(tmp_path / "sub" / "history")
    for line in ["GET a", "AUTH hunter2", "GET a", "HELLO 3 AUTH default hunter2", "SET b 1"]:
        history.append_string(line)
    assert history.entries() == ["GET a", "SET b 1"]
    again = SafeFileHistory(tmp_path / "sub" / "history")
    assert again.entries() == ["GET a", "SET b 1"]
    assert "hunter2" not in (tmp_path / "sub" / "history").read_text()


def test_help_finds_commands_and_groups() -> None:
    table = parse_docs(DOCS)
    assert [doc.name for doc in find_help(table, ["demo"])] == ["DEMO"]
    assert [doc.name for doc in find_help(table, ["@string"])] == ["DEMO"]
    assert find_help(table, ["nosuch"]) == []
