"""Start and stop servers for every test: ours (``python -m server``) and Debian's ``redis-server``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_rss(pid: int) -> int:
    """A process's resident set size in bytes (/proc/<pid>/statm)."""
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def process_alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (a container's PID 1 may never reap it).

    One read of /proc/<pid>/stat: a process may vanish between two looks, so a
    missing file at any point means gone.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def descendants(pid: int) -> list[int]:
    """The processes forked by ``pid``, and theirs (a BGSAVE child and any helper of it)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/task/{current}/children") as fh:
                children = [int(x) for x in fh.read().split()]
        except OSError:
            children = []
        found += children
        todo += children
    return found


def write_certs(folder: Path, client: bool = False) -> dict[str, Path]:
    """A test CA and a certificate for 127.0.0.1 and localhost, written as PEM files in ``folder``:
    keys "ca", "cert", "key", and with ``client`` a client certificate, "client_cert", "client_key"."""
    import trustme

    ca = trustme.CA()
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    issued = [("cert", "key", ca.issue_cert("127.0.0.1", "localhost"))]
    if client:
        paths.update(client_cert=folder / "client-cert.pem", client_key=folder / "client-key.pem")
        issued.append(("client_cert", "client_key", ca.issue_cert("client@example")))
    for cert_name, key_name, cert in issued:
        cert.cert_chain_pems[0].write_to_path(str(paths[cert_name]))
        cert.private_key_pem.write_to_path(str(paths[key_name]))
    return paths


def tls_args(certs: dict[str, Path], auth_clients: str = "no") -> list[str]:
    """The server options that use ``certs`` (from `write_certs`); a TLS port is the caller's."""
    return ["--tls-cert-file", str(certs["cert"]), "--tls-key-file", str(certs["key"]),
            "--tls-ca-cert-file", str(certs["ca"]), "--tls-auth-clients", auth_clients]


def require_tool(name: str) -> str:
    """The path of a reference tool (redis-server, redis-cli ...), or a failed test.

    ``make test`` installs Debian's redis-server and redis-tools, so a missing tool
    means a broken environment: the tests that compare against it fail, never skip.
    """
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: `make test` installs it (Makefile target system-deps)")
    return path


def real_server_available(require: bool = False) -> bool:
    """True if redis-server is installed; with ``require``, a missing one fails the test."""
    if require:
        require_tool("redis-server")
    return shutil.which("redis-server") is not None


class ServerProcess:
    """A server in a child process, on a free port (never 6379), in its own directory.

    The one launcher of the test suite: the server tests, the differential tests and the
    explorer's tests (tests/tui) all start servers through it. It is stopped by its own PID,
    and can be stopped and started again on the same port (connection-loss tests).
    """

    kind = ""  # "bundled" (ours) or "redis-server"
    host = "127.0.0.1"
    poll_interval = 0.05  # seconds between readiness probes

    def __init__(self, workdir: Path | None = None, extra: list[str] | None = None, port: int = 0,
                 unix_socket: Path | None = None):
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix=f"redistui-{self.kind}-"))
        self.extra = extra or []
        self.port = port
        self.unix_socket = unix_socket  # also listen there; clients (and the readiness probe) then use it
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "server.log"
        self._known: dict[str, bool] = {}

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None  # the test process's own environment

    def start(self, timeout: float = 15.0) -> None:
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited early:\n{self.log_tail()}")
            if self.answers():
                return
            time.sleep(self.poll_interval)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not answer PING on port {self.port} in {timeout}s:\n{self.log_tail()}")

    def answers(self) -> bool:
        """Whether the server answers PING yet (an error reply that wants AUTH counts as an answer)."""
        try:
            with self.client(socket_timeout=1) as probe:
                return bool(probe.ping())
        except redis.AuthenticationError:  # a ConnectionError in redis-py, but the server answered
            return True
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        except redis.ResponseError:
            return True

    def listen_args(self) -> list[str]:
        return ["--port", str(self.port), *(["--unixsocket", str(self.unix_socket)] if self.unix_socket else [])]

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
        if self.unix_socket is not None:
            return redis.Redis(unix_socket_path=str(self.unix_socket), **kwargs)
        return redis.Redis(host=self.host, port=self.port, **kwargs)

    connect = client

    def missing_commands(self, names: list[str]) -> list[str]:
        """Which of these commands the server does not know (COMMAND INFO answers nil for them)."""
        unknown = [name for name in names if name.lower() not in self._known]
        if unknown:
            with self.client() as conn:
                conn.response_callbacks.pop("COMMAND", None)  # keep the raw reply (nil for unknown names)
                replies = conn.execute_command("COMMAND", "INFO", *unknown)
            for name, reply in zip(unknown, replies, strict=True):
                self._known[name.lower()] = bool(reply)
        return [name for name in names if not self._known[name.lower()]]

    def reset(self) -> None:
        """Empty every database and turn keyspace notifications off again."""
        with self.client() as conn:
            conn.flushall()
            try:
                conn.config_set("notify-keyspace-events", "")
            except redis.ResponseError:
                pass


class OurServer(ServerProcess):
    kind = "bundled"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "server", *self.listen_args(), "--save", "",
            "--enable-debug-command", "yes", "--dir", str(self.workdir), *self.extra,
        ]

    def env(self) -> dict[str, str]:
        """This checkout first on the path, whatever the working directory."""
        path = os.environ.get("PYTHONPATH", "")
        return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), path]) if path else str(ROOT))


class RealServer(ServerProcess):
    kind = "redis-server"

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "redis-server", *self.listen_args(), "--bind", self.host,
            "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--dir", str(self.workdir),
            "--daemonize", "no", *self.extra,
        ]


def cluster_node(kind: str, workdir: Path, *extra: str) -> ServerProcess:
    """A started cluster node, ours (``kind`` "ours") or redis-server, its bus on a free port of
    its own; the port is chosen again if another test took it meanwhile."""
    for attempt in range(3):
        args = ["--cluster-enabled", "yes", "--cluster-port", str(free_port()), *extra]
        node: ServerProcess = OurServer(workdir, extra=args) if kind == "ours" else RealServer(workdir, extra=args)
        try:
            node.start(timeout=30)
            return node
        except RuntimeError as exc:
            if attempt == 2 or "in use" not in str(exc):
                raise
    raise AssertionError("unreachable")


def server_process(kind: str, port: int = 0) -> ServerProcess:
    """A server of the given kind ("bundled" or "redis-server") in a directory of its own."""
    if kind == "bundled":
        return OurServer(port=port)
    if kind == "redis-server":
        return RealServer(port=port)
    raise ValueError(f"unknown server kind {kind!r}")


def bundled_available() -> bool:
    return (ROOT / "server" / "__main__.py").exists()


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

    def is_reading(self):
        return False  # never paused or resumed by the server's fairness yield

    def resume_reading(self):
        pass
