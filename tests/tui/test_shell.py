"""`redistui shell` prints exactly what redis-cli prints, and behaves like a good shell.

The same script of commands goes through `redis-cli` and through our shell (stdin mode,
raw and `--no-raw`), each on a freshly flushed server; stdout must be byte-identical.
Interactive behaviour (completion, hints, confirmation, history) runs in a pseudo-terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from conftest_cmdline import *  # noqa: F403
from conftest_cmdline import ROOT, ServerHandle, needs

from tests.servers import RealServer, require_tool

SCRIPT = r"""
FLUSHALL
SET s "hello world"
GET s
GET nokey
SET bin "\x00\x01\xff\"q\\ \n\t\r\a\b"
GET bin
SET utf "caf\xc3\xa9"
GET utf
RPUSH l a "b c" "" "x\ny" 'single \'q\''
LRANGE l 0 -1
LRANGE nol 0 -1
INCR s
INCR n
INCRBY n -5
INCRBYFLOAT f 1.5
HSET h f1 v1 f2 v2
HGETALL h
HGET h nofield
SADD set m
SMEMBERS set
ZADD z 1 a 2.5 b
ZRANGE z 0 -1 WITHSCORES
ZSCORE z b
RPUSH big 1 2 3 4 5 6 7 8 9 10 11 12
LRANGE big 0 -1
MULTI
SET a 1
INCR a
LPUSH a x
EXEC
MGET s nokey n
EXISTS s nokey
TYPE h
DEL s n
PING
PING "with space"
ECHO "a\"b"
NOSUCHCOMMAND x
GET
SET k v EX notanumber
DBSIZE
"""


def run(
    argv: list[str], stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=stdin.encode(), capture_output=True, timeout=60, cwd=ROOT, env=env)


def shell_argv(server: ServerHandle, *args: str) -> list[str]:
    return [sys.executable, "-m", "redistui.shell", "-p", str(server.port), *args]


def redis_cli(server: ServerHandle, *args: str) -> list[str]:
    binary = require_tool("redis-cli")
    return [binary, "-p", str(server.port), *args]


STREAM_SCRIPT = r"""
FLUSHALL
XADD st 1-1 a 1 b 2
XADD st 2-1 c 3
XRANGE st - +
XREAD COUNT 2 STREAMS st 0
XLEN st
"""

SCRIPT_COMMANDS = sorted(
    {line.split()[0].upper() for line in SCRIPT.splitlines() if line.strip()} - {"NOSUCHCOMMAND"}
)


@needs(*SCRIPT_COMMANDS)
@pytest.mark.parametrize("mode", [[], ["--no-raw"], ["--raw"]], ids=["pipe", "no-raw", "raw"])
def test_stdin_script_matches_redis_cli(cmdline_server: ServerHandle, mode: list[str]) -> None:
    check_script(cmdline_server, mode, SCRIPT)


@needs("XADD", "XRANGE", "XREAD", "XLEN")
@pytest.mark.parametrize("mode", [[], ["--no-raw"]], ids=["pipe", "no-raw"])
def test_stream_replies_match_redis_cli(cmdline_server: ServerHandle, mode: list[str]) -> None:
    check_script(cmdline_server, mode, STREAM_SCRIPT)


def check_script(cmdline_server: ServerHandle, mode: list[str], script: str) -> None:
    expected = run(redis_cli(cmdline_server, *mode), script)
    ours = run(shell_argv(cmdline_server, *mode), script)
    assert ours.stderr == b""
    assert ours.stdout.decode("latin-1").splitlines() == expected.stdout.decode("latin-1").splitlines()
    assert ours.stdout == expected.stdout
    assert ours.returncode == expected.returncode


@needs("HGETALL", "INCR", "RPUSH", "HSET", "FLUSHALL")
@pytest.mark.parametrize(
    "command",
    [
        ["GET", "k"],
        ["HGETALL", "h"],
        ["INCR", "k"],
    ],
    ids=lambda c: " ".join(c),
)
def test_one_shot_matches_redis_cli(cmdline_server: ServerHandle, command: list[str]) -> None:
    client = cmdline_server.client()
    client.flushall()
    client.set("k", 'a "quoted"\nvalue')
    client.rpush("l", "x", "y z")
    client.hset("h", mapping={"f": "1", "g": "\x00"})
    for mode in ([], ["--no-raw"]):
        expected = run(redis_cli(cmdline_server, *mode, *command)).stdout
        assert run(shell_argv(cmdline_server, *mode, *command)).stdout == expected
    client.close()


@needs("INFO", "CLIENT")
@pytest.mark.parametrize("command", [["INFO", "keyspace"], ["CLIENT", "LIST"]], ids=" ".join)
def test_reports_print_as_text_like_redis_cli(cmdline_server: ServerHandle, command: list[str]) -> None:
    """redis-cli prints INFO, CLIENT LIST … as their text (not one quoted string), raw or not."""
    for mode in ([], ["--no-raw"]):
        expected = run(redis_cli(cmdline_server, *mode, *command)).stdout
        ours = run(shell_argv(cmdline_server, *mode, *command)).stdout
        if command[0] == "CLIENT":  # each process is another client: compare the shape
            expected, ours = expected.split(b" id=")[0][:3], ours.split(b" id=")[0][:3]
        assert ours == expected


@needs("INCR", "DEL")
def test_repeat_and_interval(cmdline_server: ServerHandle) -> None:
    cmdline_server.client().delete("counter")
    ours = run(shell_argv(cmdline_server, "-r", "3", "-i", "0.01", "INCR", "counter"))
    assert ours.stdout == b"1\n2\n3\n"


@needs("SELECT", "SET", "GET")
def test_url_and_db_flags(cmdline_server: ServerHandle) -> None:
    client = cmdline_server.client(db=2)
    client.set("indb2", "yes")
    url = f"redis://127.0.0.1:{cmdline_server.port}/2"
    assert run([sys.executable, "-m", "redistui.shell", "-u", url, "GET", "indb2"]).stdout == b"yes\n"
    assert run(shell_argv(cmdline_server, "-n", "2", "GET", "indb2")).stdout == b"yes\n"
    assert run(shell_argv(cmdline_server, "GET", "indb2")).stdout == b"\n"
    client.close()


def test_connection_refused_is_reported_like_redis_cli() -> None:
    from tests.servers import free_port

    port = free_port()
    ours = run([sys.executable, "-m", "redistui.shell", "-p", str(port), "PING"])
    assert ours.returncode == 1
    assert ours.stderr.decode().startswith(
        f"Could not connect to Redis at 127.0.0.1:{port}: Connection refused"
    )


@needs("SUBSCRIBE", "PUBLISH")
def test_subscribe_streams_messages(cmdline_server: ServerHandle) -> None:
    proc = subprocess.Popen(shell_argv(cmdline_server, "SUBSCRIBE", "chan"), stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"subscribe\n"
        publisher = cmdline_server.client()
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines == [b"chan\n", b"1\n"]
        publisher.publish("chan", "hello")
        assert [proc.stdout.readline() for _ in range(3)] == [b"message\n", b"chan\n", b"hello\n"]
        publisher.close()
    finally:
        proc.terminate()
        proc.wait(timeout=5)


# --- interactive, through a pseudo-terminal -------------------------------------------


@pytest.fixture
def pty_shell(cmdline_server: ServerHandle, tmp_path: Path):
    env = {
        **os.environ,
        "REDISTUI_HISTORY": str(tmp_path / "history"),
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "TERM": "xterm",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "redistui.shell", "-p", str(cmdline_server.port)],
        env=env,
        cwd=str(ROOT),
        dimensions=(30, 120),
        timeout=10,
    )
    child.logfile_read = open(tmp_path / "pty.log", "wb")  # noqa: SIM115 - read when a test fails
    child.expect_exact(f"127.0.0.1:{cmdline_server.port}>")
    cmdline_server.client().flushall()
    yield child, tmp_path / "history"
    child.terminate(force=True)


def config_get_summary(server: ServerHandle) -> str:
    """The server's own summary of CONFIG GET (the bundled server words it differently)."""
    from redistui.commands import load_command_table
    from redistui.shell import TypedClient

    client = TypedClient({"host": server.host, "port": server.port})
    try:
        return load_command_table(client.execute).get("CONFIG").subcommands["GET"].summary  # type: ignore[union-attr]
    finally:
        client.close()


@needs("COMMAND", "CONFIG", "SCAN", "AUTH", "SELECT", "INFO", "FLUSHALL", "ECHO")
def test_interactive_session(pty_shell, cmdline_server: ServerHandle) -> None:
    child, history = pty_shell
    child.send("SET greeting hello\r")
    child.expect_exact("OK")
    child.send("GET greeting\r")
    child.expect_exact('"hello"')
    child.send("help getex\r")
    child.expect_exact("summary:")
    # the completion menu offers the subcommand with its summary; Tab takes it
    child.send("CONFIG GE")
    child.expect_exact(config_get_summary(cmdline_server)[:30])
    child.send("\t maxmemory-policy\r")
    child.expect_exact('"maxmemory-policy"')
    # key completion
    child.send("GET gree")
    child.expect_exact("greeting")
    child.send("\t\r")
    child.expect_exact('"hello"')
    # a password never reaches the history file
    child.send("AUTH secret\r")
    child.send("ECHO after-auth\r")
    child.expect_exact('"after-auth"')
    # SELECT shows in the prompt
    child.send("SELECT 3\r")
    child.expect_exact(f"127.0.0.1:{cmdline_server.port}[3]>")
    child.sendeof()
    child.expect(__import__("pexpect").EOF)
    text = history.read_text()
    assert "+SET greeting hello" in text
    assert "AUTH" not in text and "secret" not in text


@needs("COMMAND", "FLUSHALL", "INFO")
def test_dangerous_command_asks_first(pty_shell, cmdline_server: ServerHandle) -> None:
    child, _ = pty_shell
    child.send("SET keep me\r")
    child.expect_exact("OK")
    child.send("FLUSHALL\r")
    child.expect_exact("Run it? [y/N]")
    child.send("n\r")
    child.expect_exact("(cancelled)")
    assert cmdline_server.client().get("keep") == b"me"
    child.send("FLUSHALL\r")
    child.expect_exact("Run it? [y/N]")
    child.send("y\r")
    child.expect_exact("OK")
    assert cmdline_server.client().get("keep") is None


def test_offers_to_start_the_bundled_server(tmp_path: Path) -> None:
    from tests.servers import free_port

    port = free_port()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "REDISTUI_HISTORY": str(tmp_path / "h"),
           "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}  # fmt: skip
    child = pexpect.spawn(
        sys.executable, ["-m", "redistui.shell", "-p", str(port)], env=env, cwd=str(ROOT),
        dimensions=(30, 120), timeout=20,
    )  # fmt: skip
    child.logfile_read = open(tmp_path / "pty.log", "wb")  # noqa: SIM115 - read when the test fails
    try:
        child.expect_exact("Start the bundled server? [Y/n]")
        child.send("y\r")
        child.expect_exact(f"127.0.0.1:{port}>")
        child.send("PING\r")
        child.expect_exact("PONG")
        child.expect_exact(f"127.0.0.1:{port}>")  # Ctrl-D before the prompt is back would hit a cooked tty
        child.sendeof()
        child.expect(
            pexpect.EOF, timeout=90
        )  # the bundled server takes a few seconds to exit, more under load
    finally:
        child.terminate(force=True)
    import socket

    with socket.socket() as probe:  # the bundled server stopped with the shell
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@needs("ACL", "AUTH")
def test_auth_flags_and_messages_match_redis_cli(cmdline_server: ServerHandle) -> None:
    admin = cmdline_server.client()
    admin.execute_command("ACL", "SETUSER", "tester", "on", ">pw", "~*", "+@all")
    try:
        for flags in (
            ["--user", "tester", "-a", "pw", "ACL", "WHOAMI"],
            ["--user", "tester", "-a", "wrong", "ACL", "WHOAMI"],
        ):
            expected = run(redis_cli(cmdline_server, *flags))
            ours = run(shell_argv(cmdline_server, *flags))
            assert (ours.stdout, ours.stderr) == (expected.stdout, expected.stderr), flags
        quiet = run(
            shell_argv(cmdline_server, "--no-auth-warning", "--user", "tester", "-a", "pw", "ACL", "WHOAMI")
        )
        assert (quiet.stdout, quiet.stderr) == (b"tester\n", b"")
        url = f"redis://tester:pw@127.0.0.1:{cmdline_server.port}/0"
        ours = run([sys.executable, "-m", "redistui.shell", "-u", url, "ACL", "WHOAMI"])
        assert ours.stdout == b"tester\n"
        env = {**os.environ, "REDISCLI_AUTH": "pw"}
        ours = run(shell_argv(cmdline_server, "--user", "tester", "ACL", "WHOAMI"), env=env)
        assert (ours.stdout, ours.stderr) == (b"tester\n", b"")
    finally:
        admin.execute_command("ACL", "DELUSER", "tester")
        admin.close()


@needs("MONITOR", "SET")
def test_monitor_streams_lines(cmdline_server: ServerHandle) -> None:
    proc = subprocess.Popen(shell_argv(cmdline_server, "MONITOR"), stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"OK\n"
        client = cmdline_server.client()
        client.set("watched-by-monitor", "1")
        line = proc.stdout.readline()
        while b"watched-by-monitor" not in line:
            line = proc.stdout.readline()
        assert b'"set" "watched-by-monitor" "1"' in line.lower()  # the command's case is the client's
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_tls_flags(tmp_path: Path) -> None:
    require_tool("redis-server")
    from tests.servers import free_port, tls_args, write_certs

    certs = write_certs(tmp_path)
    port = free_port()
    server = RealServer(tmp_path, unix_socket=tmp_path / "redis.sock",
                        extra=["--port", "0", "--tls-port", str(port), *tls_args(certs)])
    server.start()
    try:
        ca_file = str(certs["ca"])
        deadline = time.monotonic() + 10
        while True:
            ours = run(
                [
                    sys.executable,
                    "-m",
                    "redistui.shell",
                    "--tls",
                    "-p",
                    str(port),
                    "--cacert",
                    ca_file,
                    "PING",
                ]
            )
            if ours.stdout == b"PONG\n" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert ours.stdout == b"PONG\n"
        url = f"rediss://127.0.0.1:{port}/0"
        assert (
            run([sys.executable, "-m", "redistui.shell", "-u", url, "--cacert", ca_file, "PING"]).stdout
            == b"PONG\n"
        )
        insecure = run(
            [sys.executable, "-m", "redistui.shell", "--tls", "--insecure", "-p", str(port), "PING"]
        )
        assert insecure.stdout == b"PONG\n"
        unverified = run([sys.executable, "-m", "redistui.shell", "--tls", "-p", str(port), "PING"])
        assert unverified.returncode == 1 and b"Could not connect" in unverified.stderr
    finally:
        server.stop()


def test_unix_socket(tmp_path: Path) -> None:
    require_tool("redis-server")
    sock = tmp_path / "redis.sock"
    server = RealServer(tmp_path, unix_socket=sock, extra=["--port", "0"])
    server.start()
    try:
        base = [sys.executable, "-m", "redistui.shell"]
        assert run([*base, "-s", str(sock), "SET", "k", "v"]).stdout == b"OK\n"
        assert run([*base, "-u", f"unix://{sock}", "GET", "k"]).stdout == b"v\n"
    finally:
        server.stop()


@pytest.mark.parametrize("bracketed", [True, False], ids=["bracketed-paste", "plain-paste"])
def test_pasted_lines_run_one_command_each(cmdline_server: ServerHandle, tmp_path: Path, bracketed: bool) -> None:
    """Two pasted SADD lines are two commands, as in redis-cli (a real terminal: tmux)."""
    from tmux_term import Terminal

    client = cmdline_server.client()
    client.delete("pset")
    command = f"{sys.executable} -m redistui.shell -p {cmdline_server.port}"
    env = {"PYTHONPATH": str(ROOT), "REDISTUI_HISTORY": str(tmp_path / "history"), "TERM": "xterm-256color"}
    with Terminal(f"cd {ROOT} && {command}", cols=100, rows=20, env=env) as term:
        term.wait_for(f"127.0.0.1:{cmdline_server.port}>")
        term.paste("SADD pset a\nSADD pset b\nSCARD pse", bracketed=bracketed)
        screen = term.wait_for(lambda s: s.count("(integer) 1") == 2)
        assert client.smembers("pset") == {b"a", b"b"}
        term.type("t")  # the unfinished last line waits at the prompt
        term.keys("Enter")
        screen = term.wait_for("(integer) 2")
    assert "SADD pset b" in screen
    assert client.smembers("pset") == {b"a", b"b"}
