"""The bundled server as a child process: start it, wait for PING, stop it as redis-server stops.

This is the only module that knows the server ships with the explorer. It runs
``python -m server --port N --dir DIR`` (redis-server's option names), writes the
child's output to ``server.log`` in the data directory, and on failure raises an
`EmbeddedServerError` that carries the log's tail for the user to read.

However the explorer ends, the server gets SIGTERM and is waited for, which is
redis-server's orderly shutdown: an RDB save when save points are configured, the
AOF flushed and fsynced. The child runs in a session of its own, so a closed
terminal's SIGHUP does not reach it before the explorer has asked it to save; on
Linux it also gets SIGTERM from the kernel if the explorer dies without a word
(SIGKILL, OOM killer), and an ``atexit`` hook covers interpreter exits.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
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
    """Whether a server could listen on ``port`` now (as servers do, a port in TIME_WAIT counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    """The requested port, else 6379: the bundled server keeps one address, as redis-server does."""
    return requested or DEFAULT_PORT


def describe_listener(port: int, host: str = "127.0.0.1") -> tuple[str, Path | None]:
    """Who listens on ``port``: a short description, and the data directory if it is a bundled server."""
    try:
        with redis.Redis(host, port, socket_timeout=1, socket_connect_timeout=1) as conn:
            info = conn.info("server")
            if "redistui_version" not in info:
                return f"redis-server {info.get('redis_version', '?')}", None
            directory = conn.config_get("dir").get("dir")
            return f"a redistui server {info['redistui_version']}", Path(directory) if directory else None
    except redis.AuthenticationError:
        return "a server that asks for a password", None
    except redis.RedisError:
        return "a program that is not a Redis server", None


_PR_SET_PDEATHSIG = 1


def _detach_from_terminal() -> None:
    """In the child, before exec: a session of its own, so a terminal hang-up does not reach it."""
    os.setsid()


def _detach_and_follow_parent() -> None:
    """As `_detach_from_terminal`, plus SIGTERM from the kernel when the explorer dies (Linux)."""
    parent = os.getppid()
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the explorer died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


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
        outlive_explorer: bool = False,
    ) -> None:
        self.host = host
        self.outlive_explorer = outlive_explorer  # --keep-server: no SIGTERM when the explorer dies
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
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_detach_from_terminal if self.outlive_explorer else _detach_and_follow_parent,
            )
        atexit.register(self.stop)
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

    def stop(self, save: bool = True, timeout: float = 60.0) -> None:
        """Shut the server down as redis-server shuts down, and wait for it.

        ``save``: SIGTERM, redis-server's orderly shutdown (save points honoured, AOF
        fsynced). Otherwise SHUTDOWN NOSAVE. Safe to call more than once, and from a
        signal handler. Only a server that is still running after ``timeout`` is killed.
        """
        process = self.process
        if process is None or process.poll() is not None:
            return
        if save:
            process.send_signal(signal.SIGTERM)
        else:
            try:
                with redis.Redis(self.host, self.port, socket_timeout=timeout) as conn:
                    conn.execute_command("SHUTDOWN", "NOSAVE")
            except redis.ConnectionError:
                pass  # the server closes the connection as it exits
            except redis.RedisError:
                process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def detach(self) -> None:
        """Forget the child so it keeps running after the explorer exits (``--keep-server``)."""
        self.process = None
        atexit.unregister(self.stop)

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
