"""The explorer's only door to a server: a thin layer over ``redis.asyncio``.

`ConnectionSpec` says *where* to connect (a URL or redis-cli's flags);
`ExplorerClient` says *what* the explorer asks: SCAN pages, key metadata for
visible rows in one pipeline, typed value pages, INFO, and a keyspace
notification subscription. It talks the same way to Redis, Valkey and the
bundled server, and it never fetches a whole keyspace or a whole large value.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisClusterException, ResponseError

KEY_TYPES = ("string", "list", "hash", "set", "zset", "stream")
# Redis's own reply to a multi-key command whose keys live in different slots (redis-py's cluster
# client refuses such commands before sending them, in words of its own).
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
NODE_SHIFT = 64  # a cluster SCAN cursor: master index << NODE_SHIFT | that master's own cursor


@dataclass(frozen=True)
class ConnectionSpec:
    """Where the explorer connects: a URL, or host/port/db and credentials."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    unix_socket: str | None = None
    url: str | None = None
    ca_cert: str | None = None  # TLS: trust this CA file (redis-cli --cacert)
    insecure: bool = False  # TLS: skip certificate verification (redis-cli --insecure)

    @classmethod
    def from_url(cls, url: str) -> ConnectionSpec:
        """Parse ``redis://``, ``rediss://`` or ``unix://`` into a spec (the URL is kept as given)."""
        kwargs = aioredis.connection.parse_url(url)
        return cls(
            host=kwargs.get("host", "127.0.0.1"),
            port=int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db", 0) or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            tls=url.startswith("rediss://"),
            unix_socket=kwargs.get("path"),
            url=url,
        )

    def with_db(self, db: int) -> ConnectionSpec:
        """The same server, another logical database."""
        return replace(self, db=db, url=None)

    @property
    def address(self) -> str:
        """What the header shows: ``host:port`` or the socket path."""
        if self.unix_socket:
            return self.unix_socket
        return f"{self.host}:{self.port}"

    def display_url(self) -> str:
        """A URL for humans, with any password masked."""
        scheme = "unix" if self.unix_socket else ("rediss" if self.tls else "redis")
        auth = ""
        if self.username or self.password:
            auth = f"{quote(self.username or '')}{':***' if self.password else ''}@"
        if self.unix_socket:
            return f"unix://{auth}{self.unix_socket}?db={self.db}"
        return f"{scheme}://{auth}{self.host}:{self.port}/{self.db}"

    def connect(self) -> aioredis.Redis:
        """A new ``redis.asyncio.Redis`` for this spec (RESP2, bytes replies, no CLIENT SETINFO)."""
        common = self._options()
        if self.url is not None:
            return aioredis.Redis.from_url(self.url, **common)
        if self.unix_socket:
            return aioredis.Redis(unix_socket_path=self.unix_socket, **common)
        return aioredis.Redis(host=self.host, port=self.port, ssl=self.tls, **common)

    def connect_cluster(self) -> RedisCluster:
        """A redis-py cluster client seeded at this address: it routes by slot and follows MOVED/ASK."""
        common = self._options()
        common.pop("db")
        return RedisCluster(host=self.host, port=self.port, ssl=self.tls, **common)

    def node(self, host: str, port: int) -> ConnectionSpec:
        """The same credentials and TLS settings at another cluster node (cluster nodes have only db 0)."""
        return replace(self, host=host, port=port, db=0, url=None, unix_socket=None)

    def _options(self) -> dict[str, Any]:
        common: dict[str, Any] = dict(
            protocol=2,
            driver_info=None,
            decode_responses=False,
            socket_connect_timeout=3,
            socket_timeout=15,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),  # the app reconnects with its own backoff
            username=self.username,
            password=self.password,
            db=self.db,
        )
        if self.tls:
            common["ssl_cert_reqs"] = "none" if self.insecure else "required"
            if self.insecure:
                common["ssl_check_hostname"] = False
            if self.ca_cert:
                common["ssl_ca_certs"] = self.ca_cert
        return common


@dataclass(frozen=True)
class KeyMeta:
    """What a key-browser row shows beside the name: its type and when it expires."""

    type: str
    pttl: int  # milliseconds; -1 no expiry, -2 missing
    fetched_at: float  # time.monotonic() when PTTL was read

    def remaining_ms(self, now: float | None = None) -> int:
        """Milliseconds left, counted down client-side from the PTTL reading."""
        if self.pttl < 0:
            return self.pttl
        now = time.monotonic() if now is None else now
        return max(0, self.pttl - int((now - self.fetched_at) * 1000))


@dataclass(frozen=True)
class ScanPage:
    """One SCAN reply: the keys and the cursor to continue from (0 when done)."""

    cursor: int
    keys: list[bytes]


def glob_escape(text: bytes) -> bytes:
    """Escape Redis glob metacharacters so ``text`` matches itself (for ``MATCH prefix*``)."""
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", text)


def glob_to_regex(pattern: bytes) -> re.Pattern[bytes]:
    """Compile a Redis glob (``* ? [abc] [^a] [a-z] \\x``) into a bytes regex matching whole keys."""
    out = bytearray()
    i = 0
    while i < len(pattern):
        c = pattern[i : i + 1]
        if c == b"*":
            out += b".*"
        elif c == b"?":
            out += b"."
        elif c == b"\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i : i + 1])
        elif c == b"[":
            end = pattern.find(b"]", i + 1)
            if end < 0:
                out += re.escape(c)
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith(b"^")
                if negate:
                    body = body[1:]
                cls = re.sub(rb"([\\\]\[^])", rb"\\\1", body)
                out += b"[" + (b"^" if negate else b"") + cls + b"]"
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(bytes(out) + rb"\Z", re.DOTALL)


class ExplorerClient:
    """The commands the explorer sends, each one bounded in size."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        # Any: redis-py's annotations assume decoded (str) replies; this client keeps bytes.
        self.redis: Any = spec.connect()
        # Redis Cluster: the masters (sorted by address), one plain connection pool to each for what
        # is per node (SCAN, INFO, CONFIG, keyspace notifications); `redis` is then a RedisCluster.
        self.cluster_nodes: list[ConnectionSpec] = []
        self._nodes: list[Any] = []
        self.node_scanned: list[int] = []  # keys each master's SCAN has returned so far
        self.node_dbsizes: list[int] = []  # each master's DBSIZE at the last count
        self.node_infos: list[dict[str, Any]] = []  # each master's INFO at the last poll

    @property
    def db(self) -> int:
        return self.spec.db

    @property
    def is_cluster(self) -> bool:
        return bool(self.cluster_nodes)

    async def close(self) -> None:
        await self.redis.aclose()
        for node in self._nodes:
            await node.aclose()

    async def detect_cluster(self) -> bool:
        """Switch to redis-py's cluster client when the server says ``cluster_enabled:1`` (INFO cluster)."""
        if self.is_cluster:
            return True
        try:
            info = await self.redis.info("cluster")
        except ResponseError:
            return False
        if not int(info.get("cluster_enabled", 0) or 0):
            return False
        cluster = self.spec.connect_cluster()
        await cluster.initialize()
        await self.redis.aclose()
        self.redis = cluster
        masters = sorted((node.host, int(node.port)) for node in cluster.get_primaries())
        self.cluster_nodes = [self.spec.node(host, port) for host, port in masters]
        self._nodes = [node.connect() for node in self.cluster_nodes]
        self.node_scanned = [0] * len(masters)
        self.node_dbsizes = [0] * len(masters)
        return True

    async def select(self, db: int) -> None:
        """Switch to another logical database (a new pool; SELECT on a pool would be per-connection)."""
        await self.redis.aclose()
        self.spec = self.spec.with_db(db)
        self.redis = self.spec.connect()

    # -- server -----------------------------------------------------------------

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def info(self, section: str | None = None) -> dict[str, Any]:
        """INFO; on a cluster, the first master's with the key counts of all masters summed."""
        if not self.is_cluster:
            return await self.redis.info(section) if section else await self.redis.info()
        infos = [await (node.info(section) if section else node.info()) for node in self._nodes]
        self.node_infos = infos
        merged = dict(infos[0])
        keys = sum(int((info.get("db0") or {}).get("keys", 0)) for info in infos)
        expires = sum(int((info.get("db0") or {}).get("expires", 0)) for info in infos)
        if any("db0" in info for info in infos) or "db0" in merged:
            merged["db0"] = {**(merged.get("db0") or {}), "keys": keys, "expires": expires}
        self.node_dbsizes = [int((info.get("db0") or {}).get("keys", 0)) for info in infos]
        return merged

    async def dbsize(self) -> int:
        if self.is_cluster:
            self.node_dbsizes = [int(await node.dbsize()) for node in self._nodes]
            return sum(self.node_dbsizes)
        return int(await self.redis.dbsize())

    async def database_count(self) -> int:
        """How many logical databases the server has (CONFIG GET databases, else 16; a cluster has one)."""
        if self.is_cluster:
            return 1
        try:
            reply = await self.redis.config_get("databases")
            return int(reply.get(b"databases") or reply.get("databases") or 16)
        except (ResponseError, ValueError):
            return 16

    async def notify_flags(self) -> str | None:
        """The server's ``notify-keyspace-events`` value, or None when CONFIG GET is refused.

        On a cluster every master has its own setting: the first one lacking K or A is reported.
        """
        flags: str | None = None
        for node in self._nodes or [self.redis]:
            try:
                reply = await node.config_get("notify-keyspace-events")
            except ResponseError:
                return None
            value = reply.get(b"notify-keyspace-events", reply.get("notify-keyspace-events"))
            if value is None:
                return None
            flags = value.decode() if isinstance(value, bytes) else str(value)
            if "K" not in flags or not ("A" in flags or "g" in flags):
                return flags
        return flags

    async def enable_keyspace_events(self) -> str:
        """Turn on keyspace notifications for every class (keeps existing flags), on every master."""
        current = await self.notify_flags() or ""
        wanted = "".join(dict.fromkeys(current + "KA"))
        for node in self._nodes or [self.redis]:
            await node.config_set("notify-keyspace-events", wanted)
        return wanted

    def keyspace_pubsubs(self) -> list[Callable[[], aioredis.client.PubSub]]:
        """Where keyspace notifications come from: the server, or each master of a cluster (they are local)."""
        return [node.pubsub for node in self._nodes] if self.is_cluster else [self.redis.pubsub]

    # -- keys -------------------------------------------------------------------

    async def scan_page(
        self, cursor: int, match: bytes | None = None, type_: str | None = None, count: int = 1000
    ) -> ScanPage:
        """One SCAN step (never KEYS); on a cluster, the masters one after another.

        A cluster cursor packs the master's index above its own cursor; 0 still means "done".
        """
        if not self.is_cluster:
            next_cursor, keys = await self.redis.scan(cursor, match=match, count=count, _type=type_)
            return ScanPage(int(next_cursor), list(keys))
        index, node_cursor = cursor >> NODE_SHIFT, cursor & ((1 << NODE_SHIFT) - 1)
        if cursor == 0:
            self.node_scanned = [0] * len(self._nodes)
        next_cursor, keys = await self._nodes[index].scan(node_cursor, match=match, count=count, _type=type_)
        self.node_scanned[index] += len(keys)
        if int(next_cursor):
            return ScanPage(index << NODE_SHIFT | int(next_cursor), list(keys))
        return ScanPage((index + 1) << NODE_SHIFT if index + 1 < len(self._nodes) else 0, list(keys))

    async def key_meta(self, keys: Iterable[bytes]) -> dict[bytes, KeyMeta]:
        """TYPE and PTTL of many keys in one pipelined round trip."""
        keys = list(keys)
        if not keys:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.pttl(key)
        replies = await pipe.execute(raise_on_error=False)
        now = time.monotonic()
        meta: dict[bytes, KeyMeta] = {}
        for i, key in enumerate(keys):
            type_, pttl = replies[2 * i], replies[2 * i + 1]
            if isinstance(type_, Exception) or isinstance(pttl, Exception):
                continue
            name = type_.decode() if isinstance(type_, bytes) else str(type_)
            meta[key] = KeyMeta(name, int(pttl), now)
        return meta

    async def types_of(self, keys: Iterable[bytes]) -> dict[bytes, str]:
        return {key: meta.type for key, meta in (await self.key_meta(keys)).items()}

    async def pttl(self, key: bytes) -> int:
        return int(await self.redis.pttl(key))

    async def exists(self, key: bytes) -> bool:
        return bool(await self.redis.exists(key))

    async def delete(self, key: bytes) -> int:
        try:
            return int(await self.redis.unlink(key))
        except ResponseError:
            return int(await self.redis.delete(key))

    async def rename(self, key: bytes, new: bytes) -> None:
        await self.execute("RENAME", key, new)

    async def expire(self, key: bytes, seconds: int) -> bool:
        return bool(await self.redis.expire(key, seconds))

    async def persist(self, key: bytes) -> bool:
        return bool(await self.redis.persist(key))

    async def object_encoding(self, key: bytes) -> str | None:
        try:
            value = await self.redis.object("encoding", key)
        except ResponseError:
            return None
        return value.decode() if isinstance(value, bytes) else value

    # -- strings ----------------------------------------------------------------

    async def string_slice(self, key: bytes, start: int, length: int) -> tuple[int, bytes]:
        """STRLEN and ``length`` bytes from ``start`` (GETRANGE), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.strlen(key)
        pipe.getrange(key, start, start + length - 1)
        total, chunk = await pipe.execute()
        return int(total), bytes(chunk)

    async def set_string(self, key: bytes, value: bytes, keep_ttl: bool = True) -> None:
        await self.redis.set(key, value, keepttl=keep_ttl)

    # -- collections, page by page -----------------------------------------------

    async def length(self, key: bytes, type_: str) -> int:
        command = {"list": "LLEN", "hash": "HLEN", "set": "SCARD", "zset": "ZCARD", "stream": "XLEN"}[type_]
        return int(await self.redis.execute_command(command, key))

    async def list_page(self, key: bytes, start: int, count: int) -> list[bytes]:
        return list(await self.redis.lrange(key, start, start + count - 1))

    async def hash_page(
        self, key: bytes, cursor: int, count: int, match: bytes | None = None
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        next_cursor, fields = await self.redis.hscan(key, cursor, match=match, count=count)
        return int(next_cursor), list(fields.items())

    async def set_page(
        self, key: bytes, cursor: int, count: int, match: bytes | None = None
    ) -> tuple[int, list[bytes]]:
        next_cursor, members = await self.redis.sscan(key, cursor, match=match, count=count)
        return int(next_cursor), list(members)

    async def zset_page(self, key: bytes, start: int, count: int) -> list[tuple[bytes, float]]:
        return list(await self.redis.zrange(key, start, start + count - 1, withscores=True))

    async def zset_scan(
        self, key: bytes, cursor: int, count: int, match: bytes
    ) -> tuple[int, list[tuple[bytes, float]]]:
        """ZSCAN MATCH: members matching a glob, in no order (with their scores)."""
        next_cursor, pairs = await self.redis.zscan(key, cursor, match=match, count=count)
        return int(next_cursor), [(member, float(score)) for member, score in pairs]

    async def zset_rank_of_score(self, key: bytes, score: float) -> int:
        """The rank of the first member scored ``score`` or more (ZCOUNT -inf (score)."""
        return int(await self.redis.zcount(key, "-inf", f"({score!r}"))

    async def stream_page(
        self, key: bytes, after: bytes | None, count: int
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """XRANGE entries strictly after ``after`` (or from the start)."""
        start = b"-" if after is None else b"(" + after
        return [
            (entry_id, fields) for entry_id, fields in await self.redis.xrange(key, start, b"+", count=count)
        ]

    async def scan_keys(self, match: bytes, limit: int, type_: str | None = None) -> AsyncIterator[bytes]:
        """Up to ``limit`` keys matching ``match`` (and ``type_``), SCAN page by page."""
        cursor, seen = 0, 0
        while True:
            page = await self.scan_page(cursor, match=match, type_=type_)
            for key in page.keys:
                yield key
                seen += 1
                if seen >= limit:
                    return
            cursor = page.cursor
            if cursor == 0:
                return

    async def execute(self, *args: Any) -> Any:
        """Any command, for editors; errors propagate to the caller who shows them.

        redis-py's cluster client refuses keys of different slots itself: that becomes Redis's CROSSSLOT.
        """
        try:
            return await self.redis.execute_command(*args)
        except RedisClusterException as error:
            if "same key slot" in str(error):
                raise ResponseError(CROSSSLOT) from error
            raise

    def pubsub(self) -> aioredis.client.PubSub:
        return self.redis.pubsub()


def client_of(app: object) -> ExplorerClient:
    """The explorer's connection, from a widget's ``self.app`` (typed as a plain Textual ``App``)."""
    return cast(ExplorerClient, getattr(app, "client"))  # noqa: B009
