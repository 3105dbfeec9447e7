"""``redistui open`` (issue 20): a dump file loaded by a private server over a Unix socket,
explored read-only, saved as a copy; damaged files opened up to their damage; never modified."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, Tree

from redistui.client import ConnectionSpec
from redistui.dumpfile import OpenError, PrivateServer, detect
from redistui.screens.analysis import AnalysisScreen
from redistui.screens.dialogs import ConfirmDialog, FormDialog
from redistui.screens.opening import DumpFileApp
from tests.dumpfile.conftest import Written
from tests.servers import server_process
from tests.tui.tui_helpers import notified, record_notifications


def sha(path: Path) -> str:
    if path.is_dir():
        return "".join(sha(p) for p in sorted(path.iterdir()))
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def wait(pilot: Pilot, condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        await pilot.pause(0.05)


def listeners_of(pid: int) -> str:
    """The TCP sockets the process listens on (from /proc: no tool needed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # state LISTEN
                listening.append(parts[1])
    return " ".join(listening)


def test_private_server_loads_rdb_read_only_on_a_socket_only(rdb_file: Written, tmp_path: Path) -> None:
    path = tmp_path / "data.rdb"
    shutil.copyfile(rdb_file.path, path)
    before = sha(path)
    with PrivateServer(path) as private:
        private.wait_ready(60)
        assert private.process is not None
        assert listeners_of(private.process.pid) == ""  # no TCP port
        with private.client() as conn:
            info = conn.info("keyspace")
            assert {int(db[2:]): v["keys"] for db, v in info.items()} == {
                db: n for db, n in rdb_file.dbsize.items() if n
            }
            with pytest.raises(redis.exceptions.NoPermissionError):
                conn.set("new", "value")
            with pytest.raises(redis.exceptions.NoPermissionError):
                conn.flushall()
            conn.execute_command("ACL", "SETUSER", "default", "+@write")
            conn.set("new", "value")
        copy = private.save_as(tmp_path / "copy.rdb")
        with pytest.raises(OpenError):
            private.save_as(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.rdb", "data.rdb"]  # nothing else written
    assert sha(path) == before
    check = server_process("redis-server")
    check.workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(copy, check.workdir / "dump.rdb")
    check.start()
    try:
        with check.client() as conn:
            assert conn.get("new") == b"value"
            assert conn.dbsize() == rdb_file.dbsize[0] + 1
    finally:
        check.stop()


def test_detect_kinds(aof_dir: Written, rdb_file: Written, tmp_path: Path) -> None:
    assert detect(rdb_file.path).kind == "rdb"
    assert detect(aof_dir.path).kind == "aof-dir"
    manifest = next(aof_dir.path.glob("*.manifest"))
    assert detect(manifest) == detect(aof_dir.path)
    single = tmp_path / "appendonly.aof"
    single.write_bytes(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    assert detect(single).kind == "aof-file"
    with pytest.raises(OpenError):
        detect(tmp_path / "missing.rdb")


def test_aof_directory_and_single_file_open_unchanged(aof_dir: Written, tmp_path: Path) -> None:
    copy = tmp_path / "aof"
    shutil.copytree(aof_dir.path, copy)
    before = sha(copy)
    with PrivateServer(copy) as private:
        private.wait_ready(60)
        with private.client() as conn:
            assert conn.dbsize() == aof_dir.dbsize[0]
            conn.select(1)
            assert conn.dbsize() == 80
    assert sha(copy) == before
    single = tmp_path / "single.aof"
    single.write_bytes(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$3\r\nSET")
    before = sha(single)  # a truncated tail: loaded anyway from the copy, the file left as it is
    with PrivateServer(single) as private:
        private.wait_ready(60)
        with private.client() as conn:
            assert conn.get("k") == b"v"
    assert sha(single) == before


def test_truncated_rdb_opens_with_partial_content_and_offset(rdb_file: Written, tmp_path: Path) -> None:
    whole = rdb_file.path.read_bytes()
    damaged = tmp_path / "truncated.rdb"
    damaged.write_bytes(whole[: len(whole) // 2])
    before = sha(damaged)
    with PrivateServer(damaged) as private:
        private.wait_ready(60)
        assert private.damage is not None
        assert private.damage.offset <= len(whole) // 2
        from redistui.analysis import analyse_file

        report = analyse_file(damaged)
        with private.client() as conn:
            loaded = sum(v["keys"] for v in conn.info("keyspace").values())
        assert 0 < loaded == report.keys - report.by_ttl.get("expired", [0])[0]
    assert sha(damaged) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truncated.rdb"]


async def test_open_flow_read_only_explorer_analysis_and_save_as(rdb_file: Written, tmp_path: Path) -> None:
    path = tmp_path / "data.rdb"
    shutil.copyfile(rdb_file.path, path)
    before = sha(path)
    private = PrivateServer(path)
    private.start()
    app = DumpFileApp(private)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: app.connected and app.browser.scan_done)
            banner = app.query_one("#file-banner", Static)
            assert "READ-ONLY" in str(banner.render())
            assert app.first_keys_at is not None  # the loading screen listed keys from the file
            await wait(pilot, lambda: app.file_report is not None)
            # Writes are refused, with the reason.
            await pilot.press("n")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, FormDialog)
            assert any("read-only" in n.message for n in app._notifications)
            # So are writes typed on the command line (the server's ACL), with the same words.
            app.action_focus_command_line()
            app.main_screen.query_one("#cmd-input", Input).value = "SET typed value"
            await pilot.press("enter")
            await wait(pilot, lambda: sum("read-only" in n.message for n in app._notifications) >= 2)
            # The analysis screen opens on the finished analysis of the file.
            await pilot.press("f6")
            await wait(pilot, lambda: isinstance(app.screen, AnalysisScreen) and app.screen.report is not None)
            screen = app.screen
            assert isinstance(screen, AnalysisScreen)
            head = str(screen.query_one("#analysis-head", Static).render())
            assert "serialized bytes" in head
            tree = screen.query_one("#prefix-tree", Tree)
            labels = [str(node.label) for node in tree.root.children]
            assert any(label.startswith("user") and "80 keys" in label for label in labels)
            await pilot.press("escape")
            await wait(pilot, lambda: not isinstance(app.screen, AnalysisScreen))
            # Allow edits, write, save as.
            app.action_allow_edits()
            await wait(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await wait(pilot, lambda: not app.read_only)
            await app.client.execute("SET", "edited", "yes")
            target = tmp_path / "edited.rdb"
            app.action_save_as()
            await wait(pilot, lambda: isinstance(app.screen, FormDialog))
            app.screen.query_one(Input).value = str(target)
            await pilot.press("enter")
            await wait(pilot, lambda: target.exists())
    finally:
        private.stop()
    assert sha(path) == before
    check = PrivateServer(target)
    with check:
        check.wait_ready(60)
        with check.client() as conn:
            assert conn.get("edited") == b"yes"


async def test_analysis_screen_against_a_live_server_and_cancel(rdb_file: Written) -> None:
    from textual.app import App

    from tests.dumpfile.dataset import populate

    process = server_process("redis-server")
    process.start()
    try:
        with process.client(single_connection_client=True) as conn:
            populate(conn)

        class Host(App[None]):
            def on_mount(self) -> None:
                self.push_screen(AnalysisScreen(spec=ConnectionSpec(port=process.port)))

        app = Host()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: isinstance(app.screen, AnalysisScreen) and app.screen.report is not None)
            screen = app.screen
            assert isinstance(screen, AnalysisScreen) and screen.report is not None
            assert screen.report.keys == 102 and screen.report.complete
            assert "MEMORY USAGE" in str(screen.query_one("#analysis-head", Static).render())
            biggest = screen.query_one("#biggest", DataTable)
            assert biggest.row_count == 100
            # Sorting the tree by key count puts "user" (80 keys) first.
            await pilot.press("s")
            assert str(screen.query_one("#prefix-tree", Tree).root.children[0].label).startswith("user")
            # Rerun and cancel at once: a partial report, said so.
            screen.action_restart()
            screen.action_cancel_or_close()
            await wait(pilot, lambda: not screen.running)
            assert screen.report.cancelled or screen.report.complete
    finally:
        process.stop()


@pytest.mark.parametrize("kind", ["redis-server", "bundled"])
def test_unixsocketperm_is_octal_and_port_0_opens_no_tcp_port(kind: str, tmp_path: Path) -> None:
    """What ``redistui open`` relies on, as redis-server does it: ``--unixsocketperm 700`` is
    octal, and ``--port 0`` with a socket means no TCP listener."""
    process = server_process(kind)
    process.unix_socket = tmp_path / "s.sock"
    process.extra = ["--unixsocketperm", "700"]
    process.start()
    try:
        with process.client() as conn:
            assert conn.config_get("unixsocketperm") == {"unixsocketperm": "700"}
    finally:
        process.stop()
    process.extra = ["--port", "0"]  # after the fixture's own --port: the later option wins
    process.start()
    try:
        assert process.proc is not None
        assert listeners_of(process.proc.pid) == ""
        with process.client() as conn:
            assert conn.ping()
    finally:
        process.stop()


async def test_damaged_file_opens_with_its_damage_on_the_banner(rdb_file: Written, tmp_path: Path) -> None:
    whole = rdb_file.path.read_bytes()
    damaged = tmp_path / "truncated.rdb"
    damaged.write_bytes(whole[: len(whole) // 2])
    before = sha(damaged)
    private = PrivateServer(damaged)
    private.start()
    app = DumpFileApp(private)
    # Recorded as notified: on a loaded machine the toast can time out before the scan ends.
    seen = record_notifications(app)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: app.connected and app.browser.scan_done)
            assert private.damage is not None
            banner = str(app.query_one("#file-banner", Static).render())
            assert f"DAMAGED at offset {private.damage.offset}" in banner
            assert notified(seen, f"damaged at offset {private.damage.offset}", "error")
            assert len(app.browser.index) > 0  # the keys read before the damage
    finally:
        private.stop()
    assert sha(damaged) == before
