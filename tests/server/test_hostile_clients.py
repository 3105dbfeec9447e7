"""What one client sends must not freeze or exhaust the server (issue 12, items 7, 8, 10, 11)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import redis

from tests.servers import OurServer


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_and_count_replies(port: int, payload: bytes, replies: int, marker: bytes) -> bytes:
    """Send ``payload`` while reading; return everything once ``replies`` lines starting with ``marker`` came."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        data = bytearray()
        while data.count(marker) < replies:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        sender.join()
        return bytes(data)


@pytest.fixture
def own_server(tmp_path):
    server = OurServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_error_replies_cost_no_memory(own_server):
    """Shared error instances raised again and again must not keep their stack frames alive:
    100k erroring commands leave RSS within 2 MB of where it was."""
    assert own_server.proc is not None
    commands = [
        b"*5\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nXX\r\n$2\r\nNX\r\n",  # syntax error
        b"*2\r\n$4\r\nINCR\r\n$1\r\ns\r\n",  # not an integer
        b"*2\r\n$5\r\nLPUSH\r\n$1\r\ns\r\n",  # wrong number of arguments
        b"*3\r\n$5\r\nLPUSH\r\n$1\r\ns\r\n$1\r\nx\r\n",  # wrong type
        b"*3\r\n$6\r\nEXPIRE\r\n$1\r\ns\r\n$1\r\nx\r\n",  # not an integer (parse helper)
    ]
    client = redis.Redis(port=own_server.port)
    client.set("s", "text")
    batch = b"".join(commands) * 2000  # 10k errors

    def run_batches(count: int) -> None:
        for _ in range(count):
            out = send_and_count_replies(own_server.port, batch, 10_000, b"-")
            assert out.count(b"-") >= 10_000

    run_batches(2)  # warm up: caches, allocator arenas
    before = rss_kib(own_server.proc.pid)
    run_batches(10)
    grown = rss_kib(own_server.proc.pid) - before
    assert grown < 2048, f"RSS grew by {grown} KiB over 100k error replies"
    assert client.ping()
    client.close()
