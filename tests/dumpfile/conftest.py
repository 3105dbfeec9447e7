"""Dump files written by redis-server 7.0 and by our server, once per test session.

Each writer gets the dataset of `tests.dumpfile.dataset` (every type and encoding),
then SAVEs an RDB file; a second server of each kind writes a multi-part AOF
directory (appendonly yes) of the same dataset. Alongside every file the fixture
keeps what the server itself said about each key (type, DUMP length, expiry, length),
so the tests compare the analysis with the server's own answers, not with our reader.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.dumpfile.dataset import populate
from tests.servers import ServerProcess, bundled_available, require_tool, server_process

LENGTH = {b"string": "STRLEN", b"list": "LLEN", b"set": "SCARD", b"zset": "ZCARD", b"hash": "HLEN",
          b"stream": "XLEN"}


@dataclass
class KeyFacts:
    type: str
    encoding: str
    dump_len: int  # DUMP payload: type byte, value, 2-byte version, 8-byte CRC
    expire_ms: int | None
    length: int


@dataclass
class Written:
    """A dump written by a server, and the facts the server gave about its keys before saving."""

    kind: str
    path: Path  # the RDB file, or the AOF directory
    keys: dict[tuple[int, bytes], KeyFacts] = field(default_factory=dict)
    dbsize: dict[int, int] = field(default_factory=dict)
    functions: int = 0


def key_record_size(key: bytes, facts: KeyFacts) -> int:
    """The bytes the key's record takes in an RDB file, counted from its DUMP payload.

    Record = [expiry opcode + 8 bytes] + type byte + key string + value; the payload is
    type byte + value + 10 bytes of footer. The dataset's keys are short and not integers,
    so each is stored as a one-byte length and its bytes.
    """
    assert len(key) < 64
    return (9 if facts.expire_ms is not None else 0) + facts.dump_len - 10 + 1 + len(key)


def facts_of(conn: redis.Redis, databases: list[int]) -> tuple[dict[tuple[int, bytes], KeyFacts], dict[int, int]]:
    keys: dict[tuple[int, bytes], KeyFacts] = {}
    sizes: dict[int, int] = {}
    for db in databases:
        conn.select(db)
        sizes[db] = conn.dbsize()
        for key in conn.scan_iter(count=1000):
            type_ = conn.type(key)
            expire = conn.execute_command("PEXPIRETIME", key)
            keys[(db, key)] = KeyFacts(
                type=type_.decode(),
                encoding=conn.object("ENCODING", key).decode(),
                dump_len=len(conn.dump(key)),
                expire_ms=None if expire < 0 else expire,
                length=conn.execute_command(LENGTH[type_], key),
            )
    conn.select(0)
    return keys, sizes


def write(kind: str, aof: bool, where: Path) -> Written:
    if kind == "redis-server":
        require_tool("redis-server")
    elif not bundled_available():
        pytest.fail("server/__main__.py is missing")
    process: ServerProcess = server_process(kind)
    if aof:
        process.extra = ["--appendonly", "yes", "--appendfsync", "always"]
    process.start()
    try:
        with process.client(single_connection_client=True) as conn:
            populate(conn)
            keys, sizes = facts_of(conn, [0, 1, 3])
            functions = len(conn.function_list())
            if not aof:
                conn.execute_command("SAVE")
        if aof:
            process.stop()
            target = where / f"{kind}-appendonlydir"
            shutil.copytree(process.workdir / "appendonlydir", target)
        else:
            target = where / f"{kind}.rdb"
            shutil.copyfile(process.workdir / "dump.rdb", target)
    finally:
        process.stop()
    return Written(kind, target, keys, sizes, functions)


@pytest.fixture(scope="session", params=["redis-server", "bundled"])
def rdb_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Written]:
    yield write(request.param, False, tmp_path_factory.mktemp("rdb"))


@pytest.fixture(scope="session", params=["redis-server", "bundled"])
def aof_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Written]:
    yield write(request.param, True, tmp_path_factory.mktemp("aof"))
