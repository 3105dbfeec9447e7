"""``dispatch.run_requests`` remembers a client's open fast path from one read to the next
(``client.fast_stamp``) while the server's ``fast_stamp`` has not moved. A change to what
``fast_path_open`` reads that did not move the stamp would let the next request skip checks it
must pass. Here, for each kind of change, a client's request takes the fast path, the state
changes (by a command of another client, one of its own, or a server event), and its next
request must take the full path with the full path's answer. The last test reads the source:
every assignment to the server-wide fields ``fast_path_open`` reads must be in a function that
moves the stamp.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from server import dispatch
from server.dispatch import run_requests
from server.main import build_server


def _request(client, *argv: bytes) -> bytes:  # noqa: ANN001  (a server.client.Client)
    out: list[bytes] = []
    run_requests(client, [list(argv)], out)
    return b"".join(out)


@pytest.fixture
def pair(monkeypatch):
    """A server, the client under test (warm: its open fast path is remembered), another
    client, and the list of the first client's requests that took the full path."""
    server = build_server(["--save", ""])
    client = server.new_client("127.0.0.1:1000")
    other = server.new_client("127.0.0.1:2000")
    checked: list[bytes] = []
    real = dispatch._checked

    def spy(c, cmd, argv):  # noqa: ANN001, ANN202  (dispatch._checked's signature)
        if c is client:
            checked.append(argv[0])
        return real(c, cmd, argv)

    monkeypatch.setattr(dispatch, "_checked", spy)
    assert _request(client, b"SET", b"k", b"v") == b"+OK\r\n"
    assert client.fast_stamp == server.fast_stamp and checked == []
    return server, client, other, checked


def test_the_open_answer_is_reused_while_nothing_changes(pair, monkeypatch):
    server, client, other, checked = pair
    calls: list[int] = []
    real = dispatch.fast_path_open
    monkeypatch.setattr(dispatch, "fast_path_open", lambda c: (c is client and calls.append(1)) or real(c))
    for _ in range(3):
        assert _request(client, b"INCR", b"n")[:1] == b":"
    assert calls == [] and checked == []
    _request(other, b"CLIENT", b"SETNAME", b"x")  # any command off the fast path moves the stamp
    assert _request(client, b"INCR", b"n") == b":4\r\n"
    assert calls == [1] and checked == []  # asked again, still open


def test_acl_rules_set_by_another_client(pair):
    server, client, other, checked = pair
    assert _request(other, b"ACL", b"SETUSER", b"default", b"-set") == b"+OK\r\n"
    assert _request(client, b"SET", b"k", b"v").startswith(b"-NOPERM")
    assert checked == [b"SET"]


def test_a_failed_save_blocks_writes(pair):
    server, client, other, checked = pair
    assert _request(other, b"CONFIG", b"SET", b"save", b"3600 1") == b"+OK\r\n"
    assert _request(client, b"SET", b"k", b"v") == b"+OK\r\n"
    assert client.fast_stamp == server.fast_stamp
    persistence = server.persistence
    persistence.last_bgsave_status = "err"  # what a failed BGSAVE leaves, then its writer runs
    persistence.update_write_block()
    assert _request(client, b"SET", b"k", b"v").startswith(b"-MISCONF")
    assert checked == [b"SET"]


def test_client_pause_by_another_client_holds_writes(pair):
    server, client, other, checked = pair
    assert _request(other, b"CLIENT", b"PAUSE", b"100000", b"WRITE") == b"+OK\r\n"
    out: list[bytes] = []
    assert run_requests(client, [[b"SET", b"k", b"w"]], out) is True  # postponed
    assert out == [] and checked == [b"SET"]
    server.unpause()  # the pause's end (its timer) moves the stamp too
    assert client.fast_stamp != server.fast_stamp


def test_min_replicas_to_write_set_by_another_client(pair):
    server, client, other, checked = pair
    assert _request(other, b"CONFIG", b"SET", b"min-replicas-to-write", b"1") == b"+OK\r\n"
    assert _request(client, b"SET", b"k", b"v").startswith(b"-NOREPLICAS")
    assert checked == [b"SET"]


@pytest.mark.parametrize(("change", "then", "expected"), [
    ([b"MULTI"], [b"SET", b"k", b"v"], b"+QUEUED\r\n"),
    ([b"SUBSCRIBE", b"ch"], [b"SET", b"k", b"v"], b"-ERR Can't execute 'set'"),
    ([b"MONITOR"], [b"SET", b"k", b"v"], b"-ERR Replica can't interact with the keyspace"),
    ([b"CLIENT", b"REPLY", b"OFF"], [b"SET", b"k", b"v"], b""),
    ([b"CLIENT", b"REPLY", b"SKIP"], [b"SET", b"k", b"v"], b""),
    ([b"CLIENT", b"TRACKING", b"ON"], [b"GET", b"k"], b"$1\r\nv\r\n"),
    ([b"HELLO", b"3"], [b"HGETALL", b"missing"], b"%0\r\n"),  # (RESP3 replies come from encode either way)
])
def test_own_commands_that_change_the_client(pair, change, then, expected):
    server, client, other, checked = pair
    _request(client, *change)  # in a read of its own: the next read must not trust the last answer
    reply = _request(client, *then)
    assert reply.startswith(expected) and (expected or reply == b"")
    if change[0] != b"HELLO":  # a RESP3 client keeps the fast path
        assert checked == [change[0], then[0]]


def test_tracking_remembers_keys_read_in_a_later_read(pair):
    server, client, other, checked = pair
    _request(client, b"CLIENT", b"TRACKING", b"ON")
    _request(client, b"GET", b"k")
    assert b"k" in server.tracking.table  # noted by ``call``: the fast path would not have


def test_logging_out_by_reset_with_a_password_set(pair):
    server, client, other, checked = pair
    assert _request(other, b"CONFIG", b"SET", b"requirepass", b"pw") == b"+OK\r\n"
    assert _request(client, b"SET", b"k", b"v") == b"+OK\r\n"  # still logged in, as in Redis
    _request(client, b"RESET")
    assert _request(client, b"SET", b"k", b"v").startswith(b"-NOAUTH")


# The server-wide fields ``fast_path_open`` reads, and the attribute names they are set through.
SERVER_FIELDS = {"restricted", "write_block", "pause_mode", "gate", "loading", "cluster"}


def test_every_writer_of_a_server_wide_field_moves_the_stamp():
    root = Path(__file__).resolve().parents[2] / "server"
    writers = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or func.name == "__init__":
                continue
            assigned = [
                target.attr for node in ast.walk(func) if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Attribute) and target.attr in SERVER_FIELDS
            ]
            if not assigned:
                continue
            moves = any(isinstance(node, ast.Attribute) and node.attr == "standing_changed" for node in ast.walk(func))
            writers.append((f"{path.relative_to(root)}:{func.name}", sorted(set(assigned)), moves))
    assert len(writers) >= 5  # ACL rules, write block, pause and unpause, gate, loading
    assert [w for w in writers if not w[2]] == []
