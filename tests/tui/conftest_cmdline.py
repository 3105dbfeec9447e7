"""Fixtures for the command-line, shell, pub/sub and dashboard tests.

`cmdline_server` is each kind of server in turn — Debian's `redis-server` and the bundled
server (`python -m server`, unless `REDISTUI_TEST_BUNDLED=0`) — reusing the session
servers of conftest.py (free ports, never 6379, stopped by their own PID; a missing
`redis-server` skips locally but fails under `CI=true`). Tests mark the commands they
need with `needs(...)`; against the bundled server a missing one makes the test an
expected failure.

Import the fixtures from a test module: `from conftest_cmdline import *  # noqa: F403`.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]

__all__ = [
    "ServerHandle",
    "_bundled_needs",
    "cmdline_server",
    "free_port",
    "needs",
    "rdb",
    "require",
    "server_kinds",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerHandle:
    """A running server: its kind ("redis" or "bundled"), address and process."""

    kind: str
    port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, protocol=2, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_kinds() -> list[str]:
    kinds = ["redis"]
    if (ROOT / "server" / "__main__.py").exists() and os.environ.get("REDISTUI_TEST_BUNDLED", "1") != "0":
        kinds.append("bundled")
    return kinds


def needs(*commands: str) -> pytest.MarkDecorator:
    """Mark a test with the server commands it needs (see `cmdline_server`)."""
    return pytest.mark.commands(*commands)


@pytest.fixture(scope="session", params=server_kinds())
def cmdline_server(request: pytest.FixtureRequest) -> ServerHandle:
    """Each kind of server, shared with the explorer's tests (`redis_server` / `bundled_server`
    from conftest.py). Against the bundled server, a test whose marked commands are not
    implemented yet is an expected failure, as in the explorer's tests."""
    kind = request.param
    process = request.getfixturevalue("redis_server" if kind == "redis" else "bundled_server")
    return ServerHandle(kind, process.port, process.process)


@pytest.fixture(autouse=True)
def _bundled_needs(request: pytest.FixtureRequest) -> None:
    if "cmdline_server" not in request.fixturenames:
        return
    handle: ServerHandle = request.getfixturevalue("cmdline_server")
    if handle.kind != "bundled":
        return
    names = ["PING"]
    for marker in request.node.iter_markers("commands"):
        names += list(marker.args)
    require(handle, *names)
    for marker in request.node.iter_markers("bundled_docs_differ"):
        request.applymarker(
            pytest.mark.xfail(reason=f"bundled server's COMMAND DOCS: {marker.args[0]}", strict=False)
        )


def require(handle: ServerHandle, *names: str) -> None:
    """Against the bundled server, missing commands make the calling test an expected failure."""
    if handle.kind != "bundled":
        return
    missing = _missing(handle, list(names))
    if missing:
        pytest.xfail(f"the bundled server lacks {' '.join(missing)}")


_known: dict[tuple[int, str], bool] = {}


def _missing(handle: ServerHandle, names: list[str]) -> list[str]:
    unknown = [n for n in names if (handle.port, n.lower()) not in _known]
    if unknown:
        from redistui.shell import TypedClient

        conn = TypedClient({"host": handle.host, "port": handle.port})
        replies = conn.execute("COMMAND", "INFO", *unknown)
        conn.close()
        for name, reply in zip(unknown, replies, strict=False):
            _known[(handle.port, name.lower())] = bool(reply)
    return [n for n in names if not _known[(handle.port, n.lower())]]


@pytest.fixture
def rdb(cmdline_server: ServerHandle) -> Iterator[redis.Redis]:
    """A plain redis-py client on a flushed server."""
    client = cmdline_server.client()
    client.flushall()
    try:
        yield client
    finally:
        client.close()
