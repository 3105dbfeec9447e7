"""MONITOR: the line format, what is shown and hidden, and what a monitoring connection may do.

The feed is compared with redis-server's: both servers are monitored while the
same commands run on them, and each line must match once the parts that must
differ (timestamp, client port) are set aside. Timestamps and addresses are
checked on their own.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.differential.harness import RawConnection
from tests.differential.live import Pair, new_fence

LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$")


class Feed:
    """A MONITOR connection plus a command connection, on one server."""

    def __init__(self, port: int):
        self.monitor = RawConnection(port)
        assert self.monitor.call("MONITOR") == b"+OK\r\n"
        self.conn = RawConnection(port)

    def run(self, commands: list[tuple]) -> list[tuple[bytes, bytes]]:
        """Run commands; return (db, arguments) of each monitor line they caused."""
        for command in commands:
            self.conn.call(*command)
        fence = new_fence()
        self.conn.call("ECHO", fence)
        lines = []
        while True:
            raw = self.monitor.read_reply()
            match = LINE.match(raw[:-2])
            assert match, raw
            if match.group(5) == b'"ECHO" "%b"' % fence or match.group(5) == b'"echo" "%b"' % fence:
                return lines
            lines.append((match.group(3), match.group(5)))

    def close(self) -> None:
        self.monitor.close()
        self.conn.close()


@pytest.fixture
def feeds(ours, real):
    pair = Feed(ours.port), Feed(real.port)
    yield pair
    for feed in pair:
        feed.close()


def both(feeds, commands: list[tuple]) -> list[tuple[bytes, bytes]]:
    mine, theirs = feeds[0].run(commands), feeds[1].run(commands)
    assert mine == theirs, f"\n  ours={mine!r}\n  real={theirs!r}"
    return mine


def test_commands_appear_with_db_and_quoted_arguments(feeds):
    lines = both(feeds, [
        ("SET", "k", "v"),
        ("set", "lower", "case kept"),
        ("SELECT", "3"),  # shown with the database it selected
        ("GET", 'quote"back\\slash'),
        ("SET", "bin", b"\x00\x01\xff\n\r\t\x07\x08 ~"),
        ("INCRBY", "n", "12345"),
        ("SELECT", "0"),
    ])
    assert lines[0] == (b"0", b'"SET" "k" "v"')
    assert lines[2] == (b"3", b'"SELECT" "3"')
    assert lines[4] == (b"3", b'"SET" "bin" "\\x00\\x01\\xff\\n\\r\\t\\a\\b ~"')


def test_failed_commands_show_but_rejected_ones_do_not(feeds):
    both(feeds, [
        ("NOSUCH", "x"),  # unknown: never reaches the command
        ("GET",),  # wrong arity: same
        ("SET", "s", "1"),
        ("SADD", "s", "x"),  # WRONGTYPE: it ran, so it shows
        ("DEL", "s"),
    ])


def test_admin_commands_are_hidden(feeds):
    lines = both(feeds, [
        ("CONFIG", "GET", "maxmemory"),
        ("DEBUG", "SLEEP", "0"),
        ("CLIENT", "LIST"),
        ("CLIENT", "INFO"),  # not admin: shown
        ("SLOWLOG", "LEN"),
        ("INFO", "server"),
        ("PING",),
    ])
    assert [args.split(b" ")[0].upper() for _, args in lines] == [b'"CLIENT"', b'"INFO"', b'"PING"']


def test_passwords_are_redacted(feeds):
    lines = both(feeds, [
        ("AUTH", "secret"),
        ("AUTH", "user", "secret"),
        ("HELLO", "2", "AUTH", "default", "secret"),
        ("HELLO", "2", "SETNAME", "me", "AUTH", "default", "secret"),
        ("HELLO", "2"),
    ])
    assert b"secret" not in b"".join(args for _, args in lines)
    assert lines[0][1] == b'"AUTH" "(redacted)"'


def test_transactions_show_queued_commands_at_exec(feeds):
    lines = both(feeds, [("MULTI",), ("SET", "t", "1"), ("INCR", "t"), ("EXEC",), ("DEL", "t")])
    assert [args for _, args in lines] == [b'"MULTI"', b'"SET" "t" "1"', b'"INCR" "t"', b'"EXEC"', b'"DEL" "t"']


def test_line_timestamp_and_address(ours):
    feed = Feed(ours.port)
    try:
        before = time.time()
        feed.conn.call("PING")
        raw = feed.monitor.read_reply()
        after = time.time()
        match = LINE.match(raw[:-2])
        assert match
        stamp = float(match.group(1) + b"." + match.group(2))
        assert before - 0.01 <= stamp <= after + 0.01
        port = feed.conn.sock.getsockname()[1]
        assert match.group(4) == b"127.0.0.1:%d" % port
    finally:
        feed.close()


def test_monitoring_connection_is_a_replica(ours, real):
    pair = Pair(ours.port, real.port)
    try:
        pair.check("MONITOR")
        pair.send("MONITOR")  # a second MONITOR answers nothing at all,
        pair.check("GET", "k")  # so the next reply is GET's: refused, as for a replica
        pair.check("SET", "k", "v")
        pair.check("PING")  # allowed; its own line follows the reply
        for conn in (pair.ours, pair.real):
            match = LINE.match(conn.read_reply()[:-2])
            assert match and match.group(5) == b'"PING"'
    finally:
        pair.close()


def test_several_monitors_client_list_and_reset(ours):
    first, second, conn, admin = (RawConnection(ours.port) for _ in range(4))
    try:
        first_id = int(first.call("CLIENT", "ID")[1:-2])
        assert first.call("MONITOR") == b"+OK\r\n"
        assert second.call("MONITOR") == b"+OK\r\n"
        conn.call("SET", "m", "1")
        assert first.read_reply().endswith(b'"SET" "m" "1"\r\n')
        assert second.read_reply().endswith(b'"SET" "m" "1"\r\n')
        listing = admin.call("CLIENT", "LIST", "ID", str(first_id))
        assert b" flags=O " in listing and b" cmd=monitor " in listing
        assert second.call("RESET") == b"+RESET\r\n"
        assert first.read_reply().endswith(b'"RESET"\r\n')  # RESET is no admin command
        conn.call("DEL", "m")
        assert first.read_reply().endswith(b'"DEL" "m"\r\n')
        assert second.call("PING") == b"+PONG\r\n"  # no feed any more
    finally:
        for c in (first, second, conn, admin):
            c.close()
