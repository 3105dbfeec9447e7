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
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ResponseError

KEY_TYPES = ("string", "list", "hash", "set", "zset", "stream")


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
        if self.url is not None:
            return aioredis.Redis.from_url(self.url, **common)
        if self.unix_socket:
            return aioredis.Redis(unix_socket_path=self.unix_socket, **common)
        return aioredis.Redis(host=self.host, port=self.port, ssl=self.tls, **common)


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

    @property
    def db(self) -> int:
        return self.spec.db

    async def close(self) -> None:
        await self.redis.aclose()

    async def select(self, db: int) -> None:
        """Switch to another logical database (a new pool; SELECT on a pool would be per-connection)."""
        await self.redis.aclose()
        self.spec = self.spec.with_db(db)
        self.redis = self.spec.connect()

    # -- server -----------------------------------------------------------------

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def info(self, section: str | None = None) -> dict[str, Any]:
        return await self.redis.info(section) if section else await self.redis.info()

    async def dbsize(self) -> int:
        return int(await self.redis.dbsize())

    async def database_count(self) -> int:
        """How many logical databases the server has (CONFIG GET databases, else 16)."""
        try:
            reply = await self.redis.config_get("databases")
            return int(reply.get(b"databases") or reply.get("databases") or 16)
        except (ResponseError, ValueError):
            return 16

    async def notify_flags(self) -> str | None:
        """The server's ``notify-keyspace-events`` value, or None when CONFIG GET is refused."""
        try:
            reply = await self.redis.config_get("notify-keyspace-events")
        except ResponseError:
            return None
        value = reply.get(b"notify-keyspace-events", reply.get("notify-keyspace-events"))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def enable_keyspace_events(self) -> str:
        """Turn on keyspace notifications for every class (keeps existing flags); returns the new value."""
        current = await self.notify_flags() or ""
        wanted = "".join(dict.fromkeys(current + "KA"))
        await self.redis.config_set("notify-keyspace-events", wanted)
        return wanted

    # -- keys -------------------------------------------------------------------

    async def scan_page(
        self, cursor: int, match: bytes | None = None, type_: str | None = None, count: int = 1000
    ) -> ScanPage:
        """One SCAN step (never KEYS)."""
        next_cursor, keys = await self.redis.scan(cursor, match=match, count=count, _type=type_)
        return ScanPage(int(next_cursor), list(keys))

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
        await self.redis.rename(key, new)

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

    async def hash_page(self, key: bytes, cursor: int, count: int) -> tuple[int, list[tuple[bytes, bytes]]]:
        next_cursor, fields = await self.redis.hscan(key, cursor, count=count)
        return int(next_cursor), list(fields.items())

    async def set_page(self, key: bytes, cursor: int, count: int) -> tuple[int, list[bytes]]:
        next_cursor, members = await self.redis.sscan(key, cursor, count=count)
        return int(next_cursor), list(members)

    async def zset_page(self, key: bytes, start: int, count: int) -> list[tuple[bytes, float]]:
        return list(await self.redis.zrange(key, start, start + count - 1, withscores=True))

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
        """Any command, for editors; errors propagate to the caller who shows them."""
        return await self.redis.execute_command(*args)

    def pubsub(self) -> aioredis.client.PubSub:
        return self.redis.pubsub()


def client_of(app: object) -> ExplorerClient:
    """The explorer's connection, from a widget's ``self.app`` (typed as a plain Textual ``App``)."""
    return cast(ExplorerClient, getattr(app, "client"))  # noqa: B009
