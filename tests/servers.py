"""Start and stop servers for tests: ours (``python -m server``) and Debian's ``redis-server``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_tool(name: str) -> str:
    """The path of a reference tool (redis-server, redis-cli ...), or a failed test.

    ``make test`` installs Debian's redis-server and redis-tools, so a missing tool
    means a broken environment: the tests that compare against it fail, never skip.
    """
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: `make test` installs Debian's redis-server and redis-tools")
    return path


def real_server_available(require: bool = False) -> bool:
    """True if redis-server is installed; with ``require``, a missing one fails the test."""
    if require:
        require_tool("redis-server")
    return shutil.which("redis-server") is not None


class ServerProcess:
    """A server in a child process, on a free port, in its own directory."""

    def __init__(self, workdir: Path, extra: list[str] | None = None):
        self.workdir = Path(workdir)
        self.extra = extra or []
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "server.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 15.0) -> None:
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            try:
                with redis.Redis(port=self.port, socket_timeout=1) as probe:
                    if probe.ping():
                        return
            except redis.AuthenticationError:  # a ConnectionError in redis-py, but the server answered
                return
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                time.sleep(0.05)
            except redis.ResponseError:
                return  # answering, but wants AUTH
        raise RuntimeError(f"server did not answer PING in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(port=self.port, **kwargs)


class OurServer(ServerProcess):
    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "server", "--port", str(self.port), "--save", "",
            "--enable-debug-command", "yes", "--dir", str(self.workdir), *self.extra,
        ]

    def start(self, timeout: float = 15.0) -> None:
        env_path = os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])
        os.environ["PYTHONPATH"] = env_path
        super().start(timeout)


class RealServer(ServerProcess):
    def command(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--enable-debug-command", "yes", "--dir", str(self.workdir), "--daemonize", "no",
            *self.extra,
        ]


class MemoryTransport:
    """The transport side of an in-process connection: keeps what is written (unless
    ``keep`` is off), never closes by itself. For driving ``RedisProtocol`` without sockets."""

    def __init__(self, keep: bool = True):
        self.keep = keep
        self.data = b""
        self.closed = False

    def get_extra_info(self, name):
        return None

    def set_write_buffer_limits(self, high):
        pass

    def write(self, data):
        if self.keep:
            self.data += data

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def get_write_buffer_size(self):
        return 0

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass
