"""Fixtures for the command-line, shell, pub/sub and dashboard tests.

`cmdline_server` starts a server once per test session on a free port (never 6379) and
stops it by its own PID: Debian's `redis-server`, and the bundled server
(`python -m server`) when `REDISTUI_TEST_BUNDLED` is not `0`. A missing `redis-server`
skips locally but fails under `CI=true`.

Import the fixtures from a test module: `from conftest_cmdline import *  # noqa: F403`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ServerHandle", "cmdline_server", "free_port", "rdb", "server_kinds", "start_server"]


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


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if redis.Redis(port=port, protocol=2, socket_timeout=1).ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError("server did not answer PING in time")


def start_server(kind: str, tmp: Path) -> ServerHandle:
    port = free_port()
    if kind == "redis":
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI") == "true":
                pytest.fail("redis-server is required under CI")
            pytest.skip("redis-server is not installed")
        argv = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp)]
        argv += ["--bind", "127.0.0.1", "--daemonize", "no"]
    else:
        argv = [sys.executable, "-m", "server", "--port", str(port), "--save", "", "--dir", str(tmp)]
    log = open(tmp / f"{kind}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    handle = ServerHandle(kind, port, process)
    try:
        _wait_ready(port, process)
    except RuntimeError as exc:
        handle.stop()
        pytest.fail(f"{kind} server failed to start: {exc}\n{(tmp / f'{kind}.log').read_text()[-2000:]}")
    return handle


def server_kinds() -> list[str]:
    kinds = ["redis"]
    if (ROOT / "server" / "__main__.py").exists() and os.environ.get("REDISTUI_TEST_BUNDLED", "1") != "0":
        kinds.append("bundled")
    return kinds


_running: dict[str, ServerHandle] = {}


@pytest.fixture(scope="session", params=server_kinds())
def cmdline_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """A server of each kind, shared by every test of the session."""
    kind = request.param
    handle = start_server(kind, tmp_path_factory.mktemp(f"cmdline-{kind}"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def rdb(cmdline_server: ServerHandle) -> Iterator[redis.Redis]:
    """A plain redis-py client on a flushed server."""
    client = cmdline_server.client()
    client.flushall()
    try:
        yield client
    finally:
        client.close()
