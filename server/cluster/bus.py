"""The cluster bus's connections: one asyncio protocol per link, in both directions.

A node opens a link to every node it knows (``connect``, called by the cron for
nodes without one) and accepts links from them on the bus port (``listen``).
Bytes in are cut into messages by the header's length and handed to
``Cluster.process``; a bad signature or an impossible length closes the link,
which the cron opens again later. A link that is still connecting queues what
is sent to it.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, cast

from server.cluster import wire
from server.cluster.state import mstime
from server.config import ConfigError
from server.tls import bus_context, client_context

if TYPE_CHECKING:
    from server.cluster.state import Cluster, Node

MAX_MESSAGE = 1 << 30
LINK_OVERHEAD = 64  # a link's own record, counted as Redis counts sizeof(clusterLink)
RECEIVE_BUFFER = 1024  # the receive buffer a link starts with (RCVBUF_INIT_LEN)


class Link(asyncio.Protocol):
    """One TCP connection of the bus (clusterLink). ``inbound`` links were accepted:
    their node is learnt from the first message that names a known sender."""

    def __init__(self, cluster: Cluster, node: Node | None) -> None:
        self.cluster = cluster
        self.node = node
        self.inbound = node is None
        self.ctime = mstime()
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []  # sent before the connection was made
        self.buffer = bytearray()
        self.closed = False
        self.sent_bytes = 0

    # -- asyncio ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self.closed:
            self.transport.close()
            return
        for data in self.pending:
            self.transport.write(data)
        self.pending = []
        node = self.node
        if not self.inbound and node is not None:
            # The first message: a PING at once (so failure detection has a ping to time), or a
            # MEET while in handshake, which makes the other side add us (clusterLinkConnectHandler).
            old_ping_sent = node.ping_sent
            self.cluster.send_ping(self, wire.MEET if node.flags & wire.MEET_FLAG else wire.PING)
            if old_ping_sent:
                node.ping_sent = old_ping_sent
            node.flags &= ~wire.MEET_FLAG

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 8:
            if buffer[:4] != wire.SIGNATURE:
                self._bad()
                return
            total = int.from_bytes(buffer[4:8], "big")
            if total < wire.HEADER_LEN or total > MAX_MESSAGE:
                self._bad()
                return
            if len(buffer) < total:
                return
            raw = bytes(buffer[:total])
            del buffer[:total]
            try:
                msg = wire.decode(raw)
            except wire.BadMessage as exc:
                mtype = int.from_bytes(raw[12:14], "big")
                name = wire.TYPE_NAMES[mtype] if mtype < wire.TYPE_COUNT else "unknown"
                self.cluster.log("warning", f"Received invalid {name} packet: {exc}")
                continue
            if not self.cluster.process(self, msg) or self.closed:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self._detach()

    # -- ours ------------------------------------------------------------------

    def _bad(self) -> None:
        self.cluster.log("warning", "Bad message length or signature received from Cluster bus.")
        self.close()

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        self.sent_bytes += len(data)
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.write(data)

    def close(self) -> None:
        """Free the link (freeClusterLink): the node forgets it, the cron reconnects."""
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self._detach()

    def _detach(self) -> None:
        self.closed = True
        node = self.node
        if node is not None:
            if node.link is self:
                node.link = None
            elif node.inbound_link is self:
                node.inbound_link = None

    def buffered(self) -> int:
        """Bytes sent to the link that the peer has not taken yet (Redis's sndbuf)."""
        if self.transport is None:
            return sum(map(len, self.pending))
        return self.transport.get_write_buffer_size()

    def memory(self) -> int:
        """What the link holds (getClusterLinkMemUsage): its record, unsent and unparsed bytes."""
        return LINK_OVERHEAD + self.buffered() + max(len(self.buffer), RECEIVE_BUFFER)


def _ip(link: Link, end: str) -> str:
    """The IP of one end of the link ("peername" or "sockname"), "" while it has no socket."""
    address = link.transport.get_extra_info(end) if link.transport is not None else None
    return str(address[0]) if address else ""


def peer_ip(link: Link) -> str:
    return _ip(link, "peername")


def sock_ip(link: Link) -> str:
    return _ip(link, "sockname")


async def listen(cluster: Cluster) -> list[asyncio.AbstractServer]:
    """Accept bus links on every ``bind`` address at the bus port."""
    loop = asyncio.get_running_loop()
    port = cluster.bus_port()
    context = bus_context(cluster.server.config) if cluster.setting("tls-cluster") else None
    servers: list[asyncio.AbstractServer] = []
    for addr in cluster.server.config.get_str_list("bind"):
        optional = addr.startswith("-")
        host = addr.lstrip("-")
        if host == "*":
            host = "0.0.0.0"
        try:
            servers.append(await loop.create_server(lambda: Link(cluster, None), host, port, reuse_address=True,
                                                    ssl=context))
        except OSError as exc:
            if optional:
                continue
            cluster.log("warning", f"Failed listening on port {port} (cluster), aborting.")
            raise OSError(f"Failed listening on port {port} (cluster): {exc}") from exc
    return servers


def connect(cluster: Cluster, node: Node) -> None:
    """Open the outbound link to ``node``; its first message is a PING (a MEET during a handshake)."""
    loop = cluster.server.loop
    if loop is None or not node.ip or not node.cport:
        return
    link = Link(cluster, node)
    node.link = link

    async def dial() -> None:
        try:
            context = client_context(cluster.server.config) if cluster.setting("tls-cluster") else None
            await asyncio.wait_for(loop.create_connection(lambda: link, node.ip, node.cport, ssl=context),
                                   max(cluster.node_timeout, 1000) / 1000)
        except (OSError, asyncio.TimeoutError, ConfigError) as exc:
            cluster.log("verbose", f"Connection with Node {node.name.decode()} at {node.ip}:{node.cport} "
                                   f"failed: {exc}")
            if node.ping_sent == 0:
                node.ping_sent = mstime()
            link.close()

    loop.create_task(dial())
