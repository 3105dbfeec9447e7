"""A protocol and command fuzzer for our server (used by the test and by ``make fuzz``).

Two streams of input:
- random commands: every command the server lists (``COMMAND``) with random
  arguments drawn from values that tend to hit edge cases (numbers at limits,
  ``inf``, range markers, options words, binary, long strings), pipelined;
- mutated frames: well-formed requests with bytes flipped, cut, repeated or
  replaced by garbage, each on its own connection (a protocol error closes it).

The server must never crash, never send a Python traceback, and keep answering
PING on a separate connection.
"""

from __future__ import annotations

import random
import socket

import hiredis

# Commands that would end the run or change the rules for every other client.
EXCLUDED = {
    b"shutdown", b"debug", b"config", b"acl", b"client", b"monitor", b"subscribe", b"psubscribe",
    b"ssubscribe", b"quit", b"reset", b"save", b"bgsave", b"bgrewriteaof", b"auth", b"hello",
    b"sync", b"psync", b"replicaof", b"slaveof", b"failover", b"module", b"wait", b"migrate",
    b"restore", b"restore-asking", b"script", b"function", b"eval", b"evalsha", b"fcall", b"fcall_ro",
    b"eval_ro", b"evalsha_ro", b"exec", b"multi", b"watch", b"cluster", b"readonly", b"readwrite",
    b"pfselftest",  # an admin self-test that runs for about a second by design, as in Redis
}
BLOCKING = {b"blpop", b"brpop", b"blmove", b"brpoplpush", b"blmpop", b"bzpopmin", b"bzpopmax", b"bzmpop",
            b"xread", b"xreadgroup"}

VALUES = [
    b"k0", b"k1", b"k2", b"k3", b"0", b"1", b"-1", b"2", b"10", b"100", b"-100", b"9223372036854775807",
    b"-9223372036854775808", b"9223372036854775808", b"1.5", b"-0.0", b"inf", b"-inf", b"+inf", b"nan",
    b"(1", b"[a", b"(a", b"+", b"-", b"*", b"", b" ", b"a", b"b", b"\x00\xff", b"NX", b"XX", b"GT", b"LT",
    b"CH", b"INCR", b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL", b"GET", b"WITHSCORES", b"LIMIT", b"COUNT",
    b"MATCH", b"TYPE", b"BYSCORE", b"BYLEX", b"REV", b"LEFT", b"RIGHT", b"BEFORE", b"AFTER", b"RANK",
    b"MAXLEN", b"WEIGHTS", b"AGGREGATE", b"SUM", b"MIN", b"MAX", b"AND", b"OR", b"XOR", b"NOT", b"BIT",
    b"BYTE", b"OVERFLOW", b"WRAP", b"SAT", b"FAIL", b"i8", b"u16", b"#1", b"SET", b"INCRBY", b"REPLACE",
    b"DB", b"ABSTTL", b"IDX", b"LEN", b"MINMATCHLEN", b"WITHMATCHLEN", b"WITHVALUES", b"*abc", b"$-1",
]


def encode(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def random_value(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.8:
        return rng.choice(VALUES)
    if roll < 0.9:
        return str(rng.randint(-10**6, 10**6)).encode()
    if roll < 0.98:
        return rng.randbytes(rng.randint(0, 40))
    return b"x" * rng.randint(1000, 20000)


class Fuzzer:
    def __init__(self, port: int, seed: int = 0):
        self.port = port
        self.rng = random.Random(seed)
        self.commands = self._command_names()

    def _connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=20)

    def _command_names(self) -> list[tuple[bytes, int]]:
        sock = self._connect()
        sock.sendall(encode([b"COMMAND"]))
        reader = hiredis.Reader()
        reply = False
        while reply is False:
            reader.feed(sock.recv(1 << 20))
            reply = reader.gets()
        sock.close()
        return [(entry[0], entry[1]) for entry in reply if entry[0] not in EXCLUDED]  # type: ignore[union-attr]

    def random_command(self) -> list[bytes]:
        name, arity = self.rng.choice(self.commands)
        count = arity - 1 if arity > 0 else self.rng.randint(-arity - 1, -arity + 4)
        if self.rng.random() < 0.05:
            count = max(0, count + self.rng.choice((-1, 1)))  # wrong arity on purpose
        args = [random_value(self.rng) for _ in range(count)]
        if name in BLOCKING and args:
            args[-1] = b"0.01"  # the timeout: never block long
        head = name.upper() if self.rng.random() < 0.5 else name
        return [head, *args]

    def run_commands(self, total: int, batch: int = 200) -> int:
        """Send ``total`` random commands, pipelined; returns how many replies were read."""
        sock = self._connect()
        reader = hiredis.Reader()
        replies = 0
        sent = 0
        while sent < total:
            frames = [self.random_command() for _ in range(min(batch, total - sent))]
            sock.sendall(b"".join(encode(f) for f in frames))
            expected = replies + len(frames)
            while replies < expected:
                data = sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("server closed a well-formed connection")
                check_no_traceback(data)
                reader.feed(data)
                while reader.gets() is not False:
                    replies += 1
            sent += len(frames)
        sock.close()
        return replies

    def mutate(self, frame: bytes) -> bytes:
        data = bytearray(frame)
        for _ in range(self.rng.randint(1, 4)):
            op = self.rng.random()
            if op < 0.3 and data:
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
            elif op < 0.5 and data:
                del data[self.rng.randrange(len(data)) :]
            elif op < 0.7:
                pos = self.rng.randrange(len(data) + 1)
                data[pos:pos] = self.rng.choice([b"\r\n", b"*", b"$", b"-1", b"99999999999", b"*-5\r\n",
                                                 b"$0\r\n", b"\x00", b'"', b"'", b"\\"])
            elif op < 0.85:
                data += self.rng.randbytes(self.rng.randint(1, 30))
            else:
                data = bytearray(self.rng.randbytes(self.rng.randint(1, 60)))
        return bytes(data)

    def run_mutations(self, total: int, per_connection: int = 20) -> None:
        done = 0
        while done < total:
            sock = self._connect()
            chunk = b"".join(self.mutate(encode(self.random_command())) for _ in range(per_connection))
            try:
                sock.sendall(chunk)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(2)
                while True:
                    data = sock.recv(1 << 16)
                    if not data:
                        break
                    check_no_traceback(data)
            except (ConnectionResetError, BrokenPipeError, TimeoutError):
                pass
            finally:
                sock.close()
            done += per_connection

    def ping(self) -> bool:
        sock = self._connect()
        sock.sendall(b"PING\r\n")
        ok = sock.recv(100) == b"+PONG\r\n"
        sock.close()
        return ok


def check_no_traceback(data: bytes) -> None:
    if b"Traceback" in data or b'File "' in data:
        raise AssertionError(f"a Python traceback reached the client: {data[:500]!r}")


def main() -> None:  # pragma: no cover - used by `make fuzz`
    import argparse
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.servers import OurServer

    parser = argparse.ArgumentParser(description="fuzz the server")
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    server = OurServer(Path(tempfile.mkdtemp(prefix="redistui-fuzz-")))
    server.start()
    try:
        fuzzer = Fuzzer(server.port, args.seed)
        step = 50_000
        for done in range(0, args.frames, step):
            fuzzer.run_commands(int(step * 0.9))
            fuzzer.run_mutations(int(step * 0.1))
            assert fuzzer.ping(), "server stopped answering PING"
            assert server.proc.poll() is None, "server died"
            print(f"{done + step} frames ok", flush=True)
        internal = server.log_path.read_text(errors="replace").count("Internal error")
        print(f"done: {args.frames} frames, {internal} internal errors logged")
    finally:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
