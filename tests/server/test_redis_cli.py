"""redis-cli against our server: ordinary commands and ``--pipe`` mass insertion."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.servers import real_server_available


@pytest.fixture(scope="module")
def cli():
    real_server_available(require=True)
    path = shutil.which("redis-cli")
    assert path, "redis-cli comes with redis-tools"
    return path


def run(cli, port, *args, stdin=None):
    out = subprocess.run([cli, "-p", str(port), *args], input=stdin, capture_output=True, timeout=120)
    return out.returncode, out.stdout


def test_redis_cli_commands(cli, ours, r):
    assert run(cli, ours.port, "SET", "greeting", "hello world") == (0, b"OK\n")
    assert run(cli, ours.port, "GET", "greeting") == (0, b"hello world\n")
    assert run(cli, ours.port, "INCR", "n") == (0, b"1\n")
    assert run(cli, ours.port, "GET", "missing") == (0, b"\n")
    code, out = run(cli, ours.port, "NOSUCH")
    assert b"unknown command" in out


def test_redis_cli_pipe_mass_insertion(cli, ours, r):
    count = 100_000
    payload = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(k), k, len(v), v)
        for k, v in ((b"mass:%d" % i, b"value-%d" % i) for i in range(count))
    )
    code, out = run(cli, ours.port, "--pipe", stdin=payload)
    assert code == 0, out
    assert b"errors: 0, replies: %d" % count in out
    assert r.dbsize() == count
    assert r.get("mass:99999") == b"value-99999"
