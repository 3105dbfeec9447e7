"""The per-read fast path in ``dispatch.run_requests`` never skips a check it should make.

It reads the client's and the server's standing state once per read, so a
command that changes that state in the middle of a pipeline must send the rest
of the read through the full checks. Each test sends one pipeline in a single
read to an in-process server and compares the replies with Redis's.
"""

from __future__ import annotations

import pytest

from server.command import TABLE
from server.main import build_server
from server.network import RedisProtocol
from tests.servers import MemoryTransport


def one_read(server, *lines: bytes) -> bytes:
    transport = MemoryTransport()
    protocol = RedisProtocol(server)
    protocol.connection_made(transport)
    protocol.data_received(b"".join(line + b"\r\n" for line in lines))
    return transport.data


@pytest.mark.parametrize("name", [
    b"auth", b"hello", b"reset", b"multi", b"exec", b"discard", b"subscribe", b"psubscribe",
    b"ssubscribe", b"monitor", b"acl", b"config", b"client", b"debug", b"save", b"flushall",
])
def test_state_changing_commands_leave_the_fast_path(name):
    build_server(["--save", ""])  # loads the table
    assert not TABLE[name].batchable


def test_batchable_commands_are_the_data_commands():
    build_server(["--save", ""])
    for name in (b"get", b"set", b"lpush", b"hset", b"zadd", b"sadd", b"incr", b"mset", b"lrange"):
        assert TABLE[name].batchable, name


def test_multi_in_the_middle_of_a_read_queues_what_follows():
    server = build_server(["--save", ""])
    assert one_read(server, b"SET a 1", b"MULTI", b"SET a 2", b"GET a", b"EXEC", b"GET a") == (
        b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n2\r\n$1\r\n2\r\n")


def test_auth_in_the_middle_of_a_read_opens_the_rest():
    server = build_server(["--save", "", "--requirepass", "pw"])
    assert one_read(server, b"GET a", b"AUTH pw", b"GET a") == (
        b"-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n")


def test_subscribe_in_the_middle_of_a_read_restricts_the_rest():
    server = build_server(["--save", ""])
    out = one_read(server, b"GET a", b"SUBSCRIBE ch", b"GET a", b"PING")
    assert out == (b"$-1\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
                   b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                   b"are allowed in this context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n")


def test_client_reply_in_the_middle_of_a_read_mutes_the_rest():
    server = build_server(["--save", ""])
    assert one_read(server, b"SET a 1", b"CLIENT REPLY OFF", b"GET a", b"CLIENT REPLY ON", b"GET a") == (
        b"+OK\r\n+OK\r\n$1\r\n1\r\n")


def test_a_memory_limit_set_in_the_middle_of_a_read_applies_to_the_rest():
    server = build_server(["--save", ""])
    assert one_read(server, b"SET a 1", b"CONFIG SET maxmemory 1", b"SET b 2", b"GET a") == (
        b"+OK\r\n+OK\r\n-OOM command not allowed when used memory > 'maxmemory'.\r\n$1\r\n1\r\n")
