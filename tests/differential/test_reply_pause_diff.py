"""CLIENT REPLY and CLIENT PAUSE compared with redis-server: what is muted, what waits, and for how long.

Each scenario runs on both servers over raw sockets; the bytes a client receives
are compared exactly. For CLIENT PAUSE the timing is part of the behaviour: a
held request is answered only once the pause ends, so the tests check when each
reply arrives as well as what it says. Every pause is short and ends with
CLIENT UNPAUSE, so the shared servers are never left paused.
"""

from __future__ import annotations

import socket
import time

from tests.differential.harness import RawConnection, encode_command, parse


def _exchange(port: int, data: bytes, settle: float = 0.3) -> bytes:
    """Send ``data`` (a pipeline), wait ``settle`` seconds and return every byte received."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(data)
        time.sleep(settle)
        sock.setblocking(False)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                return received
            if not chunk:
                return received
            received += chunk
    finally:
        sock.close()


def _pipeline(*commands: tuple) -> bytes:
    return b"".join(encode_command(args) for args in commands)


def _both(ours, real, data: bytes, settle: float = 0.3) -> bytes:
    mine, theirs = _exchange(ours.port, data, settle), _exchange(real.port, data, settle)
    assert mine == theirs, f"ours={mine!r}\nreal={theirs!r}"
    return mine


def test_reply_off_skip_on(ours, real):
    seen = _both(ours, real, _pipeline(
        ("DEL", "rp:k"),
        ("CLIENT", "REPLY", "SKIP"), ("SET", "rp:k", "1"), ("GET", "rp:k"),
        ("CLIENT", "REPLY", "OFF"), ("GET", "rp:k"), ("PING",), ("NOSUCHCOMMAND",), ("GET",),
        ("CLIENT", "REPLY", "SKIP"),  # ignored while OFF
        ("CLIENT", "REPLY", "ON"), ("GET", "rp:k"),
    ))
    assert seen.endswith(b"$1\r\n1\r\n+OK\r\n$1\r\n1\r\n")  # the SKIPped SET and everything while OFF are silent


def test_skip_moves_on_and_on_answers(ours, real):
    # SKIP then ON: ON is the muted command, but it switches replies back on first, so it answers.
    _both(ours, real, _pipeline(("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING",)))
    # SKIP twice: the second SKIP is the muted command and mutes the one after it.
    seen = _both(ours, real, _pipeline(
        ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("ECHO", "a"), ("ECHO", "b")))
    assert seen == b"$1\r\nb\r\n"
    # Errors are replies too, and the arity error of a muted command stays silent.
    _both(ours, real, _pipeline(("CLIENT", "REPLY", "SKIP"), ("INCR",), ("CLIENT", "REPLY", "x"), ("PING",)))


def test_skip_mutes_a_blocked_commands_reply(ours, real):
    """The reply a blocked command gets later (here its timeout) is the muted one."""
    seen = _both(ours, real, _pipeline(
        ("DEL", "rp:empty"), ("CLIENT", "REPLY", "SKIP"), ("BLPOP", "rp:empty", "0.1"), ("PING",)), settle=0.5)
    assert seen == b":0\r\n+PONG\r\n"


def test_reply_off_still_delivers_pushed_messages(ours, real):
    """RESP3 subscriber with replies off: replies are muted, published messages are not."""
    results = []
    for server in (ours, real):
        sub = RawConnection(server.port)
        sub.call("HELLO", "3")
        sub.call("SUBSCRIBE", "rp:chan")
        sub.send_raw(encode_command(("CLIENT", "REPLY", "OFF")))
        publisher = RawConnection(server.port)
        time.sleep(0.05)
        delivered = parse(publisher.call("PUBLISH", "rp:chan", "muted"))
        time.sleep(0.05)
        ok = sub.call("CLIENT", "REPLY", "ON")
        publisher.call("PUBLISH", "rp:chan", "heard")
        results.append((delivered, ok, sub.read_reply()))
        sub.close()
        publisher.close()
    assert results[0] == results[1]
    assert results[0][0] == 1 and results[0][1].startswith(b">3\r\n$7\r\nmessage\r\n")


def _timed_replies(port: int, commands: list[tuple], count: int) -> list[tuple[bytes, float]]:
    """Send ``commands`` pipelined; return each of the ``count`` replies with its arrival time."""
    conn = RawConnection(port)
    start = time.monotonic()
    conn.send_raw(_pipeline(*commands))
    out = [(conn.read_reply(), time.monotonic() - start) for _ in range(count)]
    conn.close()
    return out


def _paused_run(server, mode: tuple, commands: list[tuple], count: int, pause_ms: int = 300):
    admin = RawConnection(server.port)
    try:
        assert admin.call("CLIENT", "PAUSE", str(pause_ms), *mode) == b"+OK\r\n"
        return _timed_replies(server.port, commands, count)
    finally:
        admin.call("CLIENT", "UNPAUSE")
        admin.close()


def test_pause_write_holds_writes_only(ours, real):
    """Reads answer at once; the first write waits for the end, and so does what follows it."""
    commands = [("SET", "rp:x", "1"), ("GET", "rp:x"), ("SET", "rp:x", "2"), ("GET", "rp:x"), ("PUBLISH", "rp:c", "m")]
    for server in (ours, real):
        server.client().set("rp:x", "1")
    runs = [_paused_run(server, ("WRITE",), commands[1:], 4) for server in (ours, real)]
    assert [reply for reply, _ in runs[0]] == [reply for reply, _ in runs[1]]
    for replies in runs:
        assert replies[0][1] < 0.2  # GET: at once
        assert all(0.25 <= at for _, at in replies[1:])  # SET, and the GET queued behind it
    assert runs[0][2][0] == b"$1\r\n2\r\n"


def test_pause_all_holds_everything(ours, real):
    runs = [_paused_run(server, (), [("PING",), ("ECHO", "x")], 2) for server in (ours, real)]
    assert [reply for reply, _ in runs[0]] == [reply for reply, _ in runs[1]]
    for replies in runs:
        assert all(0.25 <= at for _, at in replies)


def test_unpause_releases_held_clients_at_once(ours, real):
    for server in (ours, real):
        admin = RawConnection(server.port)
        admin.call("CLIENT", "PAUSE", "5000", "WRITE")
        writer = RawConnection(server.port)
        start = time.monotonic()
        writer.send_raw(encode_command(("SET", "rp:u", "1")))
        time.sleep(0.2)
        assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert writer.read_reply() == b"+OK\r\n"
        assert 0.15 <= time.monotonic() - start < 2
        writer.close()
        admin.close()


def test_pause_holds_exec_of_a_transaction_that_writes(ours, real):
    """MULTI answers; a queued write waits (the pause check comes before queueing); a read-only EXEC does not."""
    commands = [("MULTI",), ("GET", "rp:m"), ("EXEC",), ("MULTI",), ("SET", "rp:m", "1"), ("EXEC",)]
    runs = [_paused_run(server, ("WRITE",), commands, 6) for server in (ours, real)]
    assert [reply for reply, _ in runs[0]] == [reply for reply, _ in runs[1]]
    for replies in runs:
        assert all(at < 0.2 for _, at in replies[:4])
        assert all(0.25 <= at for _, at in replies[4:])


def test_expiry_waits_for_the_end_of_a_pause(ours, real):
    """During a pause an expired key reads as absent but is neither removed nor counted."""
    results = []
    for server in (ours, real):
        r = server.client()
        r.set("rp:e", "1", px=50)
        before = r.info("stats")["expired_keys"]
        r.execute_command("CLIENT", "PAUSE", "2000", "WRITE")
        try:
            time.sleep(0.3)  # long enough for the key to expire, and for several active-expiry cycles
            during = (r.get("rp:e"), r.exists("rp:e"), r.info("stats")["expired_keys"] - before)
        finally:
            r.execute_command("CLIENT", "UNPAUSE")
        r.get("rp:e")
        results.append((during, r.info("stats")["expired_keys"] - before))
    assert results[0] == results[1] == ((None, 0, 0), 1)


def test_publish_is_a_replicated_command(ours, real):
    """PUBLISH carries Redis's hidden may_replicate flag: a MONITOR connection may not send it."""
    replies = []
    for server in (ours, real):
        monitor = RawConnection(server.port)
        monitor.call("MONITOR")
        replies.append(monitor.call("PUBLISH", "rp:c", "x"))
        monitor.close()
    assert replies[0] == replies[1] == b"-ERR Replica can't interact with the keyspace\r\n"
