"""A differential command fuzzer: random invocations, generated from redis-server's COMMAND DOCS,
sent to our server and to redis-server, replies compared byte for byte.

Each *sequence* starts from the same small keyspace on both servers, one key of
every type under short names (so commands meet keys of the wrong type), then
sends random commands. An invocation is built from the command's argument tree
as Redis documents it (types, tokens, optional, multiple and oneof blocks), with
values drawn from pools that suit the argument's name (members, fields, scores,
stream IDs, edge numbers ...); some are deliberately ill-formed (an argument
dropped, one added, a token misspelt). Replies must be identical, with one
allowance, and only where Redis itself declares the output nondeterministic in
the command's tips: ``nondeterministic_output`` replies are compared by type
(and text, for errors), ``nondeterministic_output_order`` ones as a multiset of
their elements. After such a command changed keys (SPOP, XADD * ...) those keys
are copied from redis-server to ours (DUMP/RESTORE), so the runs stay in step.
After every sequence each key of the universe is compared on both servers;
``make fuzz`` also reports our server's memory after FLUSHALL before and after
the run (a leak would stay behind).

A mismatch is shrunk (commands removed while it persists) to a short sequence
that reproduces it. ``tests/fuzz/test_fuzz_commands.py`` runs a bounded number of
sequences with a fixed seed; ``make fuzz`` runs it longer
(``python -m tests.fuzz.differential --sequences N --seed S``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.differential.harness import RawConnection, encode_command, parse, raw_elements

# Commands the fuzzer does not send, each with its reason. (A command both servers answer the same
# way belongs in the run; these would stop it, or make every later reply differ for reasons
# outside the command itself.)
NOT_SENT = {
    "shutdown": "stops the server",
    "debug": "sleeps, crashes or rewrites internals on purpose",
    "monitor": "turns the connection into a MONITOR stream",
    "subscribe": "subscribed mode: later commands would only test the mode's refusal",
    "psubscribe": "subscribed mode (as SUBSCRIBE)",
    "ssubscribe": "subscribed mode (as SUBSCRIBE)",
    "quit": "closes the connection",
    "hello": "its reply carries the connection id, which differs between the servers",
    "client": "ids, addresses, pauses and kills are per server; CLIENT is covered by its own tests",
    "config": "CONFIG SET/RESETSTAT/REWRITE change the rules for the rest of the run",
    "acl": "SETUSER could lock the fuzzer out; ACL LOG has timestamps",
    "save": "forks and writes files", "bgsave": "forks and writes files",
    "bgrewriteaof": "forks and writes files", "lastsave": "a timestamp",
    "lolwut": "draws at random",
    "command": "ours lacks the replication commands another issue owns; COMMAND INFO has "
               "its own byte-for-byte test (test_command_info_diff.py)",
    "multi": "a queued transaction would swallow the rest of the sequence; EXEC has its own tests",
    "exec": "(as MULTI)", "discard": "(as MULTI)", "watch": "(as MULTI)", "unwatch": "(as MULTI)",
    "failover": "replication", "replicaof": "replication", "slaveof": "replication",
    "sync": "replication", "psync": "replication", "wait": "replication",
    "pfselftest": "a one-second self test",
    "migrate": "connects to whatever address it is given, waiting up to its timeout; MIGRATE has its own "
               "differential tests (test_cluster_diff.py)",
    "memory": "MEMORY USAGE/STATS/DOCTOR report allocator sizes, which a Python server cannot share",
    "latency": "time measurements", "slowlog": "time measurements",
    "info": "counters and times", "time": "the clock",
    "module": "no modules here; MODULE has its own differential test",
    "function": "FUNCTION LOAD needs a library header the fuzzer cannot produce; scripting has its own tests",
    "fcall": "(as FUNCTION)", "fcall_ro": "(as FUNCTION)",
    "script": "SCRIPT KILL/FLUSH ...: scripting has its own tests", "eval": "(as SCRIPT)",
    "evalsha": "(as SCRIPT)", "eval_ro": "(as SCRIPT)", "evalsha_ro": "(as SCRIPT)",
}

# The universe: one key of each type (and a missing one), in databases 0 and 1.
SETUP = [
    ("SET", "s", "hello"), ("SET", "n", "10"), ("RPUSH", "l", "a", "b", "c", "1", "2"),
    ("HSET", "h", "f1", "v1", "f2", "2"), ("SADD", "S", "a", "b", "1"), ("SADD", "I", "1", "2", "3"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("XADD", "x", "1-1", "f", "v"), ("XADD", "x", "2-1", "f2", "v2"),
    ("XGROUP", "CREATE", "x", "g", "0"), ("PFADD", "hll", "a", "b", "c"),
    ("GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("SELECT", "1"), ("SET", "s", "other"), ("LPUSH", "l", "x"), ("SELECT", "0"),
]
KEYS = ["s", "n", "l", "h", "S", "I", "z", "x", "hll", "geo", "none"]
# The keys a command of each group usually meets (other keys come too, for WRONGTYPE paths).
GROUP_KEYS = {
    "string": ["s", "n"], "bitmap": ["s", "n"], "list": ["l"], "hash": ["h"], "set": ["S", "I"],
    "sorted-set": ["z", "geo"], "geo": ["geo"], "stream": ["x"], "hyperloglog": ["hll"],
}

# Values by kind: the first list is valid values, the second edge and invalid ones (drawn less).
POOLS = {
    "member": ([b"a", b"b", b"c", b"1", b"2", b"Palermo", b"Catania", b"zz"], [b"", b"\x00\xff"]),
    "field": ([b"f1", b"f2", b"f3", b"a"], [b"", b"\x00"]),
    "element": ([b"a", b"b", b"c", b"1", b"2", b"x"], [b"", b"\x00\xff"]),
    "value": ([b"v", b"1", b"2", b"-1", b"hello", b"3.5"], [b"", b"\x00\xff", b"9223372036854775808"]),
    "pattern": ([b"*", b"?", b"h*", b"[a-z]", b"*->f1", b"#"], [b"nomatch", b"\\", b"[", b""]),
    "id": ([b"0", b"0-0", b"1-1", b"2-1", b"3-0", b"+", b"-", b"$", b">", b"*"], [b"1-*", b"x", b"(1-1", b""]),
    "integer": ([b"0", b"1", b"2", b"-1", b"3", b"10", b"100", b"-100"],
                [b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"x", b"1.5", b"",
                 b" 1", b"0x10"]),
    # No out-of-range double (1e400): Redis's strtod leaves errno at ERANGE, and a later SORT that
    # checks errno without clearing it fails on good numbers, depending on the syscalls in between.
    "double": ([b"0", b"1", b"1.5", b"-2.5", b"inf", b"-inf", b"10", b"(1"],
               [b"+inf", b"nan", b"x", b"", b"0x1p3", b" 1", b"1\x00", b"1e308"]),
    "string": ([b"a", b"b", b"1", b"0", b"-1", b"hello", b"x", b"f1", b"(1", b"[a", b"-", b"+"],
               [b"", b"\x00", b"\xff\xfe", b"a" * 100]),
    "unix-time": ([b"1", b"4102444800", b"4102444800000"], [b"0", b"-1", b"x"]),
    "db": ([b"0", b"1", b"2"], [b"-1", b"16", b"x"]),
    # Relative times in ms: none that ends within a run (both servers would race the clock).
    "milliseconds": ([b"100000", b"0"], [b"-1", b"9223372036854775807", b"x", b"1.5"]),
}


# Replies compared loosely for a reason of our own (not a tip): only these.
LOOSE = {
    # HELP lines are written from the command table's summaries, which this project words itself
    # (no prose copied); the shape is compared: simple strings, Redis's first line.
    "help": "our own words",
    # SORT/SORT_RO of a set or sorted set: Redis reads the elements from the hash table (sets; a
    # sorted set is converted to its skiplist form first), whose order a random seed picks at each
    # start, and elements that compare equal (BY a missing key, BY without '*': no sorting) keep
    # that order. Compared as a multiset (with LIMIT, by type: the order picks the elements too);
    # what STORE wrote is copied over afterwards.
    "sort": "hash-table order", "sort_ro": "hash-table order",
    # A relative expiry (EXPIRE k 100, SET k v PX 100000) reaches the two servers at different
    # instants, so the absolute time they store may differ by the delay between them: positive
    # EXPIRETIME/PEXPIRETIME replies may differ by a second.
    "expiretime": "clock", "pexpiretime": "clock",
}


def _close_times(name: str, mine: bytes, theirs: bytes) -> bool:
    """LOOSE["expiretime"]: two positive integer replies less than a second apart."""
    if mine[:1] != b":" or theirs[:1] != b":":
        return False
    a, b = int(mine[1:-2]), int(theirs[1:-2])
    return a > 0 and b > 0 and abs(a - b) <= (1000 if name == "pexpiretime" else 1)

# Replies the tips allow to differ; the rest must be identical.
NONDETERMINISTIC = "nondeterministic_output"
UNORDERED = "nondeterministic_output_order"


@dataclass
class Arg:
    name: str
    type: str
    token: bytes | None = None
    optional: bool = False
    multiple: bool = False
    multiple_token: bool = False
    children: list[Arg] = field(default_factory=list)


@dataclass
class Spec:
    """What the fuzzer knows of one command (or subcommand): how to call it, how to compare it."""

    name: str  # "object|encoding"
    words: list[bytes]  # ["OBJECT", "ENCODING"]
    args: list[Arg]
    tips: set[str]
    write: bool
    has_keys: bool
    group: str = ""


def _fields(flat: list) -> dict:
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in zip(flat[::2], flat[1::2])}


def _arg_tree(entries: list) -> list[Arg]:
    out = []
    for entry in entries:
        f = _fields(entry)
        flags = {flag.decode() for flag in f.get("flags", [])}
        out.append(Arg(
            name=f["name"].decode(), type=f["type"].decode(),
            token=f["token"] if "token" in f else None,
            optional="optional" in flags, multiple="multiple" in flags, multiple_token="multiple_token" in flags,
            children=_arg_tree(f.get("arguments", [])),
        ))
    return out


def load_specs(reference_port: int, our_port: int, everything: bool = False) -> dict[str, Spec]:
    """Every command both servers list, from redis-server's COMMAND DOCS and COMMAND INFO.

    Without ``everything``, only those the fuzzer sends (not in NOT_SENT, not blocking);
    COMMAND GETKEYS and ACL DRYRUN, which run nothing, take them all.
    """
    real, ours = RawConnection(reference_port), RawConnection(our_port)
    try:
        docs = _fields(parse(real.call("COMMAND", "DOCS")))
        info = {entry[0].decode(): entry for entry in parse(real.call("COMMAND"))}
        shared = {name.decode() for name in parse(ours.call("COMMAND", "LIST"))}
    finally:
        real.close()
        ours.close()
    specs: dict[str, Spec] = {}

    def add(name: str, doc: dict, entry: list) -> None:
        subs = _fields(doc.get("subcommands", []))
        if subs:
            by_name = {sub[0].decode(): sub for sub in entry[9]}
            for sub_name, sub_doc in subs.items():
                if sub_name in by_name:
                    add(sub_name, _fields(sub_doc), by_name[sub_name])
            return
        if name not in shared or (name.split("|")[0] in NOT_SENT and not everything):
            return
        flags = {flag.decode() for flag in entry[2]}
        if "blocking" in flags and not everything:
            return  # would wait on an empty key; the blocking commands have their own differential tests
        specs[name] = Spec(
            name=name,
            words=[word.upper().encode() for word in name.split("|")],
            args=_arg_tree(doc.get("arguments", [])),
            tips={tip.decode() for tip in entry[7]},
            write="write" in flags,
            has_keys=bool(entry[8]),
            group=doc["group"].decode(),
        )

    for name, doc in docs.items():
        add(name, _fields(doc), info[name])
    return specs


class Generator:
    """Random invocations of a command from its argument tree."""

    def __init__(self, rng: random.Random, keys: list[str] | None = None):
        self.rng = rng
        self.keys = [k.encode() for k in (keys or KEYS)]
        self.usual: list[bytes] = self.keys
        self.by_group = keys is None  # the universe's keys suit the groups; a caller's own do not

    def key(self) -> bytes:
        if self.rng.random() < 0.7:
            return self.rng.choice(self.usual)
        return self.rng.choice(self.keys)

    def pick(self, kind: str) -> bytes:
        good, bad = POOLS[kind]
        return self.rng.choice(good if self.rng.random() < 0.85 else bad)

    def value(self, arg: Arg) -> bytes:
        name = arg.name
        if arg.type == "key":
            return self.key()
        if arg.type == "pattern":
            return self.pick("pattern") if self.rng.random() < 0.7 else self.key()
        if arg.type == "unix-time":
            return self.pick("unix-time")
        if arg.type == "integer":
            if name == "milliseconds":
                return self.pick("milliseconds")
            if name in ("db", "destination-db", "index1", "index2") or name.endswith("db"):
                return self.pick("db")
            return self.pick("integer")
        if arg.type == "double":
            return self.pick("double")
        for pool in ("member", "field", "element", "value", "id"):
            if pool in name:
                return self.pick(pool)
        if name in ("start", "end", "min", "max", "offset", "count"):
            return self.pick("integer" if self.rng.random() < 0.5 else "double")
        return self.pick("string")

    def one(self, arg: Arg, out: list[bytes]) -> None:
        if arg.token is not None and arg.type != "pure-token":
            out.append(arg.token)
        if arg.type == "pure-token":
            out.append(arg.token or arg.name.upper().encode())
        elif arg.type == "oneof":
            self.one(self.rng.choice(arg.children), out)
        elif arg.type == "block":
            for child in arg.children:
                self.arg(child, out)
        else:
            out.append(self.value(arg))

    def arg(self, arg: Arg, out: list[bytes]) -> None:
        if arg.optional and self.rng.random() < 0.5:
            return
        times = self.rng.choice((1, 1, 2, 3)) if arg.multiple else 1
        for n in range(times):
            if n and arg.multiple and not arg.multiple_token and arg.token is not None and arg.type != "pure-token":
                # "KEY k1 k2": the token once, then the values.
                self.one(Arg(arg.name, arg.type, None, children=arg.children), out)
            else:
                self.one(arg, out)

    def well_formed(self, spec: Spec) -> list[bytes]:
        usual = GROUP_KEYS.get(spec.group) if self.by_group else None
        self.usual = [k.encode() for k in usual] if usual else self.keys
        out = list(spec.words)
        for arg in spec.args:
            self.arg(arg, out)
        return out

    def invocation(self, spec: Spec) -> list[bytes]:
        return _no_clock_race(self._invocation(spec))

    def _invocation(self, spec: Spec) -> list[bytes]:
        argv = self.well_formed(spec)
        roll = self.rng.random()
        fixed = len(spec.words)
        if roll < 0.06 and len(argv) > fixed:
            del argv[self.rng.randrange(fixed, len(argv))]
        elif roll < 0.12:
            argv.insert(self.rng.randrange(fixed, len(argv) + 1), self.rng.choice([b"NX", b"COUNT", b"1", b"x"]))
        elif roll < 0.16 and len(argv) > fixed:
            pos = self.rng.randrange(fixed, len(argv))
            argv[pos] = self.pick(self.rng.choice(("integer", "string", "double")))
        return argv


def _no_clock_race(argv: list[bytes]) -> list[bytes]:
    """A relative expiry in ms short enough to end during a run becomes a long one: the key would
    expire on one server and not yet on the other (a mutation can put any number there)."""
    name = argv[0].upper()
    places = [2] if name in (b"PEXPIRE", b"PSETEX") else []
    places += [i + 1 for i, arg in enumerate(argv) if arg.upper() == b"PX" and name in (b"SET", b"GETEX")]
    for i in places:
        if i < len(argv) and argv[i].isdigit() and 0 < int(argv[i]) < 100000:
            argv[i] = b"100000"
    return argv


@dataclass
class Mismatch:
    sequence: list[list[bytes]]  # the setup excluded; the last command is the one whose replies differ
    ours: bytes
    theirs: bytes
    what: str = "reply"
    resp: int = 2

    def __str__(self) -> str:
        lines = [f"{self.what} differs after {len(self.sequence)} command(s) (RESP{self.resp}):"]
        lines += ["  " + " ".join(repr(a)[1:] for a in argv) for argv in self.sequence]
        lines += [f"  ours:  {self.ours[:300]!r}", f"  redis: {self.theirs[:300]!r}"]
        return "\n".join(lines)


def _same(spec: Spec | None, mine: bytes, theirs: bytes) -> bool:
    if mine == theirs:
        return True
    if spec is None:
        return False
    if spec.name in ("expiretime", "pexpiretime"):
        return _close_times(spec.name, mine, theirs)
    if spec.name.endswith("|help") and mine[:1] == theirs[:1] == b"*":
        return raw_elements(mine)[1][:1] == raw_elements(theirs)[1][:1]  # LOOSE["help"]
    if NONDETERMINISTIC in spec.tips:
        if mine[:1] != theirs[:1]:
            return False
        return mine[:1] != b"-"  # an error is still compared by its text
    if UNORDERED in spec.tips and mine[:1] == theirs[:1] and mine[:1] in (b"*", b"~", b"%"):
        head_m, items_m = raw_elements(mine)
        head_t, items_t = raw_elements(theirs)
        return head_m == head_t and sorted(items_m) == sorted(items_t)
    return False


class DifferentialFuzzer:
    def __init__(self, our_port: int, real_port: int, seed: int):
        self.ports = (our_port, real_port)
        self.rng = random.Random(seed)
        self.specs = load_specs(real_port, our_port)
        self.names = sorted(self.specs)
        self.gen = Generator(self.rng)
        self.conns = [RawConnection(port) for port in self.ports]
        self.sent = 0
        self.marker = 0
        self.resp = 2  # a third of the sequences speak RESP3

    def close(self) -> None:
        for conn in self.conns:
            conn.close()

    def _reconnect(self) -> None:
        self.close()
        self.conns = [RawConnection(port) for port in self.ports]

    def spec_of(self, argv: list[bytes]) -> Spec | None:
        name = argv[0].decode("latin-1").lower()
        if len(argv) > 1:
            sub = self.specs.get(f"{name}|{argv[1].decode('latin-1').lower()}")
            if sub is not None:
                return sub
        return self.specs.get(name)

    def call(self, argv: list[bytes]) -> tuple[bytes, bytes]:
        """Send ``argv`` to both servers: all they answer to it (none, one or several replies).

        An ECHO of a marker follows each command in the same write, and everything read
        before the marker's reply is the command's; UNSUBSCRIBE a b answers twice, a
        CLIENT REPLY OFF not at all, and the two streams stay in step.
        """
        self.marker += 1
        marker = b"fuzz-marker-%d" % self.marker
        end = b"$%d\r\n%s\r\n" % (len(marker), marker)
        data = encode_command(tuple(argv)) + encode_command((b"ECHO", marker))
        for conn in self.conns:
            conn.send_raw(data)
        self.sent += 1
        replies = []
        for conn in self.conns:
            parts = []
            while (reply := conn.read_reply()) != end:
                parts.append(reply)
            replies.append(b"".join(parts))
        return replies[0], replies[1]

    def reset(self) -> None:
        """Both servers back to the universe's starting state, db 0, the sequence's protocol."""
        for argv in [("RESET",), ("FLUSHALL",), *SETUP]:
            self.call([a.encode() if isinstance(a, str) else a for a in argv])
        if self.resp == 3:
            self.call([b"HELLO", b"3"])  # not compared: its reply holds each server's client id

    def resync(self, argv: list[bytes]) -> None:
        """Copy the keys a nondeterministic write touched from redis-server to ours."""
        real, ours = self.conns[1], self.conns[0]
        reply = parse(real.call("COMMAND", "GETKEYS", *argv))
        if not isinstance(reply, list):
            return
        for key in reply:
            payload = parse(real.call("DUMP", key))
            if payload is None:  # gone there: gone here too
                ours.call("DEL", key)
                continue
            expire = parse(real.call("PEXPIRETIME", key))
            ttl = b"%d" % expire if isinstance(expire, int) and expire > 0 else b"0"
            args = [b"RESTORE", key, ttl, payload, b"REPLACE"] + ([b"ABSTTL"] if ttl != b"0" else [])
            ours.call(*args)

    def step(self, argv: list[bytes]) -> tuple[bytes, bytes, bool]:
        spec = self.spec_of(argv)
        hashed = spec is not None and spec.name in ("sort", "sort_ro") and len(argv) > 1 and self.conns[1].call(
            "TYPE", argv[1]) in (b"+set\r\n", b"+zset\r\n")  # LOOSE["sort"]
        mine, theirs = self.call(argv)
        if hashed:  # with LIMIT the hash order also picks which elements are returned
            limited = any(arg.upper() == b"LIMIT" for arg in argv)
            spec = Spec("sort", [], [], {NONDETERMINISTIC if limited else UNORDERED}, True, True)
        same = _same(spec, mine, theirs)
        if spec is not None and spec.write and (NONDETERMINISTIC in spec.tips or hashed) and mine[:1] != b"-":
            self.resync(argv)
        return mine, theirs, same

    def compare_keys(self) -> tuple[bytes, bytes] | None:
        """Every key of the universe, in databases 0 and 1, read the same way on both servers."""
        for db in (b"1", b"0"):
            self.call([b"SELECT", db])
            for key in self.gen.keys:
                for probe in self._probes(key):
                    mine, theirs = self.call(probe)
                    if mine == theirs:
                        continue
                    if probe[0] == b"EXPIRETIME" and _close_times("expiretime", mine, theirs):
                        continue
                    if probe[0] in (b"SMEMBERS", b"HGETALL") and _same(
                            Spec("", [], [], {UNORDERED}, False, False), mine, theirs):
                        continue
                    return mine, theirs
        return None

    def _probes(self, key: bytes) -> list[list[bytes]]:
        mine, theirs = self.call([b"TYPE", key])
        if mine != theirs:
            return [[b"TYPE", key]]
        kind = mine[1:-2]
        reads = {
            b"string": [[b"GET", key]], b"list": [[b"LRANGE", key, b"0", b"-1"]],
            b"hash": [[b"HGETALL", key]], b"set": [[b"SMEMBERS", key]],
            b"zset": [[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]],
            b"stream": [[b"XRANGE", key, b"-", b"+"], [b"XINFO", b"GROUPS", key]],
        }.get(kind, [])
        return [*reads, [b"EXPIRETIME", key]]

    def run_sequence(self, length: int) -> Mismatch | None:
        self.resp = 3 if self.rng.random() < 0.33 else 2
        self.reset()
        sequence: list[list[bytes]] = []
        for _ in range(length):
            argv = self.gen.invocation(self.specs[self.rng.choice(self.names)])
            sequence.append(argv)
            try:
                mine, theirs, same = self.step(argv)
            except (TimeoutError, ConnectionError) as exc:
                self._reconnect()
                return Mismatch(sequence, str(exc).encode(), b"", "no reply")
            if not same:
                return Mismatch(sequence, mine, theirs)
        differ = self.compare_keys()
        if differ is not None:
            return Mismatch(sequence, differ[0], differ[1], "keyspace")
        return None

    def replays(self, sequence: list[list[bytes]], what: str) -> Mismatch | None:
        self.reset()
        for n, argv in enumerate(sequence):
            mine, theirs, same = self.step(argv)
            if not same and (what != "reply" or n == len(sequence) - 1):
                return Mismatch(sequence[: n + 1], mine, theirs)
        if what == "keyspace":
            differ = self.compare_keys()
            if differ is not None:
                return Mismatch(sequence, differ[0], differ[1], "keyspace")
        return None

    def shrink(self, found: Mismatch) -> Mismatch:
        """Drop commands (never the last, for a reply mismatch) while the difference remains."""
        best = found
        i = 0
        while i < len(best.sequence) - (1 if best.what == "reply" else 0):
            candidate = best.sequence[:i] + best.sequence[i + 1:]
            try:
                again = self.replays(candidate, best.what) if candidate else None
            except (TimeoutError, ConnectionError):
                self._reconnect()
                again = None
            if again is not None:
                again.what = best.what
                best = again
            else:
                i += 1
        return best

    def run(self, sequences: int, length: int = 20) -> list[Mismatch]:
        found: list[Mismatch] = []
        seen: set[tuple] = set()
        for _ in range(sequences):
            mismatch = self.run_sequence(length)
            if mismatch is None:
                continue
            mismatch = self.shrink(mismatch)
            mismatch.resp = self.resp
            last = mismatch.sequence[-1]
            signature = (mismatch.what, last[0].upper(), mismatch.ours[:40], mismatch.theirs[:40])
            if signature not in seen:
                seen.add(signature)
                found.append(mismatch)
        return found


def _used_memory(port: int) -> int:
    conn = RawConnection(port)
    try:
        conn.call("FLUSHALL")
        info = parse(conn.call("INFO", "memory")).decode()
    finally:
        conn.close()
    return int(info.split("used_memory:", 1)[1].split()[0])


def main() -> None:  # pragma: no cover - used by `make fuzz`
    import argparse
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.servers import OurServer, RealServer

    parser = argparse.ArgumentParser(description="differential command fuzzer: ours against redis-server")
    parser.add_argument("--sequences", type=int, default=5000)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 32))
    args = parser.parse_args()
    ours = OurServer(Path(tempfile.mkdtemp(prefix="redistui-dfuzz-")))
    real = RealServer(Path(tempfile.mkdtemp(prefix="redistui-dfuzz-real-")))
    ours.start()
    real.start()
    try:
        print(f"seed {args.seed}", flush=True)
        fuzzer = DifferentialFuzzer(ours.port, real.port, args.seed)
        before = _used_memory(ours.port)
        found = fuzzer.run(args.sequences, args.length)
        after = _used_memory(ours.port)
        for mismatch in found:
            print(mismatch, flush=True)
        print(f"done: {fuzzer.sent} commands, {len(found)} distinct mismatches", flush=True)
        # A leak shows as memory that stays after the data is gone (both measured after FLUSHALL).
        print(f"our server's used_memory after FLUSHALL: {before} bytes before the run, {after} after", flush=True)
        sys.exit(1 if found else 0)
    finally:
        ours.stop()
        real.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
