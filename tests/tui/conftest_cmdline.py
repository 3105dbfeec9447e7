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
from collections.abc import Iterator

import pytest
import redis

from tests.servers import ROOT, ServerProcess, free_port

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


# The session servers of conftest.py themselves (tests.servers' launcher), under the name these tests use.
ServerHandle = ServerProcess


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
    from conftest.py). Against the bundled server, a test whose marked commands it does not
    answer fails, as in the explorer's tests."""
    server: ServerProcess = request.getfixturevalue("redis_server" if request.param == "redis" else "bundled_server")
    return server


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


def require(handle: ServerHandle, *names: str) -> None:
    """Against the bundled server, missing commands fail the calling test."""
    if handle.kind != "bundled":
        return
    missing = _missing(handle, list(names))
    if missing:
        pytest.fail(f"the bundled server lacks {' '.join(missing)}")


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
