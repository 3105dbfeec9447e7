"""The scripting shortcuts agree with the full checks they skip.

``Engine._call`` finds the usual ``redis.call`` command in ``Engine.script_commands`` and skips
``_checked_command``; ``evalsha`` runs the usual request without ``run_script``. Each test runs
the same cases through the shortcut and through the full path and compares what they give:
the verdict for every command name, and for EVALSHA the replies, statistics, MONITOR lines and
effects.
"""

from __future__ import annotations

from hashlib import sha1

import pytest

from server.command import TABLE
from server.commands import scripting
from server.dispatch import LOOKUP, execute
from server.effects import Op
from server.main import build_server
from server.protocol import encode
from server.scripting.engine import CallError


def _verdict(engine, args: tuple) -> object:  # noqa: ANN001 - the engine under test
    """What ``_checked_command`` says about ``args``: the command, or the refusal's text."""
    engine.run = engine.spare_run
    try:
        run, cmd, argv = engine._checked_command(args)
    except CallError as exc:
        return exc.table[b"err"]
    finally:
        engine.run = None
    assert run is engine.spare_run and argv == list(args)
    return cmd


def test_script_commands_hold_exactly_what_the_checks_let_through():
    server = build_server(["--save", ""])
    engine = server.scripting
    table = engine.script_commands
    assert table[b"incr"] is table[b"INCR"] is TABLE[b"incr"]
    names = set(LOOKUP) | {b"Incr", b"gEt", b"nosuch", b"CONFIG", b"Script", b"eval", b"EVALSHA"}
    tried = 0
    for name in sorted(names):
        cmd = LOOKUP.get(name) or TABLE.get(name.lower())
        counts = {1, 2, 3, 4, 7} if cmd is None else {cmd.min_args - 1, cmd.min_args, cmd.min_args + 1}
        for n in sorted(c for c in counts if c >= 1):
            args = (name, *[b"1"] * (n - 1))
            verdict = _verdict(engine, args)
            fast = table.get(name)
            tried += 1
            if fast is not None and fast.min_args <= n <= fast.max_args:
                # The shortcut takes it: the checks must let the same command through.
                assert verdict is fast, args
            elif verdict.__class__ is not bytes and not verdict.subcommands and verdict.parent is None:
                # The checks let a plain command through: the shortcut knows it, unless the
                # name is in neither of the two cases it indexes.
                assert fast is verdict or name not in LOOKUP, args
    assert tried > 1000
    # The refusals the shortcut must never skip.
    assert b"eval" not in table and b"EVALSHA" not in table and b"script" not in table
    assert _verdict(engine, (b"eval", b"return 1", b"0")) == b"ERR This Redis command is not allowed from script"
    assert _verdict(engine, (b"incr",)) == b"ERR Wrong number of args calling Redis command from script"
    assert _verdict(engine, (b"nosuch",)) == b"ERR Unknown Redis command called from script"


class Recorder:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def apply_effects(self, ops: list[Op]) -> None:
        self.ops.extend(ops)


INCR = b"return redis.call('incr', KEYS[1])"
ARGS = b"return {#KEYS, #ARGV, KEYS[1], ARGV[1], ARGV[2]}"
NO_WRITES = b"#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"
WRITES = b"#!lua\nreturn redis.call('set', KEYS[1], 'v')"
FAILS = b"return redis.call('lpush', KEYS[1], 'x')"


def _sha(body: bytes) -> bytes:
    return sha1(body).hexdigest().encode()


EVALSHAS = [
    [_sha(INCR), b"1", b"n"], [_sha(INCR), b"1", b"n"], [_sha(INCR).upper(), b"1", b"n"],
    [_sha(ARGS), b"0"], [_sha(ARGS), b"0", b"a", b"b"], [_sha(ARGS), b"1", b"k", b"a", b"b"],
    [_sha(ARGS), b"2", b"k", b"l", b"a"], [_sha(ARGS), b"3", b"k", b"l"], [_sha(ARGS), b"-1", b"k"],
    [_sha(ARGS), b"x", b"k"], [_sha(ARGS), b"01", b"k"], [_sha(ARGS), b" 1", b"k"],
    [_sha(NO_WRITES), b"1", b"n"], [_sha(WRITES), b"1", b"w"], [_sha(FAILS), b"1", b"n"],
    [b"0" * 40, b"1", b"n"], [b"abc", b"1", b"n"], [_sha(INCR), b"1", b"n"],
]


def _run(shortcut: bool, monitored: bool) -> dict:
    server = build_server(["--save", "", "--slowlog-log-slower-than", "0"])
    recorder = Recorder()
    server.effects.register(recorder)
    client = server.new_client("127.0.0.1:1000")
    monitor = server.new_client("127.0.0.1:2000")
    lines: list[bytes] = []
    monitor.send = lines.append
    if monitored:
        execute(monitor, [b"MONITOR"])
    for body in (INCR, ARGS, NO_WRITES, WRITES, FAILS):
        execute(client, [b"SCRIPT", b"LOAD", body])
    replies = []
    for args in EVALSHAS:
        if shortcut:
            reply = scripting.evalsha(client, *args)
        else:
            reply = scripting.run_script(client, b"evalsha", args[0], args[1], tuple(args[2:]), True, False)
        out: list[bytes] = []
        encode(reply, out, False)
        replies.append(b"".join(out))
    return {
        "replies": replies,
        "errors": (server.stats.error_replies, dict(server.stats.errors)),
        "monitor": [line.split(b" ", 1)[1] for line in lines],
        "effects": recorder.ops,
        "data": dict(server.keyspace.dbs[0].data),
    }


@pytest.mark.parametrize("monitored", [False, True])
def test_evalsha_shortcut_and_run_script_are_the_same(monitored):
    build_server(["--save", ""])  # loads the command table (this test may be the first to)
    before = {name: (cmd.calls, cmd.failed_calls, cmd.rejected_calls) for name, cmd in TABLE.items()}
    shortcut = _run(True, monitored)
    middle = {name: (cmd.calls, cmd.failed_calls, cmd.rejected_calls) for name, cmd in TABLE.items()}
    full = _run(False, monitored)
    for part in ("replies", "errors", "monitor", "effects", "data"):
        assert shortcut[part] == full[part], part
    # The command table is shared by both servers: compare what each run added.
    after = {name: (cmd.calls, cmd.failed_calls, cmd.rejected_calls) for name, cmd in TABLE.items()}
    first = {n: tuple(m - b for m, b in zip(middle[n], before[n])) for n in TABLE}
    second = {n: tuple(a - m for a, m in zip(after[n], middle[n])) for n in TABLE}
    assert first == second
    assert b":2\r\n" in shortcut["replies"]  # the counter went up through both, once a run
    assert any(b"NOSCRIPT" in r for r in shortcut["replies"])
    assert shortcut["effects"]  # the writes reached the consumer
    assert bool(shortcut["monitor"]) == monitored
