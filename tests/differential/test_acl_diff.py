"""ACL compared with redis-server: the same users on both, then a permission matrix.

Every (user, command, key, channel) combination is asked of both servers with
ACL DRYRUN (which answers without running anything) and the answers compared
byte for byte; a sample is then really run as each user to check that
enforcement matches what DRYRUN said.
"""

from __future__ import annotations

import itertools

import pytest

from tests.differential.harness import RawConnection

USERS = {
    "alice": "on >pw ~cache:* +@read",
    "bob": "on nopass %R~r:* %W~w:* +@all -debug -flushdb -flushall -config &chan*",
    "carl": "on nopass ~* +@all -@dangerous +config|get &*",
    "dave": "on nopass ~w:* ~r:* +@write +get -set &news",
    "eve": "on nopass allkeys +@string +@hash -hset resetchannels",
    "frank": "on nopass ~* +@all -@write +set",
}
KEYS = ["cache:1", "r:1", "w:1", "other"]
CHANNELS = ["chan1", "news", "other"]


def commands_for(key: str, other: str, channel: str) -> list[tuple[str, ...]]:
    return [
        ("GET", key), ("SET", key, "v"), ("INCR", key), ("DEL", key), ("EXISTS", key), ("TYPE", key),
        ("STRLEN", key), ("APPEND", key, "x"), ("GETSET", key, "v"), ("MGET", key, other),
        ("MSET", key, "1", other, "2"), ("LPUSH", key, "a"), ("LRANGE", key, "0", "-1"), ("LPOP", key),
        ("HSET", key, "f", "v"), ("HGET", key, "f"), ("HLEN", key), ("SADD", key, "m"),
        ("SMEMBERS", key), ("SINTERSTORE", key, other), ("ZADD", key, "1", "m"), ("ZRANGE", key, "0", "-1"),
        ("COPY", key, other), ("RENAME", key, other), ("LMOVE", key, other, "LEFT", "RIGHT"),
        ("EXPIRE", key, "10"), ("TTL", key), ("OBJECT", "ENCODING", key), ("PUBLISH", channel, "m"),
        ("CONFIG", "GET", "maxmemory"), ("CONFIG", "SET", "maxmemory", "0"), ("FLUSHDB",), ("INFO",),
        ("PING",), ("KEYS", "*"), ("DBSIZE",), ("CLIENT", "ID"), ("BITOP", "AND", key, other),
        ("PFADD", key, "a"), ("PFCOUNT", key, other), ("PFMERGE", key, other), ("PFDEBUG", "ENCODING", key),
        ("GEOADD", key, "1", "2", "m"), ("GEOSEARCH", key, "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m"),
        ("GEOSEARCHSTORE", key, other, "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m"),
        ("GEORADIUS", key, "1", "2", "1", "m", "STORE", other), ("GEORADIUS_RO", key, "1", "2", "1", "m"),
        ("GEORADIUSBYMEMBER", key, "m", "1", "m", "STOREDIST", other),
        ("SORT", key), ("SORT", key, "LIMIT", "0", "1", "STORE", other), ("SORT_RO", key, "BY", "x"),
    ]


@pytest.fixture
def acl_pair(ours, real):
    admin_ours, admin_real = RawConnection(ours.port), RawConnection(real.port)
    for conn in (admin_ours, admin_real):
        for name, rules in USERS.items():
            assert conn.call("ACL", "SETUSER", name, "reset", *rules.split()) == b"+OK\r\n"
    yield admin_ours, admin_real
    for conn in (admin_ours, admin_real):
        conn.call("ACL", "DELUSER", *USERS)
        conn.close()


# Redis 7.0 prints a user's command rules rebuilt from its permission bitmap, in the order of its
# internal command ids; ours keeps them in the order given. Both mean the same permissions (the
# matrix below proves it); users whose rules are already in canonical order print identically.
CANONICAL = ["alice", "carl", "frank"]


def test_acl_list_and_getuser_match(acl_pair):
    from tests.differential.harness import parse

    ours, real = acl_pair
    for name in CANONICAL:
        assert ours.call("ACL", "GETUSER", name) == real.call("ACL", "GETUSER", name), name
    for name in USERS:
        mine = parse(ours.call("ACL", "GETUSER", name))
        theirs = parse(real.call("ACL", "GETUSER", name))
        mine_fields = dict(zip(mine[::2], mine[1::2]))
        their_fields = dict(zip(theirs[::2], theirs[1::2]))
        for field in (b"flags", b"passwords", b"keys", b"channels", b"selectors"):
            assert mine_fields[field] == their_fields[field], (name, field)
    mine_list = [line for line in parse(ours.call("ACL", "LIST")) if line.split()[1].decode() in CANONICAL]
    their_list = [line for line in parse(real.call("ACL", "LIST")) if line.split()[1].decode() in CANONICAL]
    assert mine_list == their_list
    assert ours.call("ACL", "USERS") == real.call("ACL", "USERS")


def test_permission_matrix_dryrun(acl_pair):
    ours, real = acl_pair
    mismatches = []
    checked = 0
    for user, key, other, channel in itertools.product(USERS, KEYS, KEYS[::-1], CHANNELS):
        for argv in commands_for(key, other, channel):
            mine = ours.call("ACL", "DRYRUN", user, *argv)
            theirs = real.call("ACL", "DRYRUN", user, *argv)
            checked += 1
            if mine != theirs:
                mismatches.append((user, argv, mine, theirs))
    assert checked > 2000
    assert not mismatches, f"{len(mismatches)} of {checked} differ, e.g. {mismatches[:5]}"


def test_enforcement_matches_dryrun(acl_pair, ours, real):
    for user in USERS:
        conns = []
        for port in (ours.port, real.port):
            conn = RawConnection(port)
            password = "pw" if user == "alice" else "x"
            assert conn.call("AUTH", user, password) == b"+OK\r\n"
            conns.append(conn)
        for key, channel in itertools.product(KEYS, CHANNELS):
            for argv in commands_for(key, "other", channel):
                if argv[0] in ("FLUSHDB", "CONFIG", "INFO", "CLIENT", "KEYS", "DBSIZE"):
                    continue
                replies = [c.call(*argv) for c in conns]
                denied = [r.startswith(b"-NOPERM") for r in replies]
                assert denied[0] == denied[1], (user, argv, replies)
                if denied[0]:
                    assert replies[0] == replies[1]
        for conn in conns:
            conn.close()


def test_save_and_load_need_an_acl_file(diff):
    diff.check("ACL", "SAVE")
    diff.check("ACL", "LOAD")


def test_setuser_errors_match(diff):
    for rules in (["badrule"], ["#abc"], ["+@nosuch"], ["~*", "~more"], ["&*", "&x"], ["%X~k"], ["+nosuchcmd"]):
        diff.check("ACL", "SETUSER", "tmp-user", *rules)
    diff.check("ACL", "DELUSER", "default")
    diff.check("ACL", "CAT", "nosuch")
    diff.check("ACL", "DELUSER", "tmp-user")


def test_noauth_and_wrongpass(ours, real):
    for port in (ours.port, real.port):
        admin = RawConnection(port)
        assert admin.call("ACL", "SETUSER", "default", "resetpass", ">secret") == b"+OK\r\n"
        try:
            conn = RawConnection(port)
            assert conn.call("GET", "x") == b"-NOAUTH Authentication required.\r\n"
            assert conn.call("AUTH", "wrong") == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
            assert conn.call("PING") == b"-NOAUTH Authentication required.\r\n"
            assert conn.call("AUTH", "secret") == b"+OK\r\n"
            assert conn.call("PING") == b"+PONG\r\n"
            conn.close()
        finally:
            assert admin.call("AUTH", "secret") == b"+OK\r\n"
            admin.call("ACL", "SETUSER", "default", "nopass")
            admin.close()


def test_setuser_refuses_names_with_spaces_or_nul(diff):
    for name in ("a b", "a\tb", "a\x00b", " ", "default on >pw"):
        diff.check("ACL", "SETUSER", name, "on")
    diff.check("ACL", "USERS")


def test_empty_username_is_not_default(ours, real):
    """AUTH "" <password> and HELLO 3 AUTH "" <password>: no user is named "", so WRONGPASS."""
    replies = []
    for port in (ours.port, real.port):
        admin = RawConnection(port)
        assert admin.call("ACL", "SETUSER", "default", "resetpass", ">secret") == b"+OK\r\n"
        try:
            conn = RawConnection(port)
            seen = [conn.call("AUTH", "", "secret"), conn.call("HELLO", "3", "AUTH", "", "secret"), conn.call("PING")]
            seen.append(conn.call("AUTH", "default", "secret"))
            replies.append(seen)
            conn.close()
        finally:
            assert admin.call("AUTH", "secret") == b"+OK\r\n"
            admin.call("ACL", "SETUSER", "default", "nopass")
            admin.close()
    assert replies[0] == replies[1]
    assert replies[0][0].startswith(b"-WRONGPASS")


# Users whose key rules separate reading from writing (Redis 7.0's %R~ / %W~ key patterns).
KEY_USERS = {
    "reader": ["on", "nopass", "%R~*", "+@all"],
    "writer": ["on", "nopass", "%W~*", "+@all"],
    "split": ["on", "nopass", "%R~k1", "%W~k2", "~both", "+@all"],
    "mixed": ["on", "nopass", "%R~k1", "%W~k1", "%R~k2", "%RW~both", "+@all"],
    # The same split through selectors: one group must allow every key of the command.
    "sel-keys": ["on", "nopass", "resetkeys", "-@all", "(%R~k1 %R~both +@all)", "(%W~k2 ~other +@all)"],
    "sel-mixed": ["on", "nopass", "%R~*", "+@read", "(~k1 ~k2 +@all -@read)", "(%W~* +@write)"],
}


def test_read_write_key_permissions_of_every_command_with_keys(ours, real):
    """ACL DRYRUN for generated invocations of every command with keys, against %R~/%W~ users.

    Which permission each key needs comes from the command's key specs (their access and
    insert/delete/update flags), so this covers every spec of every command, in its
    well-formed and ill-formed shapes.
    """
    import random

    from tests.fuzz.differential import Generator, load_specs

    specs = load_specs(real.port, ours.port, everything=True)
    with_keys = sorted((spec for spec in specs.values() if spec.has_keys), key=lambda spec: spec.name)
    assert len(with_keys) > 150
    gen = Generator(random.Random(1207), keys=["k1", "k2", "both", "other"])
    conns = [RawConnection(ours.port), RawConnection(real.port)]
    differ, denied, checked = [], 0, 0
    try:
        for conn in conns:
            for name, rules in KEY_USERS.items():
                assert conn.call("ACL", "SETUSER", name, "reset", *rules) == b"+OK\r\n"
        for spec in with_keys:
            for _ in range(6):
                argv = gen.invocation(spec)
                for user in KEY_USERS:
                    mine, theirs = (conn.call("ACL", "DRYRUN", user, *argv) for conn in conns)
                    checked += 1
                    denied += b"permissions to access the" in theirs
                    if mine != theirs:
                        differ.append(f"{user} {argv!r}:\n  ours  {mine!r}\n  redis {theirs!r}")
    finally:
        for conn in conns:
            conn.call("ACL", "DELUSER", *KEY_USERS)
            conn.close()
    assert denied > 500  # the matrix does exercise refusals
    assert not differ, f"{len(differ)} of {checked} differ:\n" + "\n".join(differ[:30])


# Users with Redis 7.0 selectors: the root permissions or any one ``(...)`` group must allow a
# command wholly (the command, all its keys and its channels in the same group). Redis prints
# command rules in its own order, so each group's rules here are already in that order.
SELECTOR_USERS = {
    "sel-split": ["on", "nopass", "resetkeys", "-@all", "(+@read ~r:*)", "(+@write ~w:*)", "(+publish &news)"],
    "sel-root": ["on", "nopass", "~cache:*", "+@read", "(", "~*", "+get", ")", "(%R~r:* %W~w:* +@all &chan*)"],
    "sel-words": ["on", "nopass", "~other", "+@all", "-@write", "(+set", "~*)", "(&*", "+publish)",
                  "(+rename ~r:* ~w:*)"],
    "sel-cleared": ["on", "nopass", "~*", "+get", "(+set ~*)", "clearselectors", "(+del ~k*)"],
}


@pytest.fixture
def selector_pair(ours, real):
    conns = [RawConnection(ours.port), RawConnection(real.port)]
    for conn in conns:
        for name, rules in SELECTOR_USERS.items():
            assert conn.call("ACL", "SETUSER", name, "reset", *rules) == b"+OK\r\n", name
    yield conns
    for conn in conns:
        conn.call("ACL", "DELUSER", *SELECTOR_USERS)
        conn.close()


def test_selector_getuser_and_list_match(selector_pair):
    ours, real = selector_pair
    for name in SELECTOR_USERS:
        assert ours.call("ACL", "GETUSER", name) == real.call("ACL", "GETUSER", name), name
    assert ours.call("ACL", "LIST") == real.call("ACL", "LIST")
    # RESP3 shows selectors as a list of maps.
    for conn in selector_pair:
        assert conn.call("HELLO", "3").startswith(b"%")
    assert ours.call("ACL", "GETUSER", "sel-split") == real.call("ACL", "GETUSER", "sel-split")


def test_selector_permission_matrix_dryrun(selector_pair):
    ours, real = selector_pair
    mismatches = []
    checked = allowed = 0
    for user, key, other, channel in itertools.product(SELECTOR_USERS, KEYS, KEYS[::-1], CHANNELS):
        for argv in commands_for(key, other, channel):
            mine = ours.call("ACL", "DRYRUN", user, *argv)
            theirs = real.call("ACL", "DRYRUN", user, *argv)
            checked += 1
            allowed += theirs == b"+OK\r\n"
            if mine != theirs:
                mismatches.append((user, argv, mine, theirs))
    pubsub = [("SUBSCRIBE", "news", "other", "chan1"), ("SUBSCRIBE", "chan1", "news"), ("PSUBSCRIBE", "news", "chan*"),
              ("PSUBSCRIBE", "chan1"), ("SSUBSCRIBE", "news"), ("SPUBLISH", "news", "m"), ("UNSUBSCRIBE", "x")]
    for user, argv in itertools.product(SELECTOR_USERS, pubsub):
        mine, theirs = ours.call("ACL", "DRYRUN", user, *argv), real.call("ACL", "DRYRUN", user, *argv)
        if mine != theirs:
            mismatches.append((user, argv, mine, theirs))
    assert checked > 2000 and allowed > 200
    assert not mismatches, f"{len(mismatches)} of {checked} differ, e.g. {mismatches[:5]}"


def test_selector_enforcement_and_acl_log(selector_pair, ours, real):
    """Really run as a selector user: same replies, and the same ACL LOG object for refusals."""
    from tests.differential.harness import parse

    replies = []
    for admin, port in zip(selector_pair, (ours.port, real.port)):
        admin.call("ACL", "LOG", "RESET")
        conn = RawConnection(port)
        assert conn.call("AUTH", "sel-split", "x") == b"+OK\r\n"
        seen = [conn.call(*argv) for argv in (
            ("SET", "w:1", "v"), ("GET", "w:1"), ("GET", "r:1"), ("SET", "r:1", "v"), ("PUBLISH", "news", "m"),
            ("PUBLISH", "other", "m"), ("COPY", "r:1", "w:2"), ("MGET", "r:1", "w:1"), ("PING",),
        )]
        for entry in parse(admin.call("ACL", "LOG")):
            fields = dict(zip(entry[::2], entry[1::2]))
            seen.append(tuple(fields[f] for f in (b"count", b"reason", b"context", b"object", b"username")))
        replies.append(seen)
        conn.close()
    assert replies[0] == replies[1]
    assert replies[0][0] == b"+OK\r\n" and replies[0][3].startswith(b"-NOPERM") and len(replies[0]) > 12


def test_selector_sort_by_needs_a_selector_reading_every_key(ours, real):
    """SORT BY/GET patterns need one group that allows the SORT and reads every key."""
    replies = []
    for port in (ours.port, real.port):
        admin = RawConnection(port)
        admin.call("RPUSH", "list", "2", "1")
        conn = RawConnection(port)
        seen = []
        for rules in (["~list", "+sort", "(%R~* +get)"], ["~list", "+sort", "(%R~* +sort)"], ["-@all", "(~* +sort)"]):
            assert admin.call("ACL", "SETUSER", "sorter", "reset", "on", "nopass", *rules) == b"+OK\r\n"
            assert conn.call("AUTH", "sorter", "x") == b"+OK\r\n"
            seen.append(conn.call("SORT", "list", "BY", "w_*", "GET", "#"))
        replies.append(seen)
        admin.call("ACL", "DELUSER", "sorter")
        admin.call("DEL", "list")
        admin.close()
        conn.close()
    assert replies[0] == replies[1]


def test_selector_errors_match(diff):
    for rules in (
        ["(+get", "~k*"], ["(+get ~k*"], ["on", "(+get", "(", "~x"], ["(+get ~k* on)"], ["(+get", "bad)"],
        ["(+nosuch)"], ["(~* ~k)"], ["(&* &x)"], ["(%X~k)"], [")"], ["(+get (~k))"], ["(nopass)"],
        ["(-config|get)"], ["(reset)"], ["(clearselectors)"], ["%RR~k"], ["(%WRW~k)"], ["&a b"], ["~a b"],
        ["-config|nosuch"],
    ):
        diff.check("ACL", "SETUSER", "tmp-user", *rules)
    for rules in (["()"], ["(", "(", "+get)"], ["( +get  ~a  )"], ["(+get \"~a b\")"], ["(+get '~q')"], [""], ["%R"],
                  ["&x", "&x", "(&y &y %R~k %W~k)"], ["+config|get", "(+@all -config|set ~*)"]):
        diff.check("ACL", "SETUSER", "tmp-user", "reset", *rules)
        diff.check("ACL", "GETUSER", "tmp-user")
        diff.check("ACL", "DRYRUN", "tmp-user", "GET", "a b")
    diff.check("ACL", "DELUSER", "tmp-user")


def test_selectors_survive_acl_save_and_load(tmp_path):
    """ACL SAVE writes selectors as ``(...)`` groups and ACL LOAD reads them back, as redis-server does."""
    from tests.servers import OurServer, RealServer

    texts, replies = [], []
    for kind, server_class in (("ours", OurServer), ("real", RealServer)):
        workdir = tmp_path / kind
        workdir.mkdir()
        aclfile = workdir / "users.acl"
        aclfile.write_text("user default on nopass ~* &* +@all\n")
        server = server_class(workdir, extra=["--aclfile", str(aclfile)])
        server.start()
        try:
            conn = RawConnection(server.port)
            for name, rules in SELECTOR_USERS.items():
                assert conn.call("ACL", "SETUSER", name, *rules) == b"+OK\r\n"
            assert conn.call("ACL", "SAVE") == b"+OK\r\n"
            texts.append(aclfile.read_text())
            assert conn.call("ACL", "SETUSER", "sel-split", "clearselectors") == b"+OK\r\n"
            assert conn.call("ACL", "LOAD") == b"+OK\r\n"
            replies.append([conn.call("ACL", "GETUSER", name) for name in SELECTOR_USERS])
            replies[-1].append(conn.call("ACL", "DRYRUN", "sel-split", "SET", "w:1", "v"))
            conn.close()
        finally:
            server.stop()
    assert texts[0] == texts[1]
    assert "(~w:* resetchannels -@all +@write)" in texts[0]
    assert replies[0] == replies[1]
    assert replies[0][-1] == b"+OK\r\n"


# -- first-argument rules (+select|0) and acl-pubsub-default ------------------------------------------


def _list_line(conn: RawConnection, name: str) -> bytes:
    from tests.differential.harness import parse

    lines = [line for line in parse(conn.call("ACL", "LIST")) if line.split()[1] == name.encode()]
    assert len(lines) == 1
    return lines[0]


def test_first_arg_rules_setuser_getuser_and_list(diff):
    """``+cmd|arg`` for commands without subcommands: stored once per argument (case kept, compared
    without case), forgotten when the command itself is granted or taken away; Redis's refusals.
    (Each case names one command: Redis prints several in its command dict's order, which its
    random hash seed changes from run to run.)"""
    for rules in (
        ["+select|0"], ["+select|0", "+select|1", "+SELECT|0", "+select|Abc"], ["+debug|object"],
        ["+select|0", "+@connection"], ["+select|0", "+select"], ["+@all", "+select|0"],
        ["+@all", "-select", "+select|0"], ["+select|0", "+@all"], ["+select|0", "-@all", "+get"],
        ["~k*", "+select|0", "(+get|x ~k*)"], ["+select|0", "(+select|1 +select|1)"],
        ["+Select|0"],
    ):
        diff.check("ACL", "SETUSER", "fa", "reset", *rules)
        diff.check("ACL", "GETUSER", "fa")
        assert _list_line(diff.ours, "fa") == _list_line(diff.real, "fa"), rules
    for rule in ("-select|0", "+config|get|x", "+client|list|x", "+select|", "+nosuch|x", "+config|nosuch",
                 "-config|nosuch", "+get|x|", "+|x", "+config|", "-get|", "+select|0|1", "-config|get|x",
                 "+config|get|", "-select|"):
        assert diff.check("ACL", "SETUSER", "fa", rule).startswith(b"-ERR Error in ACL SETUSER modifier"), rule
    diff.check("ACL", "GETUSER", "fa")  # a refused rule changed nothing
    diff.check("ACL", "DELUSER", "fa")


def test_first_arg_rules_log_redis_deprecation_warning(ours, real):
    import time

    warning = ("Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL "
               "and may get disabled in the future (offender: +select|Warn7)")
    for server in (ours, real):
        admin = RawConnection(server.port)
        assert admin.call("ACL", "SETUSER", "fa-log", "reset", "+select|Warn7") == b"+OK\r\n"
        admin.call("ACL", "DELUSER", "fa-log")
        admin.close()
        deadline = time.monotonic() + 10
        while warning not in server.log_path.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert warning in server.log_path.read_text(errors="replace"), server.kind


def test_first_arg_rules_dryrun_and_enforcement(ours, real):
    """Which calls a first-argument rule lets through (DRYRUN and for real, MULTI included), the
    NOPERM texts and the ACL LOG entries."""
    from tests.differential.harness import parse

    rules = ["on", "nopass", "~*", "+select|0", "+select|2", "+debug|object", "+multi", "+exec",
             "(+get|x ~k*)", "(+object|encoding ~*)"]
    calls = [("SELECT", "0"), ("SELECT", "1"), ("select", "2"), ("SELECT", "Abc"), ("DEBUG", "OBJECT", "k"),
             ("DEBUG", "object", "nokey"), ("DEBUG", "SLEEP", "0"), ("GET", "x"), ("GET", "X"), ("GET", "kx"),
             ("GET", "y"), ("OBJECT", "ENCODING", "k"), ("OBJECT", "FREQ", "k"), ("SET", "k", "v")]
    replies = []
    for port in (ours.port, real.port):
        admin = RawConnection(port)
        assert admin.call("ACL", "SETUSER", "fa2", "reset", *rules) == b"+OK\r\n"
        admin.call("SET", "k", "v")
        admin.call("ACL", "LOG", "RESET")
        seen = [admin.call("ACL", "DRYRUN", "fa2", *argv) for argv in calls]
        conn = RawConnection(port)
        assert conn.call("AUTH", "fa2", "x") == b"+OK\r\n"
        seen += [conn.call(*argv) for argv in calls if argv[1].upper() != "SLEEP"]
        seen += [conn.call("MULTI"), conn.call("SELECT", "1"), conn.call("SELECT", "0"), conn.call("EXEC")]
        for entry in parse(admin.call("ACL", "LOG")):
            fields = dict(zip(entry[::2], entry[1::2]))
            seen.append(tuple(fields[f] for f in (b"count", b"reason", b"context", b"object", b"username")))
        replies.append(seen)
        admin.call("ACL", "DELUSER", "fa2")
        admin.call("DEL", "k")
        conn.close()
        admin.close()
    assert replies[0] == replies[1]
    mine = replies[0]
    assert mine[0] == b"+OK\r\n" and mine[1].startswith(b"$") and b"no permissions to run the 'select'" in mine[1]
    assert any(r == b"-NOPERM this user has no permissions to run the 'select' command\r\n" for r in mine)


def test_acl_pubsub_default(ours, real):
    """acl-pubsub-default: its values and error, and the channels of new users, of ``reset``
    and of new selectors (existing users keep theirs); PUBLISH as such users."""
    replies = []
    for port in (ours.port, real.port):
        admin = RawConnection(port)
        seen = [admin.call("CONFIG", "GET", "acl-pubsub-default"),
                admin.call("CONFIG", "SET", "acl-pubsub-default", "foo")]
        try:
            seen.append(admin.call("ACL", "SETUSER", "ps-old", "on", "nopass", "+publish"))
            seen.append(admin.call("CONFIG", "SET", "acl-pubsub-default", "AllChannels"))
            seen.append(admin.call("CONFIG", "GET", "acl-pubsub-default"))
            seen.append(admin.call("ACL", "SETUSER", "ps-new", "on", "nopass", "+publish", "(+get)"))
            seen.append(admin.call("ACL", "SETUSER", "ps-reset", "resetchannels", "&x"))
            seen.append(admin.call("ACL", "SETUSER", "ps-reset", "reset", "on", "nopass", "+publish"))
            seen.append(admin.call("ACL", "SETUSER", "ps-old", "(+get)"))
            seen += [admin.call("ACL", "GETUSER", name) for name in ("ps-old", "ps-new", "ps-reset")]
            seen += [_list_line(admin, name) for name in ("ps-old", "ps-new", "ps-reset")]
            for name in ("ps-old", "ps-new", "ps-reset"):
                conn = RawConnection(port)
                conn.call("AUTH", name, "x")
                seen.append(conn.call("PUBLISH", "news", "m"))
                conn.close()
        finally:
            admin.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
            admin.call("ACL", "DELUSER", "ps-old", "ps-new", "ps-reset")
        seen.append(admin.call("ACL", "SETUSER", "ps-after", "reset"))
        seen.append(_list_line(admin, "ps-after"))
        admin.call("ACL", "DELUSER", "ps-after")
        admin.close()
        replies.append(seen)
    assert replies[0] == replies[1]
    published = replies[0][-5:-2]
    assert published[0].startswith(b"-NOPERM") and published[1] == published[2] == b":0\r\n"
