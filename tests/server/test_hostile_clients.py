"""What one client sends must not freeze or exhaust the server (issue 12, items 7, 8, 10, 11)."""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from tests.servers import free_port, require_tool


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


def test_redis_py_pipeline_of_300k_gets_completes(ours):
    """redis-py writes a whole pipeline before reading a reply: the server must keep reading
    (and executing) while the replies pile up, as Redis does, instead of waiting for it."""
    client = redis.Redis(port=ours.port, socket_timeout=60)
    client.set("pipelined", "v")
    pipe = client.pipeline(transaction=False)
    for _ in range(300_000):
        pipe.get("pipelined")
    replies = pipe.execute()
    assert len(replies) == 300_000 and replies[0] == replies[-1] == b"v"
    client.delete("pipelined")
    client.close()


def test_a_million_arguments_parse_in_linear_time(ours):
    """One RPUSH of 1M elements, sent in many reads, while another client's PING is served.
    Quadratic parsing took 15 s (every other client stalled); Redis takes well under a second."""
    count = 1_000_000
    payload = b"*%d\r\n$5\r\nRPUSH\r\n$4\r\nbig1\r\n" % (count + 2) + b"$6\r\nvalue1\r\n" * count
    pings: list[tuple[float, float]] = []  # (when it was answered, how long it waited)
    done = threading.Event()

    def ping_meanwhile() -> None:
        other = redis.Redis(port=ours.port, socket_timeout=10)
        while not done.is_set():
            start = time.monotonic()
            assert other.ping()
            pings.append((time.monotonic(), time.monotonic() - start))
            time.sleep(0.02)
        other.close()

    pinger = threading.Thread(target=ping_meanwhile)
    pinger.start()
    deadline = time.monotonic() + 10
    while not pings and time.monotonic() < deadline:  # the pinger is connected and pinging
        time.sleep(0.01)
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", ours.port), timeout=60) as sock:
            view = memoryview(payload)
            for offset in range(0, len(payload), 65536):  # many reads on the server's side
                sock.sendall(view[offset : offset + 65536])
            sent = time.monotonic()
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += sock.recv(100)
        elapsed = time.monotonic() - start
    finally:
        done.set()
        pinger.join()
    assert reply == b":%d\r\n" % count
    assert elapsed < 15, f"1M arguments took {elapsed:.1f}s"  # quadratic parsing takes minutes
    # While the request streams in, the others are served (running the command itself, one
    # RPUSH of 1M elements, holds everyone in Redis too).
    during = [waited for answered, waited in pings if start < answered < sent]
    # (Bounds with room for a loaded machine: quadratic parsing stalls everyone for many seconds.)
    assert during and max(during) < 2.0, f"PING waited {max(during, default=0):.2f}s while the request was read"
    client = redis.Redis(port=ours.port)
    client.delete("big1")
    client.close()


PR_CAPBSET_DROP, CAP_SYS_RESOURCE = 24, 24


def _low_ulimit() -> None:
    """``ulimit -n 64``, and no way back up: even as root, without CAP_SYS_RESOURCE (dropped
    from the bounding set, so the exec'd server does not get it) the hard limit stays."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0 and os.geteuid() == 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def _start_limited(command: list[str], workdir: Path, port: int) -> tuple[subprocess.Popen, Path]:
    """A server with ``ulimit -n 64`` that it cannot raise."""
    log = workdir / f"{port}.log"
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([*command, "--port", str(port), "--save", "", "--dir", str(workdir)],
                            cwd=workdir, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
                            preexec_fn=_low_ulimit)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with redis.Redis(port=port, socket_timeout=1) as probe:
                probe.ping()
                return proc, log
        except redis.ConnectionError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
    raise AssertionError(log.read_text())


def test_low_ulimit_lowers_maxclients_and_refuses_with_an_error():
    """With ``ulimit -n 64`` Redis lowers maxclients to 64 - 32 at start-up, logs why, and tells
    the clients past it ``-ERR max number of clients reached``; ours must do the same rather
    than drop connections silently when descriptors run out."""
    workdir = Path(tempfile.mkdtemp(prefix="ulimit-"))
    servers = []
    try:
        for command in ([sys.executable, "-m", "server"], [require_tool("redis-server")]):
            servers.append(_start_limited(command, workdir, free_port()))
        outcomes = []
        for _proc, log in servers:
            port = int(log.stem)
            admin = redis.Redis(port=port)
            maxclients = admin.config_get("maxclients")["maxclients"]
            conns = []
            for _ in range(40):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"PING\r\n")
                conns.append(sock)
            replies = [sock.recv(100) for sock in conns]
            for sock in conns:
                sock.close()
            admin.close()
            lines = [line.split(b" ", 5)[-1] for line in log.read_bytes().splitlines() if b"ulimit" in line
                     or b"maximum open files" in line or b"You requested maxclients" in line]
            outcomes.append((maxclients, sorted(set(replies)), replies.count(b"+PONG\r\n"), lines))
        ours, theirs = outcomes
        assert ours == theirs
        assert theirs[0] == "32"
        assert theirs[1] == [b"+PONG\r\n", b"-ERR max number of clients reached\r\n"]
        assert theirs[3] == [
            b"# You requested maxclients of 10000 requiring at least 10032 max file descriptors.",
            b"# Server can't set maximum open files to 10032 because of OS error: Operation not permitted.",
            b"# Current maximum open files is 64. maxclients has been reduced to 32 to compensate for low "
            b"ulimit. If you need higher maxclients increase 'ulimit -n'.",
        ]
    finally:
        for proc, _log in servers:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
