"""``appendfsync always`` with group commit: one write and fsync per loop turn, replies after it.

The server runs in this process (so ``os.fsync`` can be counted) on a real
socket; 50 clients each send writes one at a time, as redis-benchmark does.
Every reply must arrive only once the write it acknowledges is in the synced
part of the AOF, and the fsyncs must be far fewer than the writes (before the
group commit there was one fsync per command).
"""

from __future__ import annotations

import asyncio
import os

from server.main import build_server, run
from tests.servers import free_port

CLIENTS = 50
WRITES = 20


def test_always_fsyncs_once_per_loop_turn_and_replies_after_it(tmp_path, monkeypatch):
    port = free_port()
    server = build_server(["--port", str(port), "--dir", str(tmp_path), "--save", "",
                           "--appendonly", "yes", "--appendfsync", "always", "--set-proc-title", "no"])
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    synced = {"size": 0, "calls": 0}
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        real_fsync(fd)
        synced["calls"] += 1
        synced["size"] = max(synced["size"], os.path.getsize(incr)) if incr.exists() else 0

    monkeypatch.setattr(os, "fsync", counting_fsync)
    late: list[str] = []

    async def one_client(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(WRITES):
            key = b"c%d:%d" % (n, i)
            writer.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$1\r\nv\r\n" % (len(key), key))
            assert await reader.readline() == b"+OK\r\n"
            if key not in incr.read_bytes()[:synced["size"]]:  # acknowledged before it was synced
                late.append(key.decode())
        writer.close()

    async def main() -> None:
        task = asyncio.create_task(run(server))
        for _ in range(200):
            if server.tcp_port:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        before = synced["calls"]
        await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
        synced["during"] = synced["calls"] - before
        assert server.shutdown_requested is not None
        server.shutdown_requested()
        await task

    asyncio.run(main())
    assert not late, late[:5]
    writes = CLIENTS * WRITES
    assert synced["during"] <= writes // 5, f"{synced['during']} fsyncs for {writes} writes"
    assert incr.read_bytes().count(b"SET") == writes
