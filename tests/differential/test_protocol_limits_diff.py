"""Hostile and odd protocol input, sent byte for byte to our server and to redis-server.

Each case opens a fresh connection to both, sends the same bytes (in the same pieces), and
compares everything each server answered and whether it closed the connection. Covers
Redis 7.0's input limits (64 KB header lines, proto-max-bulk-len, client-query-buffer-limit,
the tighter limits before AUTH) and the small protocol cases of issue 12 item 12.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.differential.harness import RawConnection


def exchange(port: int, pieces: list[bytes], settle: float = 0.3) -> tuple[bytes, bool]:
    """Send ``pieces`` (pausing between them), then read until the server closes or goes quiet.
    Returns what came back and whether the connection was closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for piece in pieces:
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.05)
        return read_until_quiet(sock, settle)


def read_until_quiet(sock: socket.socket, settle: float = 0.3) -> tuple[bytes, bool]:
    """What the server sends until it goes quiet for ``settle`` seconds or closes, and whether
    it closed."""
    data = b""
    deadline = time.monotonic() + settle
    closed = False
    while time.monotonic() < deadline + 2:
        sock.settimeout(max(deadline - time.monotonic(), 0.05))
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        deadline = time.monotonic() + settle
    return data, closed


def same(ours, real, pieces: list[bytes]) -> tuple[bytes, bool]:
    mine = exchange(ours.port, pieces)
    theirs = exchange(real.port, pieces)
    assert mine == theirs, f"{pieces!r:.300}\n  ours={mine!r:.400}\n  real={theirs!r:.400}"
    return theirs


PING = b"*1\r\n$4\r\nPING\r\n"
BIG = 70 * 1024  # past PROTO_INLINE_MAX_SIZE (64 KB)


@pytest.mark.parametrize("pieces", [
    [b"*" + b"1" * BIG],  # unterminated multibulk count line
    [b"*1\r\n$" + b"1" * BIG],  # unterminated bulk count line
    [b"GET " + b"k" * BIG],  # unterminated inline request
    [PING + b"*1\r\n$" + b"1" * 1000, b"1" * BIG],  # the long line grows over several reads
    [b"*1\r\n$" + b"1" * 60000 + b"\r\n"],  # a long line that ends in time: then a bad length
])
def test_header_lines_are_limited_to_64k(ours, real, pieces):
    reply, closed = same(ours, real, pieces)
    assert closed and b"Protocol error" in reply


@pytest.mark.parametrize("pieces", [
    [b"*0\r\n" + PING],
    [b"*-10\r\n" + PING],
    [b"*-1\r\n*0\r\n", PING],
    [b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n", b"$x\r\n" + PING],  # desync after a partial request
    [b"*2\r\n$4\r\nECHO\r\n$abc\r\n" + PING],
    [b"*2\r\n$4\r\nECHO\r\n$-1\r\n"],
    [b"*2\r\n$4\r\nECHO\r\n:1\r\n"],
    [b"*1\r\n*1\r\n$4\r\nPING\r\n"],
    [b"*2\r\n$4\r\nECHO\r\n$03\r\nabc\r\n"],
    [b"*+1\r\n" + PING],
    [b"*2147483648\r\n"],
    [PING + b"ECHO \"unbalanced\r\n" + PING],
    [b"*1\r", b"\n$4\r\nPING\r\n"],
    [b"*2\r\n$4\r\nECHO\r\n$3\r\nabcXY" + PING],  # Redis skips the 2 bytes after a bulk unread
    [b"*1\r\n+PING\r\n"],  # reply types inside a request are refused
    [PING + b"*2\r\n$4\r\nECHO\r\n=7\r\ntxt:abc\r\n"],
    [PING + b"*2\r\n$4\r\nECHO\r\n(12\r\n"],
    [PING + b"*2000000000\r\n", PING],  # a huge header after a request: it waits for the rest
    [PING + b"*2\r\n$4\r\nECHO\r\n>2000000000\r\n"],
])
def test_odd_requests(ours, real, pieces):
    same(ours, real, pieces)


@pytest.fixture
def limits(ours, real):
    """Sets limits on both servers for one test and puts the defaults back."""
    conns = [RawConnection(ours.port), RawConnection(real.port)]

    def set_(*pairs: str) -> None:
        for conn in conns:
            assert conn.call("CONFIG", "SET", *pairs) == b"+OK\r\n"

    yield set_
    set_("proto-max-bulk-len", "536870912", "client-query-buffer-limit", "1073741824")
    for conn in conns:
        conn.close()


def test_proto_max_bulk_len(ours, real, limits):
    limits("proto-max-bulk-len", "1mb")
    for tail in (b"", b"v" * 100_000):  # the header alone, or with the start of the value
        reply, closed = same(ours, real, [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n" + tail])
        assert closed and reply == b"-ERR Protocol error: invalid bulk length\r\n"
    value = b"v" * (1 << 20)
    reply, closed = same(ours, real, [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%b\r\n" % (len(value), value)])
    assert reply == b"+OK\r\n" and not closed


def test_client_query_buffer_limit(ours, real, limits):
    limits("proto-max-bulk-len", "10mb", "client-query-buffer-limit", "1mb")
    reply, closed = same(ours, real, [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n", b"x" * 600_000, b"x" * 600_000])
    assert closed and reply == b""  # dropped without a reply
    reply, closed = same(ours, real, [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000\r\n", b"x" * 500_000 + b"\r\n"])
    assert reply == b"+OK\r\n" and not closed


@pytest.fixture
def password(ours, real):
    admins = [RawConnection(ours.port), RawConnection(real.port)]
    for conn in admins:
        assert conn.call("ACL", "SETUSER", "default", "resetpass", ">pw") == b"+OK\r\n"
    yield
    for conn in admins:
        assert conn.call("AUTH", "pw") == b"+OK\r\n"
        conn.call("ACL", "SETUSER", "default", "nopass")
        conn.close()


@pytest.mark.parametrize("pieces", [
    [b"*11\r\n"],
    [b"*10\r\n" + b"$1\r\nx\r\n" * 10],
    [b"*11\r\n" + b"$1\r\nx\r\n" * 11],  # whole, in one read
    [PING + b"*2\r\n$4\r\nECHO\r\n$16385\r\n" + b"x" * 16385 + b"\r\n"],
    [b"*2\r\n$3\r\nGET\r\n$16385\r\n"],
    [b"*2\r\n$3\r\nGET\r\n$1000000\r\n" + b"x" * 100_000],
    [b"*1000\r\n" + b"$1\r\nx\r\n" * 20_000],
    [b"*2\r\n$4\r\nECHO\r\n$16384\r\n" + b"x" * 16384 + b"\r\n"],
    [b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n" + b"$1\r\nx\r\n" * 11],  # logged in: no limit
    # The limits apply after the requests before, in the same read, have run:
    [b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"x" * 20000 + b"\r\n" + PING],
    [b"*2\r\n$4\r\nAUTH\r\n$2\r\nno\r\n*11\r\n" + b"$1\r\nx\r\n" * 11],
    [b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n", b"$1\r\nx\r\n" * 11],
])
def test_unauthenticated_limits(ours, real, password, pieces):
    same(ours, real, pieces)


def test_a_request_held_for_the_limits_waits_for_a_blocked_command_before_it(ours, real, password):
    """AUTH, a BLPOP that blocks and an eleven-argument request in one read: the last is read
    (as a logged-in client's) once the BLPOP is served, and answered after it."""
    answers = []
    for server in (ours, real):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*3\r\n$5\r\nBLPOP\r\n$5\r\nqueue\r\n$1\r\n0\r\n"
                         b"*11\r\n" + b"$1\r\nx\r\n" * 11)
            time.sleep(0.2)
            pusher = RawConnection(server.port)
            assert pusher.call("AUTH", "pw") == b"+OK\r\n"
            assert pusher.call("RPUSH", "queue", "job") == b":1\r\n"
            pusher.close()
            answers.append(read_until_quiet(sock))
    assert answers[0] == answers[1]
    assert answers[1][0].startswith(b"+OK\r\n*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n-ERR unknown command 'x'")


BLOCKING = [
    ("BLPOP", "nokey", "{t}"), ("BRPOP", "nokey", "{t}"), ("BRPOPLPUSH", "nokey", "dst", "{t}"),
    ("BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "{t}"), ("BLMPOP", "{t}", "1", "nokey", "LEFT"),
    ("BZPOPMIN", "nokey", "{t}"), ("BZPOPMAX", "nokey", "{t}"), ("BZMPOP", "{t}", "1", "nokey", "MIN"),
]


@pytest.mark.parametrize("command", BLOCKING, ids=lambda c: c[0])
@pytest.mark.parametrize("timeout", ["0.001", "0.0001", "0x1p-7", "1e-9", "-0.0001", "-0.001", "-0.002", "0x1P-12"])
def test_blocking_timeouts_round_up_to_a_millisecond(diff, command, timeout):
    args = [timeout if a == "{t}" else a for a in command]
    if timeout in ("-0.0001", "-0.001"):  # round up to 0 (-0.001 is a hair above it as a long
        # double, times 1000): both wait forever; only check that neither answers
        for conn in (diff.ours, diff.real):
            conn.send_raw(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
            conn.sock.settimeout(0.2)
            with pytest.raises(TimeoutError):
                conn.read_reply()
        return
    diff.check(*args)


@pytest.mark.parametrize("hello", [b"", b"HELLO 3\r\n"])
def test_subscribe_confirmations_ignore_client_reply_off(ours, real, hello):
    """Pub/sub confirmations are pushes, which Redis sends whatever CLIENT REPLY says."""
    pieces = [hello + b"CLIENT REPLY OFF\r\nSUBSCRIBE a\r\nPSUBSCRIBE p*\r\nPING\r\n"
              b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nSSUBSCRIBE x\r\nSUNSUBSCRIBE\r\nCLIENT REPLY ON\r\nPING\r\n"]
    replies = []
    for port in (ours.port, real.port):
        data, closed = exchange(port, pieces)
        replies.append((data.split(b"modules\r\n*0\r\n", 1)[-1], closed))  # HELLO's reply holds the client id
    assert replies[0] == replies[1]
    assert replies[1][0].count(b"subscribe\r\n") == 6
