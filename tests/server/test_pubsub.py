"""Pub/sub through redis-py and raw sockets: delivery, introspection, and slow subscribers.

Byte-level agreement with redis-server is in ``tests/differential/test_pubsub_diff.py``;
this file checks what a differential test cannot: CLIENT LIST and INFO fields,
cleanup on disconnect, ordering against other clients' commands, and the
``client-output-buffer-limit`` that disconnects a subscriber which stops
reading while the server's memory stays bounded.
"""

from __future__ import annotations

import socket
import time

import pytest
import redis

from tests.differential.harness import RawConnection, encode_command, parse
from tests.servers import process_rss


def client_line(r: redis.Redis, client_id: int) -> dict[str, str]:
    line = r.execute_command("CLIENT", "LIST", "ID", client_id)
    if isinstance(line, bytes):
        line = line.decode()
    return dict(field.split("=", 1) for field in line.split())


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_subscriber_receives_messages(ours, r, protocol):
    sub_client = redis.Redis(port=ours.port, protocol=protocol)
    pubsub = sub_client.pubsub()
    try:
        pubsub.subscribe("py-chan")
        pubsub.psubscribe("py-*")
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        assert pubsub.get_message(timeout=2)["type"] == "psubscribe"
        assert r.publish("py-chan", "hello") == 2
        first = pubsub.get_message(timeout=2)
        second = pubsub.get_message(timeout=2)
        assert (first["type"], first["channel"], first["data"]) == ("message", b"py-chan", b"hello")
        assert (second["type"], second["pattern"], second["data"]) == ("pmessage", b"py-*", b"hello")
    finally:
        pubsub.close()
        sub_client.close()


def test_client_list_and_info_fields(ours, r):
    sub = RawConnection(ours.port)
    try:
        sub_id = int(sub.call("CLIENT", "ID")[1:-2])
        sub.send_raw(encode_command(("SUBSCRIBE", "f1", "f2")))
        sub.read_reply()
        sub.read_reply()
        sub.call("PSUBSCRIBE", "f*")
        sub.call("SSUBSCRIBE", "s1")
        fields = client_line(r, sub_id)
        assert (fields["sub"], fields["psub"], fields["ssub"], fields["flags"]) == ("2", "1", "1", "P")
        assert fields["cmd"] == "ssubscribe"
        info = r.info("stats")
        assert info["pubsub_channels"] >= 2 and info["pubsub_patterns"] >= 1
        assert r.info("stats")["pubsubshard_channels"] >= 1
    finally:
        sub.close()


def test_resp3_subscriber_is_flagged_too(ours, r):
    sub = RawConnection(ours.port)
    try:
        sub.call("HELLO", "3")
        sub_id = int(sub.call("CLIENT", "ID")[1:-2])
        sub.call("SUBSCRIBE", "r3flag")
        assert client_line(r, sub_id)["flags"] == "P"
        assert str(sub_id) in [c["id"] for c in r.client_list(_type="pubsub")]
    finally:
        sub.close()


def test_multi_field_counts_queued_commands(ours, r):
    conn = RawConnection(ours.port)
    try:
        conn_id = int(conn.call("CLIENT", "ID")[1:-2])
        assert client_line(r, conn_id)["multi"] == "-1"
        conn.call("MULTI")
        conn.call("SET", "a", "1")
        conn.call("GET", "a")
        fields = client_line(r, conn_id)
        assert (fields["multi"], fields["flags"]) == ("2", "x")
        conn.call("DISCARD")
        conn.call("WATCH", "w")
        r.set("w", "changed")
        assert client_line(r, conn_id)["flags"] == "d"  # its next EXEC will fail
    finally:
        conn.close()


def test_disconnect_drops_subscriptions(ours, r):
    sub = RawConnection(ours.port)
    sub.call("SUBSCRIBE", "bye")
    sub.call("SSUBSCRIBE", "bye-shard")
    assert r.pubsub_numsub("bye") == [(b"bye", 1)]
    sub.close()
    for _ in range(200):
        if r.pubsub_numsub("bye") == [(b"bye", 0)] and r.execute_command("PUBSUB", "SHARDNUMSUB", "bye-shard")[1] == 0:
            break
        time.sleep(0.01)
    assert r.pubsub_numsub("bye") == [(b"bye", 0)]
    assert r.publish("bye", "anyone?") == 0


def test_message_published_before_a_command_arrives_before_its_reply(ours, r):
    sub = RawConnection(ours.port)
    try:
        sub.call("SUBSCRIBE", "order")
        for i in range(20):
            r.publish("order", str(i))
            sub.send_raw(encode_command(("PING", str(i))))
        messages = 0
        for _ in range(40):
            kind, *_, payload = parse(sub.read_reply())
            if kind == b"message":
                assert payload == str(messages).encode()  # in publish order
                messages += 1
            else:  # PING i was sent after message i was published: it must come after it
                assert messages > int(payload)
    finally:
        sub.close()


# --------------------------------------------------------------------------- slow subscribers


def _read_all(sock: socket.socket) -> int:
    """Read whatever is waiting; the number of bytes (0 when nothing is)."""
    total = 0
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return total
        if not chunk:
            raise ConnectionError("closed")
        total += len(chunk)


def test_subscriber_that_stops_reading_is_dropped_and_memory_stays_bounded(own_server):
    r = own_server.client()
    r.config_set("client-output-buffer-limit", "pubsub 8mb 4mb 60")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"].endswith("pubsub 8388608 4194304 60")
    slow = socket.create_connection(("127.0.0.1", own_server.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    slow.sendall(encode_command(("SUBSCRIBE", "flood")))
    fast = socket.create_connection(("127.0.0.1", own_server.port))
    fast.sendall(encode_command(("SUBSCRIBE", "flood")))
    time.sleep(0.2)
    fast.setblocking(False)
    _read_all(fast)
    baseline = process_rss(own_server.proc.pid)
    payload = b"x" * 65536
    frame = len(b"*3\r\n$7\r\nmessage\r\n$5\r\nflood\r\n$65536\r\n\r\n") + len(payload)
    received = 0
    publisher = RawConnection(own_server.port)
    counts = []
    peak = baseline
    for _ in range(640):  # 40 MB per subscriber: five times the hard limit
        counts.append(publisher.call("PUBLISH", "flood", payload))
        received += _read_all(fast)
        peak = max(peak, process_rss(own_server.proc.pid))
    deadline = time.monotonic() + 10
    while received < 640 * frame and time.monotonic() < deadline:
        received += _read_all(fast)
        time.sleep(0.01)
    assert received == 640 * frame  # the reading subscriber got everything
    assert counts[0] == b":2\r\n" and counts[-1] == b":1\r\n"  # the slow one was dropped
    assert r.pubsub_numsub("flood") == [(b"flood", 1)]
    assert peak - baseline < 40 * 1024 * 1024, f"RSS grew by {(peak - baseline) >> 20} MB"
    slow.setblocking(False)
    with pytest.raises((ConnectionError, OSError)):
        while True:  # what the kernel held is readable, then the connection is closed
            _read_all(slow)
            time.sleep(0.01)
    assert r.ping()
    publisher.close()
    fast.close()
    slow.close()


def test_soft_limit_drops_after_its_grace_period(own_server):
    r = own_server.client()
    r.config_set("client-output-buffer-limit", "pubsub 0 1mb 1")
    slow = socket.create_connection(("127.0.0.1", own_server.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    slow.sendall(encode_command(("SUBSCRIBE", "soft")))
    time.sleep(0.1)
    publisher = RawConnection(own_server.port)
    payload = b"y" * 65536
    start = time.monotonic()
    dropped_after = None
    while time.monotonic() - start < 5:
        if publisher.call("PUBLISH", "soft", payload) == b":0\r\n":
            dropped_after = time.monotonic() - start
            break
        time.sleep(0.02)
    assert dropped_after is not None and dropped_after >= 1.0  # over the soft limit, but for a while
    publisher.close()
    slow.close()


def test_normal_clients_have_no_limit_by_default(own_server):
    r = own_server.client()
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"].startswith("normal 0 0 0")
    r.set("big", b"z" * (4 << 20))
    conn = RawConnection(own_server.port)
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    for _ in range(8):  # 32 MB of replies queued while we do not read
        conn.send_raw(encode_command(("GET", "big")))
    time.sleep(0.3)
    for _ in range(8):
        assert len(conn.read_reply()) > 4 << 20
    conn.close()
