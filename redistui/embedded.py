"""The bundled server as a child process: start it, wait for PING, stop it with SHUTDOWN SAVE.

This is the only module that knows the server ships with the explorer. It runs
``python -m server --port N --dir DIR`` (redis-server's option names), writes the
child's output to ``server.log`` in the data directory, and on failure raises an
`EmbeddedServerError` that carries the log's tail for the user to read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

DEFAULT_PORT = 6379
LOG_NAME = "server.log"


class EmbeddedServerError(RuntimeError):
    """The bundled server did not start; ``log_tail`` says why."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n--- server log (tail) ---\n{self.log_tail}" if self.log_tail else text


def default_data_dir() -> Path:
    """A per-user data directory, so data persists between launches (platformdirs, else XDG)."""
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - textual depends on platformdirs
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "redistui"
    return Path(platformdirs.user_data_dir("redistui", appauthor=False))


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(requested: int | None) -> int:
    """The requested port, else 6379 when free, else any free port."""
    if requested:
        return requested
    return DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class EmbeddedServer:
    """One bundled server process, bound to 127.0.0.1."""

    def __init__(
        self,
        port: int | None = None,
        data_dir: Path | None = None,
        extra_args: list[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = choose_port(port)
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "server",
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.data_dir),
            *self.extra_args,
        ]  # fmt: skip

    def start(self, timeout: float = 15.0) -> None:
        """Start the child and return once it answers PING; raise `EmbeddedServerError` otherwise."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"the bundled server exited with status {self.process.returncode}", tail(self.log_path)
                )
            if self.ping():
                return
            time.sleep(0.05)
        self.kill()
        raise EmbeddedServerError(
            f"the bundled server did not answer PING within {timeout:.0f}s", tail(self.log_path)
        )

    def ping(self) -> bool:
        try:
            with redis.Redis(self.host, self.port, socket_timeout=0.5, socket_connect_timeout=0.5) as conn:
                return bool(conn.ping())
        except redis.RedisError:
            return False

    def stop(self, save: bool = True, timeout: float = 10.0) -> None:
        """SHUTDOWN SAVE (or NOSAVE), wait for the process; terminate it if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            with redis.Redis(self.host, self.port, socket_timeout=timeout) as conn:
                conn.execute_command("SHUTDOWN", "SAVE" if save else "NOSAVE")
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        except redis.RedisError:
            self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def detach(self) -> None:
        """Forget the child so it keeps running after the explorer exits (``--keep-server``)."""
        self.process = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
