"""A server loading its data set answers as Redis does (issue 20): INFO persistence shows the
progress (loading_* fields), other commands get -LOADING, SHUTDOWN stops the load."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from redistui.dumpfile import PrivateServer
from tests.servers import OurServer, server_process


@pytest.fixture(scope="module")
def big_rdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300,000 keys with compressed values: long enough to load that a client sees it loading."""
    maker = server_process("redis-server")
    maker.start()
    try:
        with maker.client() as conn:
            conn.execute_command("DEBUG", "POPULATE", 300_000, "key", 100)  # LZF values: the slower path
            conn.save()
        target = tmp_path_factory.mktemp("big") / "big.rdb"
        shutil.copyfile(maker.workdir / "dump.rdb", target)
    finally:
        maker.stop()
    return target


def info_and_get(path: Path) -> tuple[dict[str, str], bytes]:
    """INFO persistence and a GET sent in one write on a raw socket, so both are answered in the
    same state (redis-py would treat -LOADING as a lost connection and retry)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(b"*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("closed")
            data += chunk
            if data.startswith(b"$"):
                header, _, rest = data.partition(b"\r\n")
                size = int(header[1:])
                if len(rest) >= size + 2 and rest[size + 2:].endswith(b"\r\n"):
                    body, second = rest[:size], rest[size + 2:]
                    break
    info = dict(line.split(":", 1) for line in body.decode().splitlines() if ":" in line)
    return info, second.rstrip(b"\r\n").split(b"\r\n")[0]


def test_info_shows_loading_progress_and_other_commands_get_loading(big_rdb: Path) -> None:
    size = big_rdb.stat().st_size
    with PrivateServer(big_rdb) as private:
        seen: list[dict[str, str]] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                info, got = info_and_get(private.socket)
            except OSError:
                time.sleep(0.02)  # not listening yet
                continue
            if info["loading"] == "0":
                break
            seen.append(info)
            assert got == b"-LOADING Redis is loading the dataset in memory"
            time.sleep(0.02)
        assert seen, "the server never answered INFO while loading"
        first = seen[0]
        assert int(first["loading_total_bytes"]) == size
        assert 0 <= int(first["loading_loaded_bytes"]) <= size
        assert [name for name in first if name.startswith("loading_")] == [
            "loading_start_time", "loading_total_bytes", "loading_rdb_used_mem", "loading_loaded_bytes",
            "loading_loaded_perc", "loading_eta_seconds",
        ]  # Redis's fields, in its order
        assert first["async_loading"] == "0"
        assert int(seen[-1]["loading_loaded_bytes"]) >= int(first["loading_loaded_bytes"])
        private.wait_ready(120)
        with private.client() as conn:
            assert conn.dbsize() == 300_000
            assert "loading_total_bytes" not in conn.info("persistence")


def test_shutdown_during_the_load_stops_it_without_saving(big_rdb: Path, tmp_path: Path) -> None:
    shutil.copyfile(big_rdb, tmp_path / "dump.rdb")
    before = (tmp_path / "dump.rdb").stat().st_mtime_ns
    sock = tmp_path / "s.sock"
    # A save point: SHUTDOWN would save, but never a half-loaded data set. Port 0: the socket only.
    process = OurServer(tmp_path, extra=["--save", "1 1"], port=0, unix_socket=sock)
    proc = subprocess.Popen(process.command(), cwd=tmp_path, env=process.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "never saw the server loading"
            try:
                with redis.Redis(unix_socket_path=str(sock), socket_timeout=5) as conn:
                    if conn.info("persistence")["loading"] == 1:
                        try:
                            conn.shutdown()
                        except redis.ConnectionError:
                            pass  # the server closes the connection as it exits
                        break
            except (redis.ConnectionError, FileNotFoundError):
                pass  # not listening yet
            time.sleep(0.02)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "dump.rdb").stat().st_mtime_ns == before


async def test_explorer_shows_progress_and_first_keys_while_the_server_loads(big_rdb: Path) -> None:
    """The loading screen: the server's progress (from INFO), the analysis pass's, and the first
    keys of the file, all before the server has finished loading."""
    from textual.widgets import DataTable, ProgressBar, Static

    from redistui.screens.opening import DumpFileApp, LoadingScreen

    # Redis's key-load-delay (1 µs slept once per 8 keys on average) keeps the load going for a
    # few seconds however fast or idle the machine is, so the screen is seen mid-load every time.
    private = PrivateServer(big_rdb, server_options=["--key-load-delay", "-8"])
    private.start()
    app = DumpFileApp(private)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            seen_server_progress = seen_keys = False
            deadline = time.monotonic() + 120
            while not app.connected:
                assert time.monotonic() < deadline
                screen = app.screen
                if isinstance(screen, LoadingScreen):
                    status = str(screen.query_one("#server-status", Static).render())
                    if status.startswith("server: loading") and " of " in status:
                        seen_server_progress = True
                        assert (screen.query_one("#server-bar", ProgressBar).progress or 0) > 0
                    if screen.query_one("#first-keys", DataTable).row_count:
                        seen_keys = True
                await pilot.pause(0.02)
            assert seen_server_progress and seen_keys
            assert app.first_keys_at is not None and app.first_keys_at < app.loading_seconds
    finally:
        private.stop()
