"""Fixtures for the explorer's tests.

- ``redis_server``: Debian's redis-server on a free port, once per session. Missing
  redis-server skips locally and FAILS under ``CI=true``.
- ``bundled_server``: ``python -m server --port <free> --save ''``, once per session.
- ``server``: each test runs against both (parametrised "redis-server" / "bundled"),
  on an emptied server with keyspace notifications off.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from tui_servers import ServerProcess, bundled_available, ci

SERVER_KINDS = ["redis-server", "bundled"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ServerProcess]:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if ci():
            pytest.fail(message)
        pytest.skip(message)
    server = ServerProcess("redis-server")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bundled_server() -> Iterator[ServerProcess]:
    if not bundled_available():
        pytest.fail("server/__main__.py is missing: the bundled server cannot start")
    server = ServerProcess("bundled")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=SERVER_KINDS)
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """The server under test, emptied, with keyspace notifications off."""
    name = "redis_server" if request.param == "redis-server" else "bundled_server"
    process: ServerProcess = request.getfixturevalue(name)
    process.reset()
    return process
