"""Secrets and access: user definitions Redis refuses, passwords kept out of SLOWLOG and ``ps``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import redis

from tests.servers import OurServer, RealServer, free_port, require_tool

ROOT = Path(__file__).resolve().parent.parent.parent


def _log_messages(output: bytes) -> list[bytes]:
    """Log lines without the ``pid:M date`` prefix: ``# text``."""
    messages = []
    for line in output.splitlines():
        parts = line.split(b" ", 5)
        if len(parts) == 6 and parts[0].endswith((b":M", b":C")):
            messages.append(parts[5])
    return messages


def test_quoted_user_definition_refuses_to_start(tmp_path):
    """``--user "default on >pw ~* +@all"`` is one word, so a user name with spaces: Redis
    logs why and exits rather than start with ``default`` open; so do we."""
    spec = "default on >pw ~* +@all"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    ours = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(free_port()), "--save", "", "--dir", str(tmp_path),
         "--user", spec], capture_output=True, timeout=30, env=env, cwd=tmp_path,
    )
    real = subprocess.run(
        [require_tool("redis-server"), "--port", str(free_port()), "--save", "", "--dir", str(tmp_path),
         "--user", spec], capture_output=True, timeout=30, cwd=tmp_path,
    )
    assert real.returncode == 1 and ours.returncode == 1, ours.stdout + ours.stderr
    expected = [b"# Spaces not allowed in ACL usernames", b"# Critical error while loading ACLs. Exiting."]
    assert _log_messages(real.stdout)[-2:] == expected
    assert _log_messages(ours.stdout)[-2:] == expected


def test_requirepass_not_visible_in_ps(tmp_path):
    """Redis rewrites its process title to ``{title} {listen-addr} {server-mode}``: the
    command line in /proc (what ``ps`` shows) no longer holds ``--requirepass``'s value."""
    server = OurServer(tmp_path / "ours", extra=["--requirepass", "hunter2-secret"])
    real = RealServer(tmp_path / "real", extra=["--requirepass", "hunter2-secret"])
    server.start()
    real.start()
    try:
        for proc, port in ((server.proc, server.port), (real.proc, real.port)):
            assert proc is not None
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
            assert b"hunter2-secret" not in cmdline
            assert cmdline.rstrip(b"\0").endswith(b" 127.0.0.1:%d" % port) or b"*:%d" % port in cmdline, cmdline
        client = redis.Redis(port=server.port, password="hunter2-secret")
        assert client.ping()
        client.close()
    finally:
        server.stop()
        real.stop()
