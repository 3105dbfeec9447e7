"""`redistui launch`: connection flags, the bundled server's life cycle, and start-up failures."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from redistui import cli, embedded
from redistui.app import RedisTUI
from redistui.client import ConnectionSpec
from redistui.embedded import EmbeddedServer, EmbeddedServerError
from tests.servers import free_port


def spec_for(*argv: str) -> ConnectionSpec | None:
    return cli.connection_spec(cli.build_parser().parse_args(["launch", *argv]))


def test_no_connection_flag_means_the_bundled_server() -> None:
    assert spec_for() is None
    assert spec_for("--dir", "/tmp/x") is None
    assert spec_for("--bundled-port", "7000") is None
    # -p alone connects where redis-cli -p would, as -h and -u do
    assert spec_for("-p", "6390") == ConnectionSpec("127.0.0.1", 6390, 0)


def test_redis_cli_flags() -> None:
    spec = spec_for("-h", "db.example", "-p", "6390", "-a", "secret", "--user", "ann", "-n", "3", "--tls")
    assert spec == ConnectionSpec("db.example", 6390, 3, "ann", "secret", True)
    assert spec.display_url() == "rediss://ann:***@db.example:6390/3"


def test_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_for("--url", "redis://bob:pw@10.0.0.1:7000/5")
    assert (spec.host, spec.port, spec.db, spec.username, spec.password, spec.tls) == (
        "10.0.0.1",
        7000,
        5,
        "bob",
        "pw",
        False,
    )
    assert spec_for("-u", "rediss://h:1/0").tls
    unix = spec_for("--url", "unix:///run/redis.sock?db=2")
    assert unix.unix_socket == "/run/redis.sock" and unix.db == 2 and unix.address == "/run/redis.sock"
    assert spec_for("--url", "redis://h:1/0", "-n", "4").db == 4
    monkeypatch.setenv("REDISCLI_AUTH", "from-env")
    assert spec_for("-h", "h").password == "from-env"


def test_launch_with_a_url_starts_no_server(monkeypatch: pytest.MonkeyPatch, redis_server) -> None:
    ran: list[tuple[ConnectionSpec, bool]] = []
    monkeypatch.setattr(RedisTUI, "run", lambda self: ran.append((self.spec, self.embedded)))
    monkeypatch.setattr(embedded.EmbeddedServer, "start", lambda self: pytest.fail("must not start a server"))
    assert cli.main(["launch", "--url", redis_server.url]) == 0
    assert ran == [(ConnectionSpec.from_url(redis_server.url), False)]


def test_the_bundled_server_keeps_one_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert embedded.choose_port(None) == 6379
    assert embedded.choose_port(7001) == 7001
    # a port its last run left in TIME_WAIT is free again for a server (SO_REUSEADDR)
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server and ours listen
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: TIME_WAIT on the server's port
        client.close()
    assert embedded.port_is_free(port)


def test_default_data_dir_is_per_user() -> None:
    path = embedded.default_data_dir()
    assert path.name == "redistui" and str(Path.home()) in str(path) or "XDG" in str(path)


@pytest.mark.commands("SET", "SHUTDOWN")
def test_launch_runs_the_bundled_server_and_saves_on_exit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundled
) -> None:
    port = free_port()
    seen: list[ConnectionSpec] = []

    def fake_run(self: RedisTUI) -> None:  # stands in for the UI: use the server it was given
        seen.append(self.spec)
        assert self.embedded
        with redis.Redis(self.spec.host, self.spec.port) as conn:
            conn.set("persisted", "yes")

    monkeypatch.setattr(RedisTUI, "run", fake_run)
    assert cli.main(["launch", "--bundled-port", str(port), "--dir", str(tmp_path)]) == 0
    assert seen and seen[0].host == "127.0.0.1" and seen[0].port == port
    assert (tmp_path / "dump.rdb").exists(), "SHUTDOWN SAVE wrote the dataset"
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_connect_timeout=0.5).ping()


def test_keep_server_leaves_it_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundled) -> None:
    port = free_port()
    started: list[EmbeddedServer] = []
    original_start = EmbeddedServer.start

    def start(self: EmbeddedServer, timeout: float = 15.0) -> None:
        original_start(self, timeout)
        started.append(self.process)

    monkeypatch.setattr(EmbeddedServer, "start", start)
    monkeypatch.setattr(RedisTUI, "run", lambda self: None)
    try:
        assert cli.main(["launch", "--bundled-port", str(port), "--dir", str(tmp_path), "--keep-server"]) == 0
        assert started and started[0].poll() is None, "still running after the explorer exited"
        assert redis.Redis(port=port).ping()
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


def test_a_taken_port_is_explained_not_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bundled, redis_server
) -> None:
    """The bundled server keeps its port: when another program has it, say who and what to do."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["launch", "--bundled-port", str(port), "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} is taken by a program that is not a Redis server" in err
    assert f"redistui launch -p {port}" in err and "--bundled-port N" in err
    assert cli.main(["launch", "--bundled-port", str(redis_server.port), "--dir", str(tmp_path)]) == 1
    assert f"port {redis_server.port} is taken by redis-server 7" in capsys.readouterr().err


def test_a_running_bundled_server_of_the_same_directory_is_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], bundled
) -> None:
    running = EmbeddedServer(port=free_port(), data_dir=tmp_path)
    running.start()
    ran: list[tuple[int, bool]] = []
    monkeypatch.setattr(RedisTUI, "run", lambda self: ran.append((self.spec.port, self.embedded)))
    try:
        assert cli.main(["launch", "--bundled-port", str(running.port), "--dir", str(tmp_path)]) == 0
        assert ran == [(running.port, True)]
        assert "already running" in capsys.readouterr().err
        assert running.process is not None and running.process.poll() is None, "left running"
    finally:
        running.stop(save=False)


def test_embedded_server_error_carries_the_log(tmp_path: Path, bundled) -> None:
    server = EmbeddedServer(port=free_port(), data_dir=tmp_path, extra_args=["--no-such-option", "1"])
    with pytest.raises(EmbeddedServerError) as failure:
        server.start(timeout=10)
    assert failure.value.log_tail
    assert server.process is not None and server.process.poll() is not None


@pytest.mark.commands("SET", "GET", "SHUTDOWN")
def test_data_persists_between_launches(tmp_path: Path, bundled) -> None:
    first = EmbeddedServer(port=free_port(), data_dir=tmp_path)
    first.start()
    with redis.Redis(port=first.port) as conn:
        conn.set("kept", "across launches")
    first.stop(save=True)
    second = EmbeddedServer(port=free_port(), data_dir=tmp_path)
    second.start()
    try:
        with redis.Redis(port=second.port) as conn:
            assert conn.get("kept") == b"across launches"
    finally:
        second.stop(save=False)


def test_serve_runs_the_bundled_server_in_the_foreground(tmp_path: Path, bundled) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "redistui",
            "serve",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if redis.Redis(port=port, socket_connect_timeout=0.5).ping():
                    break
            except redis.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "redistui serve did not start"
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.commands("SET", "GET")
def test_a_crash_of_the_ui_still_saves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundled) -> None:
    port = free_port()

    def crashing_run(self: RedisTUI) -> None:
        with redis.Redis(self.spec.host, self.spec.port) as conn:
            conn.set("before-the-crash", "kept")
        raise RuntimeError("the UI fell over")

    monkeypatch.setattr(RedisTUI, "run", crashing_run)
    with pytest.raises(RuntimeError):
        cli.main(["launch", "--bundled-port", str(port), "--dir", str(tmp_path)])
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_connect_timeout=0.5).ping()
    again = EmbeddedServer(port=free_port(), data_dir=tmp_path)
    again.start()
    try:
        with redis.Redis(port=again.port) as conn:
            assert conn.get("before-the-crash") == b"kept"
    finally:
        again.stop(save=False)


def test_the_explorer_process_ends_at_once_after_it_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """From the command line, launch and open end the process with os._exit once the explorer is done
    (its server already stopped and saved): no interpreter teardown freeing a million keys one by one.
    Called with arguments (tests, embedding), main returns the status instead."""
    ended: list[int] = []

    class Ended(Exception):
        pass

    def fake_exit(code: int) -> None:
        ended.append(code)
        raise Ended

    monkeypatch.setattr(cli, "run_launch", lambda args: 0)
    monkeypatch.setattr(cli, "run_open", lambda args: 3)
    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["redistui", "launch", "-u", "redis://127.0.0.1:1/0"])
    with pytest.raises(Ended):
        cli.main()
    monkeypatch.setattr(sys, "argv", ["redistui", "open", "dump.rdb"])
    with pytest.raises(Ended):
        cli.main()
    assert ended == [0, 3]
    assert cli.main(["launch", "-u", "redis://127.0.0.1:1/0"]) == 0
    assert ended == [0, 3]
