"""A TCP proxy in front of cluster nodes' bus ports, able to cut one node off the others.

Each node announces its proxy's port as its bus port (``cluster-announce-bus-port``), so
every bus link between nodes passes through a proxy: the link that node A opens to node
B goes through B's proxy. ``isolate(name)`` cuts a node off: its own proxy drops every
link and refuses new ones, and the other proxies drop the links the node opened to them
(recognised by the sender name in the first message's header) and refuse its new ones.
``heal()`` lets links through again; the nodes' crons reconnect by themselves.

The proxy runs an asyncio loop in a thread of the test process; the nodes' client
ports (and so replication) are not proxied.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

SENDER = slice(40, 80)  # the sender's name in the bus message header (clusterMsg.sender)
HEAD = SENDER.stop


class BusProxies:
    """One proxy per node, all on one event loop in a thread of their own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bus-proxy", daemon=True)
        self.thread.start()
        self.isolated: set[bytes] = set()
        # Live links: (name of the node behind the proxy, sender's name, both transports).
        self.links: list[tuple[bytes, bytes, asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.servers: list[asyncio.Server] = []
        self.names: dict[int, bytes] = {}  # proxy port -> the name of the node behind it

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def add(self, bus_port: int) -> int:
        """A proxy forwarding to ``bus_port``; returns the proxy's port."""
        return int(self._run(self._listen(bus_port)))

    def name(self, proxy_port: int, node_name: bytes) -> None:
        """Says which node is behind a proxy (known once the node answers CLUSTER MYID)."""
        self.names[proxy_port] = node_name

    def isolate(self, node_name: bytes) -> None:
        self._run(self._isolate(node_name))

    def heal(self) -> None:
        self._run(self._heal())

    def close(self) -> None:
        self._run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    # -- in the loop's thread -----------------------------------------------------------

    def _cut(self, target: bytes, sender: bytes) -> bool:
        return target in self.isolated or sender in self.isolated

    async def _listen(self, bus_port: int) -> int:
        server: asyncio.Server | None = None

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert server is not None
            port = server.sockets[0].getsockname()[1]
            await self._serve(port, bus_port, reader, writer)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _serve(self, port: int, bus_port: int, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readexactly(HEAD)  # the connecting node always speaks first
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        target, sender = self.names.get(port, b""), head[SENDER]
        if self._cut(target, sender):
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", bus_port)
        except OSError:
            writer.transport.abort()
            return
        up_writer.write(head)
        link = (target, sender, writer, up_writer)
        self.links.append(link)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            if link in self.links:
                self.links.remove(link)
            writer.transport.abort()
            up_writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _isolate(self, node_name: bytes) -> None:
        self.isolated.add(node_name)
        for target, sender, writer, up_writer in list(self.links):
            if self._cut(target, sender):
                writer.transport.abort()
                up_writer.transport.abort()

    async def _heal(self) -> None:
        self.isolated.clear()

    async def _close(self) -> None:
        for server in self.servers:
            server.close()
        for _target, _sender, writer, up_writer in list(self.links):
            writer.transport.abort()
            up_writer.transport.abort()
