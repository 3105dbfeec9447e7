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
from tests.servers import ROOT, free_port

ENV = {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLORTERM": "truecolor"}


def launch_command(port: int, data_dir: Path) -> str:
    return f"cd {ROOT} && exec {sys.executable} -m redistui launch -p {port} --dir {data_dir}"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not gone(pid):
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
    assert "Redis is now ready to exit" in (tmp_path / "server.log").read_text()
    server = EmbeddedServer(port=free_port(), data_dir=tmp_path)
    server.start()
    try:
        with redis.Redis(port=server.port) as conn:
            assert conn.get("written-just-before") == ending.encode()
    finally:
        server.stop(save=False)
