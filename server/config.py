"""Settings: every parameter of Redis 7.0's redis.conf, typed, validated and settable.

The table below lists each parameter once, with its kind, default and limits.
``CONFIG GET``/``CONFIG SET``, the config file and the command line all go
through ``Config``. Parameters that change how this server behaves are read
by the code that uses them (``config.port``, ``config["maxmemory"]``); the
others (replication, io-threads, defrag ...) are still validated,
stored and reported, because tools and client test suites set them before
they run. ``ADVISORY`` names those.

Values are kept in their parsed form (int, str, bool ...) and formatted back
the way Redis prints them.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
UINT_MAX = 2**32 - 1
ULLONG_MAX = 2**64 - 1


class ConfigError(Exception):
    """A bad value; the text is what follows Redis's ``- `` in its error reply."""


@dataclass
class Param:
    name: str
    kind: str  # bool int memory mempercent enum str special
    default: object
    low: int = 0
    high: int = LONG_MAX
    choices: tuple[str, ...] = ()
    immutable: bool = False
    protected: bool = False
    hidden: bool = False  # left out of CONFIG GET's glob matches (Redis's debugging knobs)
    alias: str | None = None
    multi: bool = False  # several values: "save", "bind", "client-output-buffer-limit"


# name kind default [limits|choices] [flags: immutable protected hidden]
_TABLE = """
acl-pubsub-default enum resetchannels allchannels,resetchannels
aclfile str "" immutable
acllog-max-len int 128 0..LONG
active-defrag-cycle-max int 25 1..99
active-defrag-cycle-min int 1 1..99
active-defrag-ignore-bytes memory 104857600 1..LONG
active-defrag-max-scan-fields int 1000 1..LONG
active-defrag-threshold-lower int 10 0..1000
active-defrag-threshold-upper int 100 0..1000
active-expire-effort int 1 1..10
activedefrag bool no
activerehashing bool yes
always-show-logo bool no immutable
aof-disable-auto-gc bool no
aof-load-truncated bool yes
aof-rewrite-incremental-fsync bool yes
aof-timestamp-enabled bool no
aof-use-rdb-preamble bool yes
aof_rewrite_cpulist str "" immutable
appenddirname str appendonlydir immutable
appendfilename str appendonly.aof immutable
appendfsync enum everysec everysec,always,no
appendonly bool no
auto-aof-rewrite-min-size memory 67108864 0..LONG
auto-aof-rewrite-percentage int 100 0..INT
bgsave_cpulist str "" immutable
bind special "127.0.0.1 -::1"
bind-source-addr str ""
bio_cpulist str "" immutable
busy-reply-threshold int 5000 0..LONG
client-output-buffer-limit special "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
client-query-buffer-limit memory 1073741824 1048576..LONG
cluster-allow-pubsubshard-when-down bool yes
cluster-allow-reads-when-down bool no
cluster-allow-replica-migration bool yes
cluster-announce-bus-port int 0 0..65535
cluster-announce-hostname str ""
cluster-announce-ip str ""
cluster-announce-port int 0 0..65535
cluster-announce-tls-port int 0 0..65535
cluster-config-file str nodes.conf immutable
cluster-enabled bool no immutable
cluster-link-sendbuf-limit memory 0 0..ULLONG
cluster-migration-barrier int 1 0..INT
cluster-node-timeout int 15000 0..LONG
cluster-port int 0 0..65535 immutable
cluster-preferred-endpoint-type enum ip ip,hostname,unknown-endpoint
cluster-replica-no-failover bool no
cluster-replica-validity-factor int 10 0..INT
cluster-require-full-coverage bool yes
crash-log-enabled bool yes
crash-memcheck-enabled bool yes
daemonize bool no immutable
databases int 16 1..INT immutable
dbfilename str dump.rdb protected
dir special "" protected
disable-thp bool yes immutable
dynamic-hz bool yes
enable-debug-command enum no yes,no,local immutable
enable-module-command enum no yes,no,local immutable
enable-protected-configs enum no yes,no,local immutable
hash-max-listpack-entries int 512 0..LONG
hash-max-listpack-value memory 64 0..LONG
hll-sparse-max-bytes memory 3000 0..LONG
hz int 10 0..INT
ignore-warnings str ""
io-threads int 1 1..128 immutable
io-threads-do-reads bool no immutable
jemalloc-bg-thread bool yes
key-load-delay int 0 INT_MIN..INT hidden
latency-monitor-threshold int 0 0..LONG
latency-tracking bool yes
latency-tracking-info-percentiles special "50 99 99.9"
lazyfree-lazy-eviction bool no
lazyfree-lazy-expire bool no
lazyfree-lazy-server-del bool no
lazyfree-lazy-user-del bool no
lazyfree-lazy-user-flush bool no
lfu-decay-time int 1 0..INT
lfu-log-factor int 10 0..INT
list-compress-depth int 0 0..INT
list-max-listpack-size int -2 INT_MIN..INT
loading-process-events-interval-bytes int 2097152 1024..INT hidden
logfile str "" immutable
loglevel enum notice debug,verbose,notice,warning
lua-enable-deprecated-api bool no immutable hidden
masterauth str ""
masteruser str ""
maxclients int 10000 1..UINT
maxmemory memory 0 0..ULLONG
maxmemory-clients mempercent 0 -100..LONG
maxmemory-eviction-tenacity int 10 0..100
maxmemory-policy enum noeviction volatile-lru,volatile-lfu,volatile-random,volatile-ttl,allkeys-lru,allkeys-lfu,allkeys-random,noeviction
maxmemory-samples int 5 1..INT
min-replicas-max-lag int 10 0..INT
min-replicas-to-write int 0 0..INT
no-appendfsync-on-rewrite bool no
notify-keyspace-events special ""
oom-score-adj enum no no,yes,relative,absolute
oom-score-adj-values special "0 200 800"
pidfile str "" immutable
port int 6379 0..65535
proc-title-template str "{title} {listen-addr} {server-mode}"
propagation-error-behavior enum ignore ignore,panic,panic-on-replicas
protected-mode bool yes
proto-max-bulk-len memory 536870912 1048576..LONG
rdb-del-sync-files bool no
rdb-save-incremental-fsync bool yes
rdbchecksum bool yes immutable
rdbcompression bool yes
rdb-key-save-delay int 0 INT_MIN..INT hidden
repl-backlog-size memory 1048576 1..LONG
repl-backlog-ttl int 3600 0..LONG
repl-disable-tcp-nodelay bool no
repl-diskless-load enum disabled disabled,on-empty-db,swapdb
repl-diskless-sync bool yes
repl-diskless-sync-delay int 5 0..INT
repl-diskless-sync-max-replicas int 0 0..INT
repl-ping-replica-period int 10 1..INT
repl-timeout int 60 1..INT
replica-announce-ip str ""
replica-announce-port int 0 0..65535
replica-announced bool yes
replica-ignore-disk-write-errors bool no
replica-ignore-maxmemory bool yes
replica-lazy-flush bool no
replica-priority int 100 0..INT
replica-read-only bool yes
replica-serve-stale-data bool yes
replicaof special "" immutable
requirepass str ""
sanitize-dump-payload enum no no,yes,clients
save special "3600 1 300 100 60 10000"
server_cpulist str "" immutable
set-max-intset-entries int 512 0..LONG
set-proc-title bool yes immutable
shutdown-on-sigint special default
shutdown-on-sigterm special default
shutdown-timeout int 10 0..INT
slowlog-log-slower-than int 10000 -1..LONG
slowlog-max-len int 128 0..LONG
socket-mark-id int 0 0..UINT immutable
stop-writes-on-bgsave-error bool yes
stream-node-max-bytes memory 4096 0..LONG
stream-node-max-entries int 100 0..LONG
supervised enum no upstart,systemd,auto,no immutable
syslog-enabled bool no immutable
syslog-facility enum local0 user,local0,local1,local2,local3,local4,local5,local6,local7 immutable
syslog-ident str redis immutable
tcp-backlog int 511 0..INT immutable
tcp-keepalive int 300 0..INT
timeout int 0 0..INT
tls-auth-clients enum yes no,yes,optional
tls-ca-cert-dir str ""
tls-ca-cert-file str ""
tls-cert-file str ""
tls-ciphers str ""
tls-ciphersuites str ""
tls-client-cert-file str ""
tls-client-key-file str ""
tls-client-key-file-pass str ""
tls-cluster bool no
tls-dh-params-file str ""
tls-key-file str ""
tls-key-file-pass str ""
tls-port int 0 0..65535
tls-prefer-server-ciphers bool no
tls-protocols str ""
tls-replication bool no
tls-session-cache-size int 20480 0..INT
tls-session-cache-timeout int 300 0..INT
tls-session-caching bool yes
tracking-table-max-keys int 1000000 0..LONG
unixsocket str "" immutable
unixsocketperm int 0 0..0o777 immutable
use-exit-on-panic bool no hidden
watchdog-period int 0 0..INT hidden
zset-max-listpack-entries int 128 0..LONG
zset-max-listpack-value memory 64 0..LONG
"""

# Old names that Redis still accepts and reports.
ALIASES = {
    "lua-time-limit": "busy-reply-threshold",
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "list-max-ziplist-size": "list-max-listpack-size",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "slave-announce-ip": "replica-announce-ip",
    "slave-announce-port": "replica-announce-port",
    "slave-ignore-maxmemory": "replica-ignore-maxmemory",
    "slave-lazy-flush": "replica-lazy-flush",
    "slave-priority": "replica-priority",
    "slave-read-only": "replica-read-only",
    "slave-serve-stale-data": "replica-serve-stale-data",
    "slaveof": "replicaof",
    "min-slaves-max-lag": "min-replicas-max-lag",
    "min-slaves-to-write": "min-replicas-to-write",
    "repl-ping-slave-period": "repl-ping-replica-period",
    "cluster-slave-no-failover": "cluster-replica-no-failover",
    "cluster-slave-validity-factor": "cluster-replica-validity-factor",
}

# Parameters stored and reported but with no effect on this server (see the README).
ADVISORY = frozenset(
    name
    for name in (
        "activedefrag activerehashing always-show-logo aof-disable-auto-gc aof-rewrite-incremental-fsync "
        "aof-timestamp-enabled aof_rewrite_cpulist bgsave_cpulist bind-source-addr bio_cpulist "
        "crash-log-enabled crash-memcheck-enabled disable-thp dynamic-hz "
        "io-threads io-threads-do-reads jemalloc-bg-thread lazyfree-lazy-eviction "
        "lazyfree-lazy-expire lazyfree-lazy-server-del lazyfree-lazy-user-del lazyfree-lazy-user-flush "
        "list-compress-depth masterauth masteruser min-replicas-max-lag "
        "min-replicas-to-write oom-score-adj oom-score-adj-values proc-title-template "
        "propagation-error-behavior rdb-del-sync-files rdb-save-incremental-fsync repl-backlog-size "
        "repl-backlog-ttl repl-disable-tcp-nodelay repl-diskless-load repl-diskless-sync "
        "repl-diskless-sync-delay repl-diskless-sync-max-replicas repl-ping-replica-period repl-timeout "
        "replica-announce-ip replica-announce-port replica-announced replica-ignore-disk-write-errors "
        "replica-ignore-maxmemory replica-lazy-flush replica-priority replica-read-only "
        "replica-serve-stale-data replicaof server_cpulist set-proc-title socket-mark-id "
        "stream-node-max-bytes stream-node-max-entries supervised syslog-enabled syslog-facility "
        "syslog-ident active-defrag-cycle-max active-defrag-cycle-min "
        "active-defrag-ignore-bytes active-defrag-max-scan-fields active-defrag-threshold-lower "
        "active-defrag-threshold-upper cluster-announce-tls-port "
        "cluster-link-sendbuf-limit tls-cluster tls-replication tls-session-cache-size "
        "tls-session-cache-timeout tls-session-caching tls-dh-params-file tls-prefer-server-ciphers "
        "tls-client-cert-file tls-client-key-file tls-client-key-file-pass tls-ciphers "
        "tls-ciphersuites ignore-warnings maxmemory-clients maxmemory-eviction-tenacity "
        "loading-process-events-interval-bytes lua-enable-deprecated-api rdb-key-save-delay "
        "use-exit-on-panic watchdog-period"
    ).split()
)

_LIMITS = {"LONG": LONG_MAX, "INT": INT_MAX, "UINT": UINT_MAX, "ULLONG": ULLONG_MAX, "INT_MIN": -INT_MAX - 1}


def _parse_table() -> dict[str, Param]:
    params: dict[str, Param] = {}
    for line in _TABLE.strip().splitlines():
        parts = shlex.split(line)
        name, kind, default = parts[0], parts[1], parts[2]
        param = Param(name, kind, default)
        for extra in parts[3:]:
            if extra == "immutable":
                param.immutable = True
            elif extra == "protected":
                param.protected = True
            elif extra == "hidden":
                param.hidden = True
            elif ".." in extra:
                lo, hi = extra.split("..")
                param.low = _LIMITS[lo] if lo in _LIMITS else int(lo, 0)
                param.high = _LIMITS[hi] if hi in _LIMITS else int(hi, 0)
            else:
                param.choices = tuple(extra.split(","))
        params[name] = param
    return params


PARAMS = _parse_table()

MEMORY_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3,
}


def parse_memory(text: str) -> int | None:
    """``100mb`` → bytes, exactly as Redis's memtoull reads it; None if malformed.

    Digits, then an optional unit (case-insensitive); no sign, no spaces. No
    digits at all reads as 0 (``mb`` is 0), a number past 2**64-1 saturates, and
    the product wraps at 64 bits, all as strtoull and unsigned arithmetic do.
    """
    end = 0
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    unit = text[end:].lower()
    if unit not in MEMORY_UNITS or end >= 128:
        return None
    value = min(int(text[:end] or "0"), ULLONG_MAX)
    return (value * MEMORY_UNITS[unit]) & ULLONG_MAX


def parse_int(text: str) -> int | None:
    """An integer as Redis's string2ll reads it (no spaces, no leading '+' or zeros)."""
    if not text or text != text.strip() or text.startswith("+"):
        return None
    try:
        value = int(text, 10)
    except ValueError:
        return None
    if "_" in text or (len(text) > 1 and text.lstrip("-").startswith("0")):
        return None
    if not -LONG_MAX - 1 <= value <= LONG_MAX:  # string2ll overflows
        return None
    return value


NOTIFY_LETTERS = "KEg$lshzxetmdnA"


def parse_notify_flags(text: str) -> int | None:
    from server import keyspace as ks

    bits = {
        "K": ks.NOTIFY_KEYSPACE, "E": ks.NOTIFY_KEYEVENT, "g": ks.NOTIFY_GENERIC,
        "$": ks.NOTIFY_STRING, "l": ks.NOTIFY_LIST, "s": ks.NOTIFY_SET, "h": ks.NOTIFY_HASH,
        "z": ks.NOTIFY_ZSET, "x": ks.NOTIFY_EXPIRED, "e": ks.NOTIFY_EVICTED,
        "t": ks.NOTIFY_STREAM, "m": ks.NOTIFY_KEY_MISS, "d": ks.NOTIFY_MODULE, "n": ks.NOTIFY_NEW,
    }
    flags = 0
    for ch in text:
        if ch == "A":
            flags |= (
                ks.NOTIFY_GENERIC | ks.NOTIFY_STRING | ks.NOTIFY_LIST | ks.NOTIFY_SET | ks.NOTIFY_HASH
                | ks.NOTIFY_ZSET | ks.NOTIFY_EXPIRED | ks.NOTIFY_EVICTED | ks.NOTIFY_STREAM
                | ks.NOTIFY_MODULE
            )
        elif ch in bits:
            flags |= bits[ch]
        else:
            return None
    return flags


def format_notify_flags(flags: int) -> str:
    from server import keyspace as ks

    out = ""
    all_bits = (
        ks.NOTIFY_GENERIC | ks.NOTIFY_STRING | ks.NOTIFY_LIST | ks.NOTIFY_SET | ks.NOTIFY_HASH
        | ks.NOTIFY_ZSET | ks.NOTIFY_EXPIRED | ks.NOTIFY_EVICTED | ks.NOTIFY_STREAM | ks.NOTIFY_MODULE
    )
    if flags & all_bits == all_bits:
        out += "A"
    else:
        for ch, bit in (
            ("g", ks.NOTIFY_GENERIC), ("$", ks.NOTIFY_STRING), ("l", ks.NOTIFY_LIST),
            ("s", ks.NOTIFY_SET), ("h", ks.NOTIFY_HASH), ("z", ks.NOTIFY_ZSET),
            ("x", ks.NOTIFY_EXPIRED), ("e", ks.NOTIFY_EVICTED), ("t", ks.NOTIFY_STREAM),
            ("d", ks.NOTIFY_MODULE), ("n", ks.NOTIFY_NEW),  # "A" hides "n", as in Redis
        ):
            if flags & bit:
                out += ch
    if flags & ks.NOTIFY_KEYSPACE:
        out += "K"
    if flags & ks.NOTIFY_KEYEVENT:
        out += "E"
    if flags & ks.NOTIFY_KEY_MISS:
        out += "m"
    return out


class Config:
    """Current values of all parameters, by name.

    ``listeners`` maps a parameter name to callbacks run after it changes
    (``maxmemory``, ``notify-keyspace-events``, ``appendonly`` ...), so the
    owners of behaviour react without this module knowing them.
    """

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.listeners: dict[str, list[Callable[[object], None]]] = {}
        self.config_file: str | None = None
        for name, param in PARAMS.items():
            self.values[name] = self._parse(param, [str(param.default)], initial=True)
        self.values["dir"] = os.getcwd()

    # Hot settings read as attributes.
    @property
    def port(self) -> int:
        return self.get_int("port")

    def __getitem__(self, name: str) -> object:
        return self.values[ALIASES.get(name, name)]

    # Typed reads: the parameter's value, checked to be of the type its table entry gives.
    def get_int(self, name: str) -> int:
        """An integer parameter (numbers, memory sizes, enums kept as numbers such as notify flags)."""
        value = self[name]
        if not isinstance(value, int):
            raise TypeError(f"config {name} is {type(value).__name__}, not int")
        return value

    def get_str(self, name: str) -> str:
        value = self[name]
        if not isinstance(value, str):
            raise TypeError(f"config {name} is {type(value).__name__}, not str")
        return value

    def get_str_list(self, name: str) -> list[str]:
        """A parameter holding several words (``bind``)."""
        return self.get_list(name)

    def get_list(self, name: str) -> list[Any]:
        """A parameter its parser made a list of (``save``: (seconds, changes) pairs; the
        latency percentiles: floats; ``bind``: words)."""
        value = self[name]
        if not isinstance(value, list):
            raise TypeError(f"config {name} is {type(value).__name__}, not list")
        return value

    def get_dict(self, name: str) -> dict[str, Any]:
        """A parameter its parser made a dict of (``client-output-buffer-limit``: class → limits)."""
        value = self[name]
        if not isinstance(value, dict):
            raise TypeError(f"config {name} is {type(value).__name__}, not dict")
        return value

    def on_change(self, name: str, callback: Callable[[object], None]) -> None:
        self.listeners.setdefault(name, []).append(callback)

    # -- parsing -------------------------------------------------------------

    def _parse(self, param: Param, words: list[str], initial: bool = False) -> object:
        kind = param.kind
        if kind == "special":
            return _SPECIAL[param.name](words, self)
        if len(words) != 1:
            raise ConfigError("wrong number of arguments")
        text = words[0]
        if kind == "bool":
            low = text.lower()
            if low not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            if param.name == "activedefrag" and low == "yes":
                # As Debian's redis-server (built with the system's jemalloc) answers.
                raise ConfigError(
                    "Active defragmentation cannot be enabled: it requires a Redis server compiled with a "
                    "modified Jemalloc like the one shipped by default with the Redis source distribution"
                )
            return low == "yes"
        if kind == "int":
            if param.name == "unixsocketperm":  # octal, as redis-server reads it (OCTAL_CONFIG)
                try:
                    value = int(text, 8)
                except ValueError:
                    value = None
            else:
                value = parse_int(text)
            if value is None:
                raise ConfigError("argument couldn't be parsed into an integer")
            if not param.low <= value <= param.high:
                raise ConfigError(f"argument must be between {param.low} and {param.high} inclusive")
            if param.name == "hz":
                value = min(max(value, 1), 500)
            return value
        if kind in ("memory", "mempercent"):
            return self._parse_memory(param, text)
        if kind == "enum":
            low = text.lower()
            if low not in param.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(param.choices))
            return low
        return text

    @staticmethod
    def _parse_memory(param: Param, text: str) -> int:
        """A memory size (``1gb``); for ``mempercent`` also a percentage (``10%``), kept negative.

        Parameters whose upper limit is ULLONG_MAX are unsigned in Redis; the
        others read the 64-bit value as signed, so a huge number wraps below
        the lower limit and gets the same range error Redis gives.
        """
        value = parse_memory(text)
        if value is None and param.kind == "mempercent" and len(text) > 1 and text.endswith("%"):
            percent = parse_int(text[:-1])
            if percent is not None and percent >= 0:
                value = -percent
        if value is None:
            if param.kind == "mempercent":
                raise ConfigError("argument must be a memory or percent value")
            raise ConfigError("argument must be a memory value")
        if param.high != ULLONG_MAX and value > LONG_MAX:
            value -= 2**64
        if param.kind == "mempercent" and value < 0:
            if value < param.low:
                raise ConfigError("percentage argument must be less or equal to 100")
            return value
        if not param.low <= value <= param.high:
            raise ConfigError(f"argument must be between {param.low} and {param.high} inclusive")
        return value

    def set_many(self, pairs: list[tuple[str, list[str]]], from_client: bool = True) -> None:
        """Apply settings atomically: all are validated first, then applied.

        Raises ``ConfigError`` with Redis's CONFIG SET message on the first bad one.
        """
        seen: set[str] = set()
        parsed: list[tuple[str, object]] = []
        for raw_name, words in pairs:
            name = ALIASES.get(raw_name.lower(), raw_name.lower())
            param = PARAMS.get(name)
            if param is None:
                raise ConfigError(f"Unknown option or number of arguments for CONFIG SET - '{raw_name}'")
            prefix = f"CONFIG SET failed (possibly related to argument '{raw_name}') - "
            if name in seen:
                raise ConfigError(prefix + "duplicate parameter")
            seen.add(name)
            if from_client and param.immutable:
                raise ConfigError(prefix + "can't set immutable config")
            if from_client and param.protected and self.values["enable-protected-configs"] == "no":
                raise ConfigError(prefix + "can't set protected config")
            try:
                parsed.append((name, self._parse(param, words)))
            except ConfigError as exc:
                raise ConfigError(prefix + str(exc)) from None
        old = {name: self.values[name] for name, _ in parsed}
        try:
            for name, value in parsed:
                previous = old[name]
                if (name == "maxclients" and isinstance(value, int) and isinstance(previous, int)
                        and value > previous):
                    fit_open_files_limit(value)
                self.values[name] = value
                for callback in self.listeners.get(name, ()):
                    callback(value)
                if name.startswith("tls-"):
                    self._check_tls()
        except ConfigError as exc:
            for changed, value in old.items():
                self.values[changed] = value
            raise ConfigError(f"CONFIG SET failed (possibly related to argument '{name}') - {exc}") from None

    def _check_tls(self) -> None:
        """While TLS is in use, its settings must still make a working context (Redis's applyTlsCfg)."""
        if not (self.values["tls-port"] or self.values["tls-replication"] or self.values["tls-cluster"]):
            return
        from server.tls import server_context

        try:
            server_context(self)
        except ConfigError:
            raise ConfigError("Unable to update TLS configuration. Check server logs.") from None

    def load_directives(self, lines: Iterable[tuple[str, list[str]]], user_lines: list[list[str]]) -> None:
        """Apply (name, words) directives from a config file or the command line.

        ``user`` lines are collected for the ACL module; ``include`` is followed.
        Multi-valued parameters (``save``) given several times accumulate as in redis.conf.
        """
        accumulated: dict[str, list[str]] = {}
        for name, words in lines:
            lname = name.lower()
            if lname == "user":
                user_lines.append(words)
                continue
            if lname == "include":
                self.load_directives(read_config_file(words[0]), user_lines)
                continue
            if lname in ("rename-command", "loadmodule"):
                continue
            real = ALIASES.get(lname, lname)
            if real == "save" and words and words != [""]:
                accumulated.setdefault("save", [])
                accumulated["save"].extend(words)
                words = accumulated["save"]
            if real not in PARAMS:
                raise ConfigError(f"Bad directive or wrong number of arguments for '{name}'")
            try:
                self.values[real] = self._parse(PARAMS[real], words, initial=True)
            except ConfigError as exc:
                raise ConfigError(f"'{name} {' '.join(words)}': {exc}") from None

    # -- formatting ----------------------------------------------------------

    def format(self, name: str) -> str:
        param = PARAMS[name]
        value = self.values[name]
        if param.kind == "bool":
            return "yes" if value else "no"
        if param.kind == "special":
            return _FORMAT[name](value)
        if param.kind == "int" and name == "unixsocketperm" and isinstance(value, int):
            return oct(value)[2:]
        if param.kind == "mempercent" and isinstance(value, int) and value < 0:
            return f"{-value}%"
        return str(value)

    def format_default(self, name: str) -> str:
        """The default of a parameter, formatted as CONFIG GET would show it."""
        param = PARAMS[name]
        current = self.values[name]
        try:
            self.values[name] = self._parse(param, [str(param.default)], initial=True)
            return self.format(name)
        finally:
            self.values[name] = current

    def matching(self, pattern: bytes) -> dict[str, str]:
        """Parameters (and their aliases) whose name matches a glob, for CONFIG GET.

        A name without glob characters is looked up directly (case-insensitively)
        and reported under the name as it was asked for, as Redis does.
        """
        from server.glob import glob_match

        out: dict[str, str] = {}
        if not any(ch in pattern for ch in b"[*?"):
            asked = pattern.decode("utf-8", "surrogateescape")
            real = ALIASES.get(asked.lower(), asked.lower())
            if real in PARAMS:
                out[asked] = self.format(real)
            return out
        for name in list(PARAMS) + list(ALIASES):
            if name in PARAMS and PARAMS[name].hidden:
                continue
            if glob_match(pattern, name.encode(), nocase=True):
                real = ALIASES.get(name, name)
                out[name] = self.format(real)
        return out


# File descriptors Redis keeps for itself beyond one per client (CONFIG_MIN_RESERVED_FDS).
RESERVED_FDS = 32


def raise_open_files_limit(wanted: int) -> tuple[int, int, str]:
    """Try to make the open-files limit ``wanted``, as Redis's adjustOpenFilesLimit does: that
    limit (soft and hard), then 16 fewer at a time down to the current one.

    Returns the limit before, the limit now, and the last refusal's reason (strerror).
    """
    import resource

    old, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if old == resource.RLIM_INFINITY or old >= wanted:
        return old, old, ""
    best, reason = wanted, ""
    while best > old:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (best, best))
            break
        except ValueError as exc:  # Python's words for EINVAL / EPERM
            reason = "Invalid argument" if "exceeds" in str(exc) else "Operation not permitted"
        except OSError as exc:
            reason = os.strerror(exc.errno or 0)
        if best < 16:
            best = old
            break
        best -= 16
    return old, max(best, old), reason


def fit_open_files_limit(maxclients: int) -> None:
    """CONFIG SET maxclients: raise the open-files limit for that many clients, or refuse,
    naming the most the system can hold (Redis's updateMaxclients)."""
    _old, best, _reason = raise_open_files_limit(maxclients + RESERVED_FDS)
    if best < maxclients + RESERVED_FDS:
        raise ConfigError(
            "The operating system is not able to handle the specified number of clients, "
            f"try with {best - RESERVED_FDS}"
        )


# -- special parameters ------------------------------------------------------


def _save(words: list[str], cfg: Config) -> list[tuple[int, int]]:
    text = " ".join(words)
    if text == "":  # a single empty argument: no save points
        return []
    parts = text.split()
    if not parts or len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    points = []
    for i in range(0, len(parts), 2):
        seconds, changes = _strtoll(parts[i]), _strtoll(parts[i + 1])
        if seconds is None or changes is None or seconds < 1 or changes < 0:
            raise ConfigError("Invalid save parameters")
        points.append((seconds, changes))
    return points


def _strtoll(text: str) -> int | None:
    """A whole-string strtoll: optional sign and digits, saturating at 64 bits; None otherwise."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body.isascii() or not body.isdigit():
        return None
    return max(min(int(text), LONG_MAX), -LONG_MAX - 1)


BIND_MAX = 16


def _bind(words: list[str], cfg: Config) -> list[str]:
    """Listening addresses (``-`` before one makes it optional); each must be bindable here."""
    import socket

    addrs = " ".join(words).split()
    if len(addrs) > BIND_MAX:
        raise ConfigError("Too many bind addresses specified.")
    for addr in addrs:
        host = addr[1:] if addr.startswith("-") else addr
        if host in ("*", "::*"):
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
        except OSError:
            if not addr.startswith("-"):
                raise ConfigError("Failed to bind to specified addresses.") from None
    return addrs


def _dir(words: list[str], cfg: Config) -> str:
    path = " ".join(words)
    if not path:
        return os.getcwd()
    if not os.path.isdir(path):
        raise ConfigError("No such file or directory")
    return os.path.abspath(path)


_COBL_CLASSES = {"normal": "normal", "slave": "replica", "replica": "replica", "pubsub": "pubsub"}


def _cobl(words: list[str], cfg: Config) -> dict[str, tuple[int, int, int]]:
    parts = " ".join(words).split()
    existing = cfg.values.get("client-output-buffer-limit")
    current: dict[str, tuple[int, int, int]] = dict(existing) if isinstance(existing, dict) else {}
    if not parts and "client-output-buffer-limit" in cfg.values:  # nothing to change
        return current
    if len(parts) % 4 or not parts:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    for i in range(0, len(parts), 4):
        cls = _COBL_CLASSES.get(parts[i].lower())
        hard, soft = parse_memory(parts[i + 1]), parse_memory(parts[i + 2])
        secs = parse_int(parts[i + 3])
        if cls is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        if hard is None or soft is None or secs is None or secs < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        current[cls] = (hard, soft, secs)
    return current


def _format_cobl(value: dict[str, tuple[int, int, int]]) -> str:
    parts = []
    for cls, shown in (("normal", "normal"), ("replica", "slave"), ("pubsub", "pubsub")):
        hard, soft, secs = value.get(cls, (0, 0, 0))
        parts.append(f"{shown} {hard} {soft} {secs}")
    return " ".join(parts)


def _notify(words: list[str], cfg: Config) -> int:
    flags = parse_notify_flags(" ".join(words))
    if flags is None:
        raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return flags


def _oom_values(words: list[str], cfg: Config) -> list[int]:
    parts = " ".join(words).split()
    if len(parts) != 3:
        raise ConfigError("wrong number of arguments")
    values = [_strtoll(p) for p in parts]
    if any(v is None or not -2000 <= v <= 2000 for v in values):
        raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
    return [v for v in values if v is not None]  # (all of them, checked above)


def _percentiles(words: list[str], cfg: Config) -> list[float]:
    out = []
    for part in " ".join(words).split():
        try:
            value = float(part)
        except ValueError:
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters") from None
        if not 0 <= value <= 100:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        out.append(value)
    return out


def _replicaof(words: list[str], cfg: Config) -> str:
    return " ".join(words)


def _shutdown_on(words: list[str], cfg: Config) -> str:
    allowed = {"default", "save", "nosave", "now", "force"}
    parts = [w.lower() for w in " ".join(words).split()]
    if not parts or any(p not in allowed for p in parts):
        raise ConfigError("argument(s) must be one of the following: default, save, nosave, now, force")
    if "save" in parts and "nosave" in parts:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return " ".join(parts)


def _format_percentiles(values: list[float]) -> str:
    return " ".join(("%g" % v) for v in values)


_SPECIAL: dict[str, Callable[[list[str], Config], object]] = {
    "save": _save,
    "bind": _bind,
    "dir": _dir,
    "client-output-buffer-limit": _cobl,
    "notify-keyspace-events": _notify,
    "oom-score-adj-values": _oom_values,
    "latency-tracking-info-percentiles": _percentiles,
    "replicaof": _replicaof,
    "shutdown-on-sigint": _shutdown_on,
    "shutdown-on-sigterm": _shutdown_on,
}

# Each formatter receives the value its parser produced (typed per parameter there).
_FORMAT: dict[str, Callable[[Any], str]] = {
    "save": lambda v: " ".join(f"{s} {c}" for s, c in v),
    "bind": lambda v: " ".join(v),
    "dir": str,
    "client-output-buffer-limit": _format_cobl,
    "notify-keyspace-events": format_notify_flags,
    "oom-score-adj-values": lambda v: " ".join(str(x) for x in v),
    "latency-tracking-info-percentiles": _format_percentiles,
    "replicaof": str,
    "shutdown-on-sigint": str,
    "shutdown-on-sigterm": str,
}


def read_config_file(path: str) -> list[tuple[str, list[str]]]:
    """Directives of a redis.conf file: ``name arg arg ...`` lines, quotes allowed."""
    from server.protocol import ProtocolError, split_inline

    directives = []
    if path == "-":
        import sys

        text = sys.stdin.read()
    else:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = [w.decode("utf-8", "surrogateescape") for w in split_inline(line.encode("utf-8", "surrogateescape"))]
        except ProtocolError:
            raise ConfigError(f"line {lineno}: Unbalanced quotes in configuration line") from None
        if words:
            directives.append((words[0], words[1:]))
    return directives


def parse_argv(argv: list[str]) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """redis-server's command line: ``[config-file] [--name value ...]``.

    Options given after the file override it, as in redis-server.
    """
    config_file = None
    args = list(argv)
    if args and not args[0].startswith("--"):
        config_file = args.pop(0)
    directives: list[tuple[str, list[str]]] = []
    for arg in args:
        if arg.startswith("--") and len(arg) > 2 and not _is_negative_number(arg):
            directives.append((arg[2:], []))
        elif directives:
            directives[-1][1].append(arg)
        else:
            raise ConfigError(f"Invalid argument {arg!r}")
    # "--save" alone means "save ''" (disable), as redis-server accepts.
    fixed = []
    for name, words in directives:
        if not words and name.lower() == "save":
            words = [""]
        fixed.append((name, words))
    return config_file, fixed


def _is_negative_number(arg: str) -> bool:
    return False
