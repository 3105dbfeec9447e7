"""The explorer in a real terminal (tmux): how it ends, and what it lets reach the terminal."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import redis
from tmux_term import Terminal

from redistui.embedded import EmbeddedServer
from tests.servers import ROOT, free_port, process_alive

ENV = {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLORTERM": "truecolor"}


def launch_command(port: int, data_dir: Path) -> str:
    return f"cd {ROOT} && exec {sys.executable} -m redistui launch --bundled-port {port} --dir {data_dir}"


def wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.05)


@pytest.mark.commands("SET", "GET", "SHUTDOWN")
@pytest.mark.parametrize("ending", ["quit", "hangup", "sigterm", "sigkill"])
def test_every_ending_saves_the_bundled_server(tmp_path: Path, ending: str, bundled) -> None:
    """However the explorer ends, a key written just before is there at the next launch."""
    port = free_port()
    with Terminal(launch_command(port, tmp_path), env=ENV) as term:
        term.wait_for(lambda screen: "Keys" in screen and "Value" in screen)
        ui_pid = term.pane_pid()
        with redis.Redis(port=port) as conn:
            server_pid = int(conn.info("server")["process_id"])
            conn.set("written-just-before", ending)
        if ending == "quit":
            term.keys("C-q")
        elif ending == "hangup":
            term.hang_up()  # the terminal window closes: SIGHUP to the explorer
        elif ending == "sigterm":
            os.kill(ui_pid, signal.SIGTERM)
        else:
            os.kill(ui_pid, signal.SIGKILL)  # the UI dies without a word (the OOM killer)
        wait_gone(server_pid)
        if ending != "quit":
            wait_gone(ui_pid)  # the explorer itself ends too, never lingering without its terminal
    if ending == "quit":
        wait_gone(ui_pid)  # after quitting, closing the terminal leaves no explorer running
    assert "Redis is now ready to exit" in (tmp_path / "server.log").read_text()
    server = EmbeddedServer(port=free_port(), data_dir=tmp_path)
    server.start()
    try:
        with redis.Redis(port=server.port) as conn:
            assert conn.get("written-just-before") == ending.encode()
    finally:
        server.stop(save=False)


CONTROLS = bytes(range(0x20)) + bytes(range(0x7F, 0xA0))


def test_control_bytes_never_reach_the_terminal(redis_server) -> None:
    """Keys and values with every C0/DEL/C1 byte leave the title and the screen intact, shown escaped."""
    with redis.Redis(port=redis_server.port) as conn:
        conn.flushall()
        conn.set(b"a:esc\x1b]0;PWNED\x07k", b"v\x1b[2J\x1b[Hwiped")
        conn.set(b"all" + CONTROLS, b"x")
        conn.hset(b"b:hash", mapping={b"f\x1b]2;PWNED2\x07": b"\x1b[2J\x1b]52;c;cHduZWQ=\x07val"})
    command = f"cd {ROOT} && exec {sys.executable} -m redistui launch -u redis://127.0.0.1:{redis_server.port}/0"
    try:
        with Terminal(command, env=ENV) as term:
            title = term.title()
            screen = term.wait_for(lambda s: "esc\\x1b]0;PWNED\\ak" in s or "a:" in s)
            term.keys("v")  # flat list: every key on its own line
            screen = term.wait_for("a:esc\\x1b]0;PWNED\\ak")
            assert "all\\x00\\x01\\x02\\x03" in screen
            term.keys("Home", "Enter")  # open the first key: its value clears the screen if sent raw
            term.wait_for("format: hex")
            term.keys("f")  # hex → text
            screen = term.wait_for("v\\x1b[2J\\x1b[Hwiped")
            term.keys("End", "Enter")  # the hash
            screen = term.wait_for(lambda s: "f\\x1b]2;PWNED2\\a" in s and "\\x1b]52;c;cHduZWQ=" in s)
            assert "PWNED" not in term.title() and term.title() == title
            assert "╭─ Keys" in screen and "Value" in screen  # nothing wiped the UI
            term.keys("C-q")
    finally:
        with redis.Redis(port=redis_server.port) as conn:
            conn.flushall()
