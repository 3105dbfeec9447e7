"""Server processes for the explorer's tests: Debian's redis-server and the bundled server.

Each `ServerProcess` runs on a free port (never 6379), is stopped by its own PID,
and can be stopped and started again on the same port (for connection-loss tests).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bundled_available() -> bool:
    return (ROOT / "server" / "__main__.py").exists()


class ServerProcess:
    """One server child process: ``kind`` is "redis-server" or "bundled"."""

    def __init__(self, kind: str, port: int | None = None) -> None:
        self.kind = kind
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"redistui-{kind}-"))
        self.log = self.dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        if self.kind == "redis-server":
            binary = shutil.which("redis-server") or "redis-server"
            return [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)]  # fmt: skip
        return [
            sys.executable,
            "-m",
            "server",
            "--port",
            str(self.port),
            "--save",
            "",
            "--dir",
            str(self.dir),
        ]

    def start(self, timeout: float = 15.0) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with self.connect(socket_timeout=0.5) as conn:
                    if conn.ping():
                        return
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer PING on port {self.port}")

    def connect(self, **kwargs: object) -> redis.Redis:
        return redis.Redis("127.0.0.1", self.port, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def missing_commands(self, names: list[str]) -> list[str]:
        """Which of these commands the server does not know (COMMAND INFO answers nil for them)."""
        if not hasattr(self, "_known"):
            self._known: dict[str, bool] = {}
        unknown = [name for name in names if name.lower() not in self._known]
        if unknown:
            with self.connect() as conn:
                conn.response_callbacks.pop("COMMAND", None)  # keep the raw reply (nil for unknown names)
                replies = conn.execute_command("COMMAND", "INFO", *unknown)
            for name, reply in zip(unknown, replies, strict=True):
                self._known[name.lower()] = bool(reply)
        return [name for name in names if not self._known[name.lower()]]

    def reset(self) -> None:
        """Empty every database and turn keyspace notifications off again."""
        with self.connect() as conn:
            conn.flushall()
            try:
                conn.config_set("notify-keyspace-events", "")
            except redis.ResponseError:
                pass


def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
