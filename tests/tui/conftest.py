"""Fixtures for the explorer's tests.

- ``redis_server``: Debian's redis-server on a free port, once per session. Missing
  redis-server skips locally and FAILS under ``CI=true``.
- ``bundled_server``: ``python -m server --port <free> --save ''``, once per session.
- ``server``: each test runs against both (parametrised "redis-server" / "bundled"),
  on an emptied server with keyspace notifications off.
- ``redis_cluster``: three masters joined by ``redis-cli --cluster create``, once per session for
  each kind (redis-server, then ours); ``cluster`` empties it for each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_cluster import RedisClusterProcesses
from tests.servers import ServerProcess, bundled_available, require_tool, server_process

SERVER_KINDS = ["redis-server", "bundled"]

# What the explorer sends as soon as it opens; a test marked @pytest.mark.commands(...) needs more.
CORE_COMMANDS = ["PING", "INFO", "DBSIZE", "CONFIG", "SCAN", "TYPE", "PTTL", "OBJECT", "PSUBSCRIBE"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "commands(*names): server commands a TUI test needs beyond the core set"
    )


def require_commands(process: ServerProcess, request: pytest.FixtureRequest, core: bool = True) -> None:
    """A test whose commands the bundled server does not answer fails: it implements them all."""
    names = list(CORE_COMMANDS) if core else ["PING"]
    for marker in request.node.iter_markers("commands"):
        names += list(marker.args)
    missing = process.missing_commands(names)
    if missing and process.kind == "bundled":
        pytest.fail(f"the bundled server lacks {' '.join(missing)}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ServerProcess]:
    require_tool("redis-server")
    server = server_process("redis-server")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bundled_server() -> Iterator[ServerProcess]:
    if not bundled_available():
        pytest.fail("server/__main__.py is missing: the bundled server cannot start")
    server = server_process("bundled")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=SERVER_KINDS)
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """The server under test, emptied, with keyspace notifications off."""
    name = "redis_server" if request.param == "redis-server" else "bundled_server"
    process: ServerProcess = request.getfixturevalue(name)
    require_commands(process, request)
    process.reset()
    return process


@pytest.fixture
def bundled(bundled_server: ServerProcess, request: pytest.FixtureRequest) -> ServerProcess:
    """The bundled server for tests that start their own copy (only the marked commands are required)."""
    require_commands(bundled_server, request, core=False)
    return bundled_server


@pytest.fixture(scope="session", params=SERVER_KINDS)
def redis_cluster(request: pytest.FixtureRequest) -> Iterator[RedisClusterProcesses]:
    """Three masters of redis-server, then three of ours (issue 19: the explorer on a cluster of ours)."""
    cluster = RedisClusterProcesses(request.param)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster(redis_cluster: RedisClusterProcesses) -> RedisClusterProcesses:
    """The three-master cluster, emptied, with keyspace notifications off."""
    redis_cluster.reset()
    return redis_cluster
