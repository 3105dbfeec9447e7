"""Fixtures shared by every test: servers on free ports, started and stopped by their own PID.

``ours`` is this project's server (``python -m server``); ``real`` is Debian's
``redis-server``, the reference. When ``CI=true`` and ``redis-server`` is
missing, the tests that need it fail instead of skipping.

Hypothesis explores new examples on every developer run; under ``CI`` it replays
a fixed sequence, so a landing is judged on the same inputs each time (local
runs and ``make fuzz`` keep looking for new differences).
"""

from __future__ import annotations

import os

import pytest
import redis
from hypothesis import settings

from tests.servers import OurServer, RealServer, real_server_available

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def ours(tmp_path_factory):
    server = OurServer(tmp_path_factory.mktemp("ours"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    real_server_available(require=True)
    server = RealServer(tmp_path_factory.mktemp("real"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path):
    """A server for this test alone: what it measures (memory, RSS) or breaks sees no other test."""
    server = OurServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def r(ours):
    """A redis-py client on our server, with every database empty."""
    client = redis.Redis(port=ours.port, protocol=2)
    client.flushall()
    client.config_set("notify-keyspace-events", "")
    yield client
    client.close()


@pytest.fixture
def r3(ours):
    client = redis.Redis(port=ours.port, protocol=3)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def diff(ours, real):
    """A differential checker: the same commands to both servers, replies compared byte for byte."""
    from tests.differential.harness import Differ

    differ = Differ(ours.port, real.port)
    differ.flush()
    yield differ
    differ.close()


@pytest.fixture
def diff3(ours, real):
    from tests.differential.harness import Differ

    differ = Differ(ours.port, real.port, resp=3)
    differ.flush()
    yield differ
    differ.close()
