"""Cluster mode: this node's view of the cluster, kept in agreement with its peers.

``Cluster`` is the subsystem ``Server`` builds when ``cluster-enabled`` is on. It
holds the known nodes (``Node``), which node serves each of the 16384 slots, the
slots being migrated or imported, the epochs, and the links of the cluster bus
(server/cluster/bus.py). It follows Redis 7.0's rules (cluster.c):

- ``nodes.conf`` is CLUSTER NODES' text plus a ``vars`` line; it is written in
  place and fsynced whenever the configuration changes, locked with flock while
  the node runs, and a file that does not parse stops start-up untouched;
- every 100 ms ``cron`` connects to nodes without a link, pings, and flags nodes
  that have not answered within ``cluster-node-timeout`` as PFAIL; a PFAIL node
  that a majority of masters reports failing becomes FAIL, which is broadcast;
- PING / PONG / MEET carry the sender's slots and config epoch: the newer config
  epoch wins a slot, an outdated claimant is sent an UPDATE, two masters with the
  same config epoch move apart (the smaller name bumps);
- ``route`` decides whether a command's keys are served here or answered with
  -MOVED / -ASK / -TRYAGAIN / -CROSSSLOT / -CLUSTERDOWN.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import os
import random
import shlex
import time
from collections.abc import Callable, Iterator
from itertools import groupby
from typing import TYPE_CHECKING

from server.cluster import wire
from server.cluster.slots import SLOTS, SlotIndex, key_slot
from server.protocol import Error

if TYPE_CHECKING:
    from server.client import Client
    from server.cluster.bus import Link
    from server.command import Command
    from server.instance import Server

PORT_INCR = 10000
FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2
BLACKLIST_TTL = 60
WRITABLE_DELAY = 2000
MAX_REJOIN_DELAY = 5000
MIN_REJOIN_DELAY = 500
CRON_PERIOD = 0.1
FLAG_BITS = {name: bit for bit, name in wire.FLAG_NAMES}  # nodes.conf's flag words

CROSSSLOT = Error(b"CROSSSLOT Keys in request don't hash to the same slot")
TRYAGAIN = Error(b"TRYAGAIN Multiple keys request during rehashing of slot")
DOWN = Error(b"CLUSTERDOWN The cluster is down")
DOWN_RO = Error(b"CLUSTERDOWN The cluster is down and only accepts read commands")
UNBOUND = Error(b"CLUSTERDOWN Hash slot not served")

# Save nodes.conf / fsync it / re-evaluate the state, before the loop sleeps again.
TODO_SAVE, TODO_FSYNC, TODO_UPDATE_STATE = 1, 2, 4


def mstime() -> int:
    return int(time.time() * 1000)


def random_name() -> bytes:
    return os.urandom(20).hex().encode()


def set_bits(bitmap: int) -> Iterator[int]:
    """The positions of the 1 bits of ``bitmap``, lowest first (slot bitmaps as ints)."""
    while bitmap:
        low = bitmap & -bitmap
        yield low.bit_length() - 1
        bitmap ^= low


def valid_name(name: bytes) -> bool:
    return len(name) == wire.NAME_LEN and all(c in b"0123456789abcdef" for c in name)


def _is_write(argv: list[bytes]) -> bool:
    from server.dispatch import LOOKUP

    cmd = LOOKUP.get(argv[0]) or LOOKUP.get(argv[0].lower())
    return cmd is not None and cmd.is_write


def routing_keys(cmd: Command, argv: list[bytes]) -> list[int]:
    """The arguments routing looks at (getKeysFromCommand): the key-finding function's keys, else
    COMMAND INFO's legacy first/last/step range, shard channels included; none when short."""
    if cmd.getkeys is not None:
        return [pos for pos, _ in cmd.getkeys(argv)]
    first = cmd.first_key
    if first <= 0:
        return []
    last = cmd.last_key if cmd.last_key >= 0 else len(argv) + cmd.last_key
    if last >= len(argv):
        return []
    return list(range(first, last + 1, max(cmd.step, 1)))


class ClusterConfigError(Exception):
    """nodes.conf cannot be used: the server must not start (the reason is logged)."""


class Node:
    """One node of the cluster as this node knows it (clusterNode)."""

    __slots__ = (
        "name", "flags", "config_epoch", "slots", "numslots", "replicas", "master", "ctime", "ping_sent",
        "pong_received", "data_received", "fail_time", "voted_time", "repl_offset", "ip", "hostname", "port",
        "pport", "cport", "link", "inbound_link", "fail_reports", "gossip_round", "orphaned_time",
    )

    def __init__(self, name: bytes | None, flags: int) -> None:
        self.name = name if name is not None else random_name()
        self.flags = flags
        self.config_epoch = 0
        self.slots = bytearray(SLOTS // 8)
        self.numslots = 0
        self.replicas: list[Node] = []
        self.master: Node | None = None
        self.ctime = mstime()
        self.ping_sent = 0
        self.pong_received = 0
        self.data_received = 0
        self.fail_time = 0
        self.voted_time = 0
        self.repl_offset = 0
        self.ip = ""
        self.hostname = ""
        self.port = 0
        self.pport = 0
        self.cport = 0
        self.link: Link | None = None  # the connection we opened to it
        self.inbound_link: Link | None = None  # the connection it opened to us
        self.fail_reports: dict[bytes, tuple[Node, int]] = {}  # reporter name -> (reporter, time)
        self.gossip_round = 0
        self.orphaned_time = 0  # since when a master with slots has had no working replica

    def working_replicas(self) -> int:
        return sum(1 for replica in self.replicas if not replica.failed)

    @property
    def is_master(self) -> bool:
        return bool(self.flags & wire.MASTER)

    @property
    def is_replica(self) -> bool:
        return bool(self.flags & wire.REPLICA)

    @property
    def failed(self) -> bool:
        return bool(self.flags & wire.FAILED)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & wire.PFAIL)

    @property
    def in_handshake(self) -> bool:
        return bool(self.flags & wire.HANDSHAKE)

    def owns(self, slot: int) -> bool:
        return bool(self.slots[slot >> 3] & (1 << (slot & 7)))

    def flag_names(self) -> str:
        names = [text for bit, text in wire.FLAG_NAMES if self.flags & bit]
        return ",".join(names) if names else "noflags"


class Cluster:
    """This node's cluster state and the bus that keeps it in agreement (clusterState)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        config = server.config
        self.config_file = os.path.join(config.get_str("dir") or ".", config.get_str("cluster-config-file")) \
            if not os.path.isabs(config.get_str("cluster-config-file")) else config.get_str("cluster-config-file")
        self.nodes: dict[bytes, Node] = {}
        self.blacklist: dict[bytes, float] = {}
        self.slots: list[Node | None] = [None] * SLOTS
        self.migrating: dict[int, Node] = {}
        self.importing: dict[int, Node] = {}
        self.owner_not_claiming = 0  # slots whose owner stopped claiming them, as an int bitmap
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.state_ok = False
        self.size = 1
        self.todo = 0
        self.sent = [0] * wire.TYPE_COUNT
        self.received = [0] * wire.TYPE_COUNT
        self.pfail_nodes = 0
        self.links_buffer_limit_exceeded = 0
        self.links_memory = 0  # the links' buffers, as of the last cron (INFO's mem_cluster_links)
        self.first_state_call = 0
        self.among_minority_time = 0
        self.iteration = 0
        self.gossip_round = 0
        self.mf_end = 0
        self.listeners: list[asyncio.AbstractServer] = []
        self._cron_handle: asyncio.TimerHandle | None = None
        self._todo_scheduled = False
        self.lock_fd = -1
        from server.cluster.failover import Failover

        self.failover = Failover(self)  # elections and manual failovers
        # The keys of database 0 by slot (cluster mode has database 0 only).
        db0 = server.keyspace.dbs[0]
        self.keys = SlotIndex(db0.data)
        db0.slot_keys = self.keys
        self._lock_config()
        loaded = self._load_config()
        if not loaded:
            me = Node(None, wire.MYSELF | wire.MASTER)
            self.myself = me
            self._add_node(me)
            self.log("notice", f"No cluster configuration found, I'm {me.name.decode()}")
            self.save_or_die(True)
        self._update_myself_address()

    # ------------------------------------------------------------------ settings

    @property
    def node_timeout(self) -> int:
        return self.server.config.get_int("cluster-node-timeout")

    def setting(self, name: str) -> bool:
        return bool(self.server.config[name])

    def log(self, level: str, message: str) -> None:
        self.server.log(level, message)

    def _client_ports(self) -> tuple[int, int]:
        """(the port the cluster knows this node by, the plaintext one in a TLS cluster, else 0):
        with tls-cluster the nodes tell each other, and TLS clients, their TLS ports."""
        config = self.server.config
        plain = self.server.tcp_port or config.port
        if self.setting("tls-cluster"):
            return self.server.tls_port or config.get_int("tls-port"), plain
        return plain, 0

    def announced_ports(self) -> tuple[int, int, int]:
        """(client port, plaintext port, bus port) as this node announces them (deriveAnnouncedPorts)."""
        config = self.server.config
        port, pport = self._client_ports()
        announced_tls = config.get_int("cluster-announce-tls-port")
        announced = config.get_int("cluster-announce-port")
        if pport and announced_tls:
            port, pport = announced_tls, announced
        elif announced:
            port = announced
        return port, pport, config.get_int("cluster-announce-bus-port") or self.bus_port()

    def bus_port(self) -> int:
        return self.server.config.get_int("cluster-port") or self._client_ports()[0] + PORT_INCR

    def plaintext_for(self, client: Client) -> bool:
        """Whether ``client`` is told nodes' plaintext ports (Redis's use_pport): in a TLS cluster,
        a client that is not on TLS."""
        return self.setting("tls-cluster") and not client.tls

    @staticmethod
    def client_port(node: Node, plaintext: bool) -> int:
        return node.pport if plaintext and node.pport else node.port

    def _update_myself_address(self) -> None:
        me = self.myself
        me.port, me.pport, me.cport = self.announced_ports()
        announce_ip = self.server.config.get_str("cluster-announce-ip")
        if announce_ip:
            me.ip = announce_ip
        me.hostname = self.server.config.get_str("cluster-announce-hostname")
        nofailover = self.setting("cluster-replica-no-failover")
        me.flags = (me.flags & ~wire.NOFAILOVER) | (wire.NOFAILOVER if nofailover else 0)

    # ------------------------------------------------------------------ nodes.conf

    def _lock_config(self) -> None:
        """Hold an flock on nodes.conf while running: two nodes must never share one file."""
        try:
            fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            self.log("warning", f"Can't open {self.config_file} in order to acquire a lock: {exc.strerror}")
            raise ClusterConfigError(str(exc)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            self.log("warning", f"Sorry, the cluster configuration file {self.config_file} is already used by a "
                                "different Redis Cluster node. Please make sure that different nodes use different "
                                "cluster configuration files.")
            raise ClusterConfigError("cluster config file locked") from exc
        self.lock_fd = fd

    def _load_config(self) -> bool:
        """Read nodes.conf (clusterLoadConfig). False when there is none (or it is empty)."""
        try:
            with open(self.config_file, "rb") as fh:
                text = fh.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.log("warning", f"Loading the cluster node config from {self.config_file}: {exc.strerror}")
            raise ClusterConfigError(str(exc)) from exc
        if not text:
            return False
        try:
            self._parse_config(text)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            self.log("warning", "Unrecoverable error: corrupted cluster config file.")
            raise ClusterConfigError(f"corrupted cluster config file {self.config_file}: {exc}") from exc
        self.log("notice", f"Node configuration loaded, I'm {self.myself.name.decode()}")
        max_epoch = self.max_epoch()
        if max_epoch > self.current_epoch:
            self.current_epoch = max_epoch
        return True

    def _parse_config(self, text: bytes) -> None:
        myself: Node | None = None
        for raw_line in text.decode("latin-1").split("\n"):
            if not raw_line.strip():
                continue
            argv = shlex.split(raw_line)
            if not argv:
                continue
            if argv[0].lower() == "vars":
                if len(argv) % 2 == 0:
                    raise ValueError("vars line with an odd number of fields")
                for key, value in zip(argv[1::2], argv[2::2]):
                    if key.lower() == "currentepoch":
                        self.current_epoch = int(value)
                    elif key.lower() == "lastvoteepoch":
                        self.last_vote_epoch = int(value)
                    else:
                        self.log("warning", f"Skipping unknown cluster config variable '{key}'")
                continue
            if len(argv) < 8:
                raise ValueError("a node line has fewer than eight fields")
            name = argv[0].encode()
            if not valid_name(name):
                raise ValueError(f"bad node name {argv[0]!r}")
            node = self._known_or_new(name)
            address, _, hostname = argv[1].partition(",")
            node.hostname = hostname
            if ":" not in address:
                raise ValueError(f"bad address {argv[1]!r}")
            node.ip, _, ports = address.rpartition(":")
            port, _, bus = ports.partition("@")
            node.port = int(port)
            node.cport = int(bus) if bus else node.port + PORT_INCR
            for flag in argv[2].lower().split(","):
                bit = FLAG_BITS.get(flag)
                if bit is None:
                    if flag != "noflags":
                        raise ValueError(f"unknown flag {flag!r}")
                    continue
                if bit == wire.MYSELF:
                    if myself is not None:
                        raise ValueError("two nodes flagged myself")
                    myself = node
                elif bit == wire.FAILED:
                    node.fail_time = mstime()
                node.flags |= bit
            if argv[3] != "-":
                master_name = argv[3].encode()
                if not valid_name(master_name):
                    raise ValueError(f"bad master name {argv[3]!r}")
                master = self._known_or_new(master_name)
                node.master = master
                if node not in master.replicas:
                    master.replicas.append(node)
            if int(argv[4]):
                node.ping_sent = mstime()
            if int(argv[5]):
                node.pong_received = mstime()
            node.config_epoch = 0 if (node.is_replica and node.master) else int(argv[6])
            for field in argv[8:]:
                if field.startswith("["):
                    slot_text, sep, rest = field[1:].partition("-")
                    if not sep or not rest.endswith("]") or len(rest) < 3:
                        raise ValueError(f"bad open slot {field!r}")
                    slot = int(slot_text)
                    direction, peer_name = rest[0], rest[2:-1].encode()
                    if not 0 <= slot < SLOTS or not valid_name(peer_name) or direction not in "<>":
                        raise ValueError(f"bad open slot {field!r}")
                    peer = self._known_or_new(peer_name)
                    (self.migrating if direction == ">" else self.importing)[slot] = peer
                    continue
                start_text, sep, stop_text = field.partition("-")
                start = int(start_text)
                stop = int(stop_text) if sep else start
                if not (0 <= start < SLOTS and 0 <= stop < SLOTS):
                    raise ValueError(f"slot out of range {field!r}")
                for slot in range(start, stop + 1):
                    self.add_slot(node, slot)
        if myself is None:
            raise ValueError("no node flagged myself")
        self.myself = myself

    def _known_or_new(self, name: bytes) -> Node:
        """The node of that name, added (without flags) if nodes.conf names it before its own line."""
        node = self.nodes.get(name)
        if node is None:
            node = Node(name, 0)
            self._add_node(node)
        return node

    def slot_runs(self) -> list[tuple[Node, int, int]]:
        """Maximal runs of consecutive slots served by one node, in slot order (one pass for all nodes)."""
        runs: list[tuple[Node, int, int]] = []
        start = 0
        for node, group in groupby(self.slots):
            length = sum(1 for _ in group)
            if node is not None:
                runs.append((node, start, start + length - 1))
            start += length
        return runs

    def describe_nodes(self, skip_flags: int = 0, plaintext: bool = False) -> str:
        """CLUSTER NODES' text (and nodes.conf's, which skips nodes in handshake)."""
        ranges: dict[bytes, list[tuple[int, int]]] = {}
        for owner, start, end in self.slot_runs():
            ranges.setdefault(owner.name, []).append((start, end))
        lines = [self.describe(node, ranges.get(node.name, []), plaintext) for node in self.nodes.values()
                 if not node.flags & skip_flags]
        return "".join(line + "\n" for line in lines)

    def describe(self, node: Node, ranges: list[tuple[int, int]] | None = None, plaintext: bool = False) -> str:
        """One node's line (clusterGenNodeDescription)."""
        address = f"{node.ip}:{self.client_port(node, plaintext)}@{node.cport}"
        if node.hostname:
            address += "," + node.hostname
        epoch = node.master.config_epoch if (node.is_replica and node.master) else node.config_epoch
        connected = "connected" if (node.link is not None or node.flags & wire.MYSELF) else "disconnected"
        parts = [node.name.decode(), address, node.flag_names(), node.master.name.decode() if node.master else "-",
                 str(node.ping_sent), str(node.pong_received), str(epoch), connected]
        if ranges is None:
            ranges = [(start, end) for owner, start, end in self.slot_runs() if owner is node]
        for start, end in ranges:
            parts.append(str(start) if start == end else f"{start}-{end}")
        if node.flags & wire.MYSELF:
            for slot in sorted(set(self.migrating) | set(self.importing)):
                if slot in self.migrating:
                    parts.append(f"[{slot}->-{self.migrating[slot].name.decode()}]")
                else:
                    parts.append(f"[{slot}-<-{self.importing[slot].name.decode()}]")
        return " ".join(parts)

    def save(self, fsync: bool) -> None:
        """Write nodes.conf in place (clusterSaveConfig): pad over a longer old file, then truncate."""
        self.todo &= ~TODO_SAVE
        content = (self.describe_nodes(wire.HANDSHAKE)
                   + f"vars currentEpoch {self.current_epoch} lastVoteEpoch {self.last_vote_epoch}\n").encode()
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            payload = content + b"\n" * (size - len(content)) if size > len(content) else content
            os.write(fd, payload)
            if fsync:
                self.todo &= ~TODO_FSYNC
                os.fsync(fd)
            if len(payload) != len(content):
                try:
                    os.ftruncate(fd, len(content))
                except OSError:
                    pass
        finally:
            os.close(fd)

    def save_or_die(self, fsync: bool) -> None:
        try:
            self.save(fsync)
        except OSError:
            self.log("warning", "Fatal: can't update cluster config file.")
            os._exit(1)

    # ------------------------------------------------------------------ start-up and the loop

    def verify_data(self) -> None:
        """After loading data (verifyClusterConfigWithData): keys elsewhere than db 0 stop the server;
        keys in slots nobody serves make them ours, keys in slots another node serves open them as
        importing, so that redis-cli --cluster fix can settle them."""
        for db in self.server.keyspace.dbs[1:]:
            if db.data:
                self.log("warning", "You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.")
                raise ClusterConfigError("keys in a database other than 0")
        if self.myself.is_replica:
            return
        changed = False
        for slot in self.keys.populated():
            owner = self.slots[slot]
            if owner is self.myself or slot in self.importing:
                continue
            changed = True
            if owner is None:
                self.log("warning", f"I have keys for unassigned slot {slot}. Taking responsibility for it.")
                self.add_slot(self.myself, slot)
            else:
                self.log("warning", f"I have keys for slot {slot}, but the slot is assigned to another node. "
                                    "Setting it to importing state.")
                self.importing[slot] = owner
        if changed:
            self.save_or_die(True)

    async def start(self) -> None:
        """Listen on the bus port and start the 100 ms cron (the client port is known by now)."""
        from server.cluster.bus import listen

        if not self.server.config.get_int("cluster-port") and self._client_ports()[0] > 65535 - PORT_INCR:
            # The bus would be past the last port (and the resolver quietly wraps such a number).
            self.log("warning", "Redis port number too high. Cluster communication port is 10,000 port numbers "
                                "higher than your Redis port. Your Redis port number must be 55535 or less.")
            raise ClusterConfigError("port number too high for the cluster bus")
        self._update_myself_address()
        self.listeners = await listen(self)
        self.save_or_die(True)
        loop = asyncio.get_running_loop()
        self._cron_handle = loop.call_later(CRON_PERIOD, self._tick)

    def stop(self) -> None:
        if self._cron_handle is not None:
            self._cron_handle.cancel()
        for listener in self.listeners:
            listener.close()
        for node in list(self.nodes.values()):
            for link in (node.link, node.inbound_link):
                if link is not None:
                    link.close()
        if self.todo & TODO_SAVE:
            try:
                self.save(True)
            except OSError:
                pass

    def _tick(self) -> None:
        loop = self.server.loop
        try:
            self.cron()
            self.before_sleep()
        except Exception as exc:  # never let the cluster's housekeeping stop the loop
            import traceback

            self.log("warning", f"cluster cron failed: {exc!r}\n{traceback.format_exc()}")
        if loop is not None and not loop.is_closed():
            self._cron_handle = loop.call_later(CRON_PERIOD, self._tick)

    def later(self, flags: int) -> None:
        """Ask for work before the loop sleeps (clusterDoBeforeSleep)."""
        self.todo |= flags
        loop = self.server.loop
        if not self._todo_scheduled and loop is not None:
            self._todo_scheduled = True
            loop.call_soon(self.before_sleep)

    def before_sleep(self) -> None:
        self._todo_scheduled = False
        todo, self.todo = self.todo, 0
        if todo & TODO_UPDATE_STATE:
            self.update_state()
        if todo & TODO_SAVE:
            self.save_or_die(bool(todo & TODO_FSYNC))

    # ------------------------------------------------------------------ the node table

    def _add_node(self, node: Node) -> None:
        self.nodes[node.name] = node

    def connections(self) -> int:
        """INFO's cluster_connections, counted as Redis does: two links per other known node."""
        return (len(self.nodes) - 1) * 2

    def lookup(self, name: bytes) -> Node | None:
        if not valid_name(name):
            return None
        return self.nodes.get(name)

    def forget(self, node: Node) -> None:
        """Remove a node and everything that points at it (clusterDelNode)."""
        for slot, peer in list(self.importing.items()):
            if peer is node:
                del self.importing[slot]
        for slot, peer in list(self.migrating.items()):
            if peer is node:
                del self.migrating[slot]
        if node.numslots:
            for slot in range(SLOTS):
                if self.slots[slot] is node:
                    self.del_slot(slot)
        for other in self.nodes.values():
            other.fail_reports.pop(node.name, None)
        self.nodes.pop(node.name, None)
        self._free_node(node)

    def _free_node(self, node: Node) -> None:
        for replica in node.replicas:
            replica.master = None
        if node.is_replica and node.master is not None and node in node.master.replicas:
            node.master.replicas.remove(node)
        for link in (node.link, node.inbound_link):
            if link is not None:
                link.close()
        node.link = node.inbound_link = None

    def rename(self, node: Node, name: bytes) -> None:
        self.log("debug", f"Renaming node {node.name.decode()} into {name.decode()}")
        self.nodes.pop(node.name, None)
        node.name = name
        self.nodes[name] = node

    def blacklist_add(self, node: Node) -> None:
        self._blacklist_cleanup()
        self.blacklist[node.name] = time.time() + BLACKLIST_TTL

    def blacklisted(self, name: bytes) -> bool:
        self._blacklist_cleanup()
        return name in self.blacklist

    def _blacklist_cleanup(self) -> None:
        now = time.time()
        for name in [name for name, until in self.blacklist.items() if until < now]:
            del self.blacklist[name]

    def max_epoch(self) -> int:
        return max([self.current_epoch] + [node.config_epoch for node in self.nodes.values()])

    def bump_epoch(self) -> bool:
        """A new config epoch for this node without agreement (clusterBumpConfigEpochWithoutConsensus)."""
        me = self.myself
        if me.config_epoch == 0 or me.config_epoch != self.max_epoch():
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            self.later(TODO_SAVE | TODO_FSYNC)
            self.log("warning", f"New configEpoch set to {me.config_epoch}")
            return True
        return False

    def epoch_collision(self, sender: Node) -> None:
        """Two masters with one config epoch: the one with the smaller name takes a new one."""
        me = self.myself
        if sender.config_epoch != me.config_epoch or not sender.is_master or not me.is_master:
            return
        if sender.name <= me.name:
            return
        self.current_epoch += 1
        me.config_epoch = self.current_epoch
        self.save_or_die(True)
        self.log("verbose", f"WARNING: configEpoch collision with node {sender.name.decode()}. "
                            f"configEpoch set to {me.config_epoch}")

    # ------------------------------------------------------------------ slots

    def add_slot(self, node: Node, slot: int) -> bool:
        if self.slots[slot] is not None:
            return False
        byte, bit = slot >> 3, 1 << (slot & 7)
        if not node.slots[byte] & bit:
            node.slots[byte] |= bit
            node.numslots += 1
            if node.numslots == 1 and self._masters_have_replicas():
                node.flags |= wire.MIGRATE_TO
        self.slots[slot] = node
        return True

    def del_slot(self, slot: int) -> bool:
        node = self.slots[slot]
        if node is None:
            return False
        me = self.myself
        if self.server.pubsub.shard_channels and (node is me or node is me.master or node.master is me):
            self.drop_shard_channels(slot)  # this shard no longer serves the slot (removeChannelsInSlot)
        byte, bit = slot >> 3, 1 << (slot & 7)
        if node.slots[byte] & bit:
            node.slots[byte] &= ~bit
            node.numslots -= 1
        self.slots[slot] = None
        return True

    def drop_shard_channels(self, slot: int) -> None:
        """Unsubscribe every client from the shard channels of ``slot``, each told with a push."""
        pubsub = self.server.pubsub
        for channel in [name for name in pubsub.shard_channels if key_slot(name) == slot]:
            for client in list(pubsub.shard_channels.get(channel, ())):
                client.push(pubsub.sunsubscribe(client, channel))

    def redirect_blocked_clients(self) -> None:
        """Clients blocked on keys of a slot now served elsewhere (or by nobody) get the redirection
        (clusterRedirectBlockedClientIfNeeded); with the cluster down, everyone blocked is told so."""
        blocking = self.server.blocking
        if not blocking.count:
            return
        me = self.myself
        for client in list(self.server.clients.values()):
            blocked = client.blocked
            if blocked is None or not blocked.keys:
                continue
            if not self.state_ok:
                blocking.finish(client, DOWN)
                continue
            slot = key_slot(blocked.keys[0])
            owner = self.slots[slot]
            if (client.readonly and me.is_replica and me.master is owner and blocked.argv
                    and not _is_write(blocked.argv)):
                continue
            if owner is not me and slot not in self.importing:
                blocking.finish(client, UNBOUND if owner is None else self.redirection(b"MOVED", slot, owner, client))

    def del_node_slots(self, node: Node) -> int:
        deleted = 0
        for slot in range(SLOTS):
            if node.owns(slot):
                self.del_slot(slot)
                deleted += 1
        return deleted

    def _masters_have_replicas(self) -> bool:
        return any(node.replicas for node in self.nodes.values() if not node.is_replica)

    def delete_keys_in_slot(self, slot: int) -> int:
        """Drop the keys of a slot this node lost (delKeysInSlot): each one a ``del`` event and a DEL
        for the AOF and replicas."""
        db = self.server.keyspace.dbs[0]
        keys = self.keys.keys(slot, len(db.data) + 1)
        effects = self.server.effects
        for key in keys:
            db.delete_with_event(key)
            if effects.active:
                effects.emit(db.id, [[b"DEL", key]])
        return len(keys)

    # ------------------------------------------------------------------ roles

    def set_node_as_master(self, node: Node) -> None:
        if node.is_master:
            return
        if node.master is not None:
            if node in node.master.replicas:
                node.master.replicas.remove(node)
            if node is not self.myself:
                node.flags |= wire.MIGRATE_TO
        node.flags = (node.flags & ~wire.REPLICA) | wire.MASTER
        node.master = None
        self.later(TODO_SAVE | TODO_UPDATE_STATE)

    def set_my_master(self, node: Node) -> None:
        """Make this node a replica of ``node`` (clusterSetMaster)."""
        me = self.myself
        if me.is_master:
            me.flags = (me.flags & ~(wire.MASTER | wire.MIGRATE_TO)) | wire.REPLICA
            self.del_node_slots(me)
            self.migrating.clear()
            self.importing.clear()
        elif me.master is not None and me in me.master.replicas:
            me.master.replicas.remove(me)
        me.master = node
        if me not in node.replicas:
            node.replicas.append(me)
        self.replicate_from(node)
        self.failover.reset_manual()

    def replicate_from(self, node: Node | None) -> None:
        """Point replication at ``node`` (replicationSetMaster), or stop replicating (None)."""
        replication = self.server.replication
        if node is None:
            replication.become_master()
        elif node.ip and node.port:
            replication.replicate_from(node.ip, node.port)

    def replication_offset(self) -> int:
        """The offset announced in headers: the stream fed (a master) or applied (a replica)."""
        return self.server.replication.offset

    def replication_data_age(self) -> int:
        """Milliseconds since this replica last heard from its master (an election's data age)."""
        link = self.server.replication.master
        now = time.monotonic()
        if link is None:
            return 1 << 40
        if link.connected:
            return int((now - link.last_io) * 1000)
        if not link.down_since:
            return 1 << 40  # never synchronised: no data worth promoting
        return int((now - link.down_since) * 1000)

    def later_call(self, function: Callable[[], None]) -> None:
        """Run ``function`` once the current event is handled (before the loop sleeps)."""
        loop = self.server.loop
        if loop is not None:
            loop.call_soon(function)

    def reset(self, hard: bool) -> None:
        """CLUSTER RESET (clusterReset): forget the others, drop the slots, become a master."""
        me = self.myself
        if me.is_replica:
            self.set_node_as_master(me)
            self.replicate_from(None)
            self.server.keyspace.dbs[0].clear()
        self.migrating.clear()
        self.importing.clear()
        self.del_node_slots(me)
        for node in list(self.nodes.values()):
            if node is not me:
                self.forget(node)
        if hard:
            self.current_epoch = 0
            self.last_vote_epoch = 0
            me.config_epoch = 0
            self.log("warning", "configEpoch set to 0 via CLUSTER RESET HARD")
            self.rename(me, random_name())
            self.log("notice", f"Node hard reset, now I'm {me.name.decode()}")
        self.later(TODO_SAVE | TODO_UPDATE_STATE | TODO_FSYNC)

    # ------------------------------------------------------------------ the state

    def update_state(self) -> None:
        """ok or fail (clusterUpdateState): full coverage if required, and a majority of masters reachable."""
        self.todo &= ~TODO_UPDATE_STATE
        now = mstime()
        if self.first_state_call == 0:
            self.first_state_call = now
        me = self.myself
        if me.is_master and not self.state_ok and now - self.first_state_call < WRITABLE_DELAY:
            return
        new_ok = True
        if self.setting("cluster-require-full-coverage"):
            for node in self.slots:
                if node is None or node.flags & wire.FAILED:
                    new_ok = False
                    break
        size = 0
        reachable = 0
        for node in self.nodes.values():
            if node.is_master and node.numslots:
                size += 1
                if not node.flags & (wire.FAILED | wire.PFAIL):
                    reachable += 1
        self.size = size
        if reachable < size // 2 + 1:
            new_ok = False
            self.among_minority_time = now
        if new_ok != self.state_ok:
            rejoin = min(max(self.node_timeout, MIN_REJOIN_DELAY), MAX_REJOIN_DELAY)
            if new_ok and me.is_master and now - self.among_minority_time < rejoin:
                return
            self.log("warning", f"Cluster state changed: {'ok' if new_ok else 'fail'}")
            self.state_ok = new_ok

    # ------------------------------------------------------------------ routing

    def route(self, client: Client, cmd: Command, argv: list[bytes]) -> Error | None:
        """None if this node serves the command; else the redirection or error (getNodeByQuery)."""
        if client.kind == "master":
            return None  # the replication stream from our master is obeyed, never redirected
        asking = client.asking
        if not client.in_multi:
            client.asking = False
        if cmd.root_name == b"exec":
            if not client.in_multi:
                return None
            commands = [(queued, queued_argv) for queued, queued_argv in client.multi_queue]
        else:
            if not cmd.key_specs and cmd.getkeys is None:
                return None
            commands = [(cmd, argv)]
        first: bytes | None = None
        slot = 0
        owner: Node | None = None
        multiple = False
        migrating = importing = False
        missing = existing = 0
        shard_pubsub = cmd.root_name in (b"ssubscribe", b"sunsubscribe", b"spublish")
        write = False
        data = self.server.keyspace.dbs[0].data
        me = self.myself
        for one, one_argv in commands:
            write = write or one.is_write
            for pos in routing_keys(one, one_argv):
                key = one_argv[pos]
                this_slot = key_slot(key)
                if first is None:
                    first = key
                    slot = this_slot
                    owner = self.slots[slot]
                    if owner is None:
                        return UNBOUND
                    if owner is me and slot in self.migrating:
                        migrating = True
                    elif slot in self.importing:
                        importing = True
                elif key != first:
                    if slot != this_slot:
                        return CROSSSLOT
                    multiple = True
                if (migrating or importing) and not shard_pubsub:
                    if key in data:
                        existing += 1
                    else:
                        missing += 1
        if owner is None:
            return None
        if not self.state_ok:
            if shard_pubsub:
                if not self.setting("cluster-allow-pubsubshard-when-down"):
                    return DOWN
            elif not self.setting("cluster-allow-reads-when-down"):
                return DOWN
            elif write:
                return DOWN_RO
        if (migrating or importing) and cmd.root_name == b"migrate":
            return None
        if migrating and missing:
            if existing:
                return TRYAGAIN
            return self.redirection(b"ASK", slot, self.migrating[slot], client)
        if importing and (asking or "asking" in cmd.flags):
            if multiple and missing:
                return TRYAGAIN
            return None
        if (client.readonly or shard_pubsub) and not write and me.is_replica and me.master is owner:
            return None
        if owner is not me:
            return self.redirection(b"MOVED", slot, owner, client)
        return None

    def redirection(self, kind: bytes, slot: int, node: Node, client: Client) -> Error:
        port = self.client_port(node, self.plaintext_for(client))
        return Error(b"%s %d %s:%d" % (kind, slot, self.endpoint(node).encode(), port))

    def endpoint(self, node: Node) -> str:
        kind = self.server.config.get_str("cluster-preferred-endpoint-type")
        if kind == "ip":
            return node.ip
        if kind == "hostname":
            return node.hostname or "?"
        return ""

    # ------------------------------------------------------------------ periodic work

    def cron(self) -> None:
        """Every 100 ms (clusterCron): links, pings, timeouts, failure detection."""
        from server.cluster.bus import connect

        self.iteration += 1
        now = mstime()
        timeout = self.node_timeout
        handshake_timeout = max(timeout, 1000)
        self._update_myself_address()  # cluster-announce-* may have changed (CONFIG SET)
        self.pfail_nodes = 0
        limit = self.server.config.get_int("cluster-link-sendbuf-limit")
        links_memory = 0
        for node in list(self.nodes.values()):
            if limit:
                self._free_link_over_limit(node.link, limit)
                self._free_link_over_limit(node.inbound_link, limit)
            links_memory += sum(link.memory() for link in (node.link, node.inbound_link) if link is not None)
            if node.flags & (wire.MYSELF | wire.NOADDR):
                continue
            if node.flags & wire.PFAIL:
                self.pfail_nodes += 1
            if node.in_handshake and now - node.ctime > handshake_timeout:
                self.forget(node)
                continue
            if node.link is None:
                connect(self, node)
        self.links_memory = links_memory
        if self.iteration % 10 == 0:
            candidates = [node for node in random.sample(list(self.nodes.values()), min(5, len(self.nodes)))]
            best: Node | None = None
            for node in candidates:
                if node.link is None or node.ping_sent or node.flags & (wire.MYSELF | wire.HANDSHAKE):
                    continue
                if best is None or node.pong_received < best.pong_received:
                    best = node
            if best is not None and best.link is not None:
                self.send_ping(best.link, wire.PING)
        update = False
        for node in list(self.nodes.values()):
            now = mstime()
            if node.flags & (wire.MYSELF | wire.NOADDR | wire.HANDSHAKE):
                continue
            if self.mf_end and self.myself.is_master and self.failover.mf_replica is node and node.link:
                self.send_ping(node.link, wire.PING)  # a manual failover in progress: ping it each tick
                continue
            ping_delay = now - node.ping_sent
            data_delay = now - node.data_received
            link = node.link
            if (link is not None and now - link.ctime > timeout and node.ping_sent
                    and ping_delay > timeout / 2 and data_delay > timeout / 2):
                link.close()
                link = None
            if link is not None and node.ping_sent == 0 and now - node.pong_received > timeout / 2:
                self.send_ping(link, wire.PING)
                continue
            if node.ping_sent == 0:
                continue
            if min(ping_delay, data_delay) > timeout and not node.flags & (wire.PFAIL | wire.FAILED):
                self.log("debug", f"*** NODE {node.name.decode()} possibly failing")
                node.flags |= wire.PFAIL
                update = True
        me = self.myself
        if (me.is_replica and me.master is not None and me.master.ip and me.master.port
                and not self.server.replication.is_replica):
            self.replicate_from(me.master)  # a replica whose replication is off dials its master
        self.failover.cron()
        if update or not self.state_ok:
            self.update_state()
        self.redirect_blocked_clients()

    def _free_link_over_limit(self, link: Link | None, limit: int) -> None:
        """A link whose unsent bytes exceed cluster-link-sendbuf-limit is freed (a peer that stopped
        reading must not hold our memory); the cron opens the outbound one again."""
        if link is None or (used := link.buffered()) <= limit:
            return
        name = link.node.name.decode() if link.node is not None else ""
        self.log("warning", f"Freeing cluster link({'from' if link.inbound else 'to'} node {name}, used memory: "
                            f"{used}) due to exceeding send buffer memory limit.")
        link.close()
        self.links_buffer_limit_exceeded += 1

    # ------------------------------------------------------------------ failure reports

    def add_failure_report(self, failing: Node, sender: Node) -> bool:
        new = sender.name not in failing.fail_reports
        failing.fail_reports[sender.name] = (sender, mstime())
        return new

    def del_failure_report(self, failing: Node, sender: Node) -> bool:
        self._cleanup_reports(failing)
        return failing.fail_reports.pop(sender.name, None) is not None

    def failure_reports(self, node: Node) -> int:
        self._cleanup_reports(node)
        return len(node.fail_reports)

    def _cleanup_reports(self, node: Node) -> None:
        oldest = mstime() - self.node_timeout * FAIL_REPORT_VALIDITY_MULT
        for name in [name for name, (_, when) in node.fail_reports.items() if when < oldest]:
            del node.fail_reports[name]

    def mark_failing_if_needed(self, node: Node) -> None:
        quorum = self.size // 2 + 1
        if not node.timed_out or node.failed:
            return
        failures = self.failure_reports(node) + (1 if self.myself.is_master else 0)
        if failures < quorum:
            return
        self.log("notice", f"Marking node {node.name.decode()} as failing (quorum reached).")
        node.flags = (node.flags & ~wire.PFAIL) | wire.FAILED
        node.fail_time = mstime()
        self.broadcast(self.message(wire.FAIL, about=node.name))
        self.later(TODO_UPDATE_STATE | TODO_SAVE)

    def clear_failure_if_needed(self, node: Node) -> None:
        now = mstime()
        if node.is_replica or node.numslots == 0:
            kind = "replica" if node.is_replica else "master without slots"
            self.log("notice", f"Clear FAIL state for node {node.name.decode()}: {kind} is reachable again.")
            node.flags &= ~wire.FAILED
            self.later(TODO_UPDATE_STATE | TODO_SAVE)
        if node.is_master and node.numslots > 0 and now - node.fail_time > self.node_timeout * FAIL_UNDO_TIME_MULT:
            self.log("notice", f"Clear FAIL state for node {node.name.decode()}: is reachable again and nobody is "
                               "serving its slots after some time.")
            node.flags &= ~wire.FAILED
            self.later(TODO_UPDATE_STATE | TODO_SAVE)

    # ------------------------------------------------------------------ handshakes

    def start_handshake(self, ip: str, port: int, cport: int) -> str | None:
        """CLUSTER MEET: a new node in handshake (None), or why not ("EINVAL" / "EAGAIN")."""
        try:
            norm = str(ipaddress.ip_address(ip))
        except ValueError:
            return "EINVAL"
        if not (0 < port <= 65535 and 0 < cport <= 65535):
            return "EINVAL"
        for node in self.nodes.values():
            if node.in_handshake and node.ip.lower() == norm.lower() and node.port == port and node.cport == cport:
                return "EAGAIN"
        node = Node(None, wire.HANDSHAKE | wire.MEET_FLAG)
        node.ip, node.port, node.cport = norm, port, cport
        self._add_node(node)
        return None

    # ------------------------------------------------------------------ messages out

    def message(self, mtype: int, **fields: object) -> wire.Message:
        """A message with this node's header filled in (clusterBuildMessageHdr)."""
        me = self.myself
        master = me.master if (me.is_replica and me.master is not None) else me
        port, pport, cport = self.announced_ports()
        msg = wire.Message(
            type=mtype, sender=me.name, port=port, pport=pport, cport=cport, flags=me.flags & 0xFFFF,
            current_epoch=self.current_epoch, config_epoch=master.config_epoch,
            offset=self.replication_offset(), myslots=bytes(master.slots),
            master=me.master.name if me.master is not None else wire.NULL_NAME,
            myip=self.server.config.get_str("cluster-announce-ip"), state=0 if self.state_ok else 1,
            mflags=wire.MF_PAUSED if (me.is_master and self.mf_end) else 0)
        for name, value in fields.items():
            setattr(msg, name, value)
        return msg

    def send(self, link: Link | None, msg: wire.Message) -> None:
        if link is None:
            return
        link.send(msg.encode())
        self.sent[msg.type] += 1

    def broadcast(self, msg: wire.Message) -> None:
        data = msg.encode()
        for node in list(self.nodes.values()):
            if node.flags & (wire.MYSELF | wire.HANDSHAKE) or node.link is None:
                continue
            node.link.send(data)
            self.sent[msg.type] += 1

    def _gossip_entry(self, node: Node) -> wire.Gossip:
        return wire.Gossip(node.name, node.ping_sent // 1000, node.pong_received // 1000, node.ip, node.port,
                           node.cport, node.flags & 0xFFFF, node.pport)

    def send_ping(self, link: Link, mtype: int) -> None:
        """PING, PONG or MEET with gossip about a tenth of the nodes (at least 3) plus every PFAIL one."""
        self.gossip_round += 1
        round_id = self.gossip_round
        fresh = len(self.nodes) - 2
        wanted = max(len(self.nodes) // 10, 3)
        wanted = min(wanted, fresh)
        if not link.inbound and mtype == wire.PING and link.node is not None:
            link.node.ping_sent = mstime()
        gossip: list[wire.Gossip] = []
        candidates = list(self.nodes.values())
        tries = wanted * 3
        while fresh > 0 and len(gossip) < wanted and tries > 0:
            tries -= 1
            node = random.choice(candidates)
            if node is self.myself or node.flags & wire.PFAIL:
                continue
            if node.flags & (wire.HANDSHAKE | wire.NOADDR) or (node.link is None and node.numslots == 0):
                fresh -= 1
                continue
            if node.gossip_round == round_id:
                continue
            node.gossip_round = round_id
            gossip.append(self._gossip_entry(node))
            fresh -= 1
        for node in candidates:
            if node.flags & wire.PFAIL and not node.flags & (wire.HANDSHAKE | wire.NOADDR):
                gossip.append(self._gossip_entry(node))
        msg = self.message(mtype, gossip=gossip, hostname=self.myself.hostname or None)
        self.send(link, msg)

    def broadcast_pong(self, local_replicas_only: bool = False) -> None:
        me = self.myself
        for node in list(self.nodes.values()):
            if node.link is None or node is me or node.in_handshake:
                continue
            if local_replicas_only and not (node.is_replica and node.master is not None
                                            and (node.master is me or node.master is me.master)):
                continue
            self.send_ping(node.link, wire.PONG)

    def send_update(self, link: Link | None, node: Node) -> None:
        if link is None:
            return
        claimed = int.from_bytes(node.slots, "little") & ~self.owner_not_claiming
        slots = claimed.to_bytes(SLOTS // 8, "little")
        self.send(link, self.message(wire.UPDATE, about=node.name, update_epoch=node.config_epoch,
                                     update_slots=slots))

    def propagate_publish(self, channel: bytes, message: bytes, sharded: bool) -> None:
        """PUBLISH goes to every node; SPUBLISH to the other nodes of this shard (clusterPropagatePublish)."""
        if not sharded:
            self.broadcast(self.message(wire.PUBLISH, channel=channel, payload=message))
            return
        me = self.myself
        master = me.master if me.is_replica and me.master is not None else me
        for node in [master, *master.replicas]:
            if node.flags & (wire.MYSELF | wire.HANDSHAKE):
                continue
            self.send(node.link, self.message(wire.PUBLISHSHARD, channel=channel, payload=message))

    # ------------------------------------------------------------------ messages in

    def sender_of(self, link: Link, msg: wire.Message) -> Node | None:
        if link.node is not None and not link.node.in_handshake:
            return link.node
        sender = self.nodes.get(msg.sender)
        if sender is not None and link.node is None:
            if sender.inbound_link is not None and sender.inbound_link is not link:
                sender.inbound_link.close()
            sender.inbound_link = link
            link.node = sender
        return sender

    def process(self, link: Link, msg: wire.Message) -> bool:
        """Act on one message (clusterProcessPacket). False if ``link`` was closed meanwhile."""
        from server.cluster.bus import peer_ip, sock_ip

        mtype = msg.type
        if mtype < wire.TYPE_COUNT:
            self.received[mtype] += 1
        now = mstime()
        sender = self.sender_of(link, msg)
        if sender is not None:
            sender.data_received = now
        sender_config_epoch = 0
        sender_current_epoch = 0
        if sender is not None and not sender.in_handshake:
            sender_current_epoch = msg.current_epoch
            sender_config_epoch = msg.config_epoch
            if sender_current_epoch > self.current_epoch:
                self.current_epoch = sender_current_epoch
            if sender_config_epoch > sender.config_epoch:
                sender.config_epoch = sender_config_epoch
                self.later(TODO_SAVE | TODO_FSYNC)
            sender.repl_offset = msg.offset
            if (self.mf_end and self.myself.is_replica and self.myself.master is sender
                    and msg.mflags & wire.MF_PAUSED):
                self.failover.master_paused_at(sender.repl_offset)
        me = self.myself
        if mtype in (wire.PING, wire.MEET):
            if (mtype == wire.MEET or not me.ip) and not self.server.config.get_str("cluster-announce-ip"):
                ip = sock_ip(link)
                if ip and ip != me.ip:
                    me.ip = ip
                    self.log("warning", f"IP address for this node updated to {me.ip}")
                    self.later(TODO_SAVE)
            if sender is None and mtype == wire.MEET:
                node = Node(None, wire.HANDSHAKE)
                node.ip = msg.myip or peer_ip(link)
                node.port, node.pport, node.cport = msg.port, msg.pport, msg.cport
                self._add_node(node)
                self.later(TODO_SAVE)
                self.process_gossip(msg, link, None)
            self.send_ping(link, wire.PONG)
        if mtype in (wire.PING, wire.PONG, wire.MEET):
            if not link.inbound and link.node is not None:
                if link.node.in_handshake:
                    if sender is not None:
                        if self.update_address(sender, link, msg):
                            self.later(TODO_SAVE | TODO_UPDATE_STATE)
                        self.forget(link.node)
                        return False
                    self.rename(link.node, msg.sender)
                    link.node.flags &= ~wire.HANDSHAKE
                    link.node.flags |= msg.flags & (wire.MASTER | wire.REPLICA)
                    self.later(TODO_SAVE)
                elif link.node.name != msg.sender:
                    node = link.node
                    node.flags |= wire.NOADDR
                    node.ip, node.port, node.pport, node.cport = "", 0, 0, 0
                    link.close()
                    self.later(TODO_SAVE)
                    return False
            if sender is not None:
                sender.flags = (sender.flags & ~wire.NOFAILOVER) | (msg.flags & wire.NOFAILOVER)
            if sender is not None and mtype == wire.PING and not sender.in_handshake:
                if self.update_address(sender, link, msg):
                    self.later(TODO_SAVE | TODO_UPDATE_STATE)
            if not link.inbound and mtype == wire.PONG and link.node is not None:
                node = link.node
                node.pong_received = now
                node.ping_sent = 0
                if node.timed_out:
                    node.flags &= ~wire.PFAIL
                    self.later(TODO_SAVE | TODO_UPDATE_STATE)
                elif node.failed:
                    self.clear_failure_if_needed(node)
            if sender is not None:
                if msg.master == wire.NULL_NAME:
                    self.set_node_as_master(sender)
                else:
                    master = self.nodes.get(msg.master)
                    if sender.is_master:
                        self.del_node_slots(sender)
                        sender.flags = (sender.flags & ~(wire.MASTER | wire.MIGRATE_TO)) | wire.REPLICA
                        self.later(TODO_SAVE | TODO_UPDATE_STATE)
                    if master is not None and sender.master is not master:
                        if sender.master is not None and sender in sender.master.replicas:
                            sender.master.replicas.remove(sender)
                        master.replicas.append(sender)
                        sender.master = master
                        self.later(TODO_SAVE)
            dirty = False
            if sender is not None:
                sender_master = sender if sender.is_master else sender.master
                if sender_master is not None:
                    dirty = bytes(sender_master.slots) != msg.myslots
            if sender is not None and sender.is_master and dirty:
                self.update_slots_with(sender, sender_config_epoch, msg.myslots)
            if sender is not None and dirty:
                # Slots the sender claims that another node serves: one with a newer config wins.
                others = int.from_bytes(msg.myslots, "little") & ~int.from_bytes(sender.slots, "little")
                for slot in set_bits(others):
                    owner = self.slots[slot]
                    if owner is sender or owner is None or self.owner_not_claiming >> slot & 1:
                        continue
                    if owner.config_epoch > sender_config_epoch:
                        self.log("verbose", f"Node {sender.name.decode()} has old slots configuration, "
                                            f"sending an UPDATE message about {owner.name.decode()}")
                        self.send_update(sender.link, owner)
                        break
            if (sender is not None and me.is_master and sender.is_master
                    and sender_config_epoch == me.config_epoch):
                self.epoch_collision(sender)
            if sender is not None:
                self.process_gossip(msg, link, sender)
                if sender.hostname != (msg.hostname or ""):
                    sender.hostname = msg.hostname or ""
                    self.later(TODO_SAVE)
        elif mtype == wire.FAIL:
            if sender is not None:
                failing = self.nodes.get(msg.about)
                if failing is not None and not failing.flags & (wire.FAILED | wire.MYSELF):
                    self.log("notice", f"FAIL message received from {msg.sender.decode()} about "
                                       f"{msg.about.decode()}")
                    failing.flags = (failing.flags | wire.FAILED) & ~wire.PFAIL
                    failing.fail_time = now
                    self.later(TODO_SAVE | TODO_UPDATE_STATE)
            else:
                self.log("notice", f"Ignoring FAIL message from unknown node {msg.sender.decode('latin-1')} "
                                   f"about {msg.about.decode('latin-1')}")
        elif mtype in (wire.PUBLISH, wire.PUBLISHSHARD):
            if sender is None:
                return True
            pubsub = self.server.pubsub
            if mtype == wire.PUBLISH:
                pubsub.publish(msg.channel, msg.payload)
            else:
                pubsub.spublish(msg.channel, msg.payload)
        elif mtype == wire.UPDATE:
            if sender is None:
                return True
            about = self.nodes.get(msg.about)
            if about is None or about.config_epoch >= msg.update_epoch:
                return True
            if about.is_replica:
                self.set_node_as_master(about)
            about.config_epoch = msg.update_epoch
            self.later(TODO_SAVE | TODO_FSYNC)
            self.update_slots_with(about, msg.update_epoch, msg.update_slots)
        elif mtype in (wire.AUTH_REQUEST, wire.AUTH_ACK, wire.MFSTART):
            if sender is None:
                return True
            self.failover.message(link, sender, msg, sender_current_epoch)
        elif mtype != wire.MODULE:
            self.log("warning", f"Received unknown packet type: {mtype}")
        return True

    def update_address(self, node: Node, link: Link, msg: wire.Message) -> bool:
        """The node's address as its own link shows it (nodeUpdateAddressIfNeeded); True if it moved."""
        from server.cluster.bus import peer_ip

        if link is node.link:
            return False
        ip = msg.myip or peer_ip(link)
        if not ip:
            return False
        if node.port == msg.port and node.cport == msg.cport and node.pport == msg.pport and node.ip == ip:
            return False
        node.ip, node.port, node.pport, node.cport = ip, msg.port, msg.pport, msg.cport
        if node.link is not None:
            node.link.close()
        node.flags &= ~wire.NOADDR
        self.log("warning", f"Address updated for node {node.name.decode()}, now {node.ip}:{node.port}")
        if self.myself.is_replica and self.myself.master is node:
            self.replicate_from(node)
        return True

    def process_gossip(self, msg: wire.Message, link: Link, sender: Node | None) -> None:
        me = self.myself
        for entry in msg.gossip:
            flags = entry.flags
            node = self.nodes.get(entry.name)
            if node is not None:
                if sender is not None and sender.is_master and node is not me:
                    if flags & (wire.FAILED | wire.PFAIL):
                        if self.add_failure_report(node, sender):
                            self.log("verbose", f"Node {sender.name.decode()} reported node "
                                                f"{node.name.decode()} as not reachable.")
                        self.mark_failing_if_needed(node)
                    elif self.del_failure_report(node, sender):
                        self.log("verbose", f"Node {sender.name.decode()} reported node {node.name.decode()} "
                                            "is back online.")
                if (not flags & (wire.FAILED | wire.PFAIL) and node.ping_sent == 0
                        and self.failure_reports(node) == 0):
                    pong = entry.pong_received * 1000
                    if pong <= mstime() + 500 and pong > node.pong_received:
                        node.pong_received = pong
                if (node.flags & (wire.FAILED | wire.PFAIL) and not flags & wire.NOADDR
                        and not flags & (wire.FAILED | wire.PFAIL)
                        and (node.ip.lower() != entry.ip.lower() or node.port != entry.port
                             or node.cport != entry.cport)):
                    if node.link is not None:
                        node.link.close()
                    node.ip, node.port, node.pport, node.cport = entry.ip, entry.port, entry.pport, entry.cport
                    node.flags &= ~wire.NOADDR
            elif (sender is not None and not flags & wire.NOADDR and not self.blacklisted(entry.name)
                  and valid_name(entry.name)):
                node = Node(entry.name, flags)
                node.ip, node.port, node.pport, node.cport = entry.ip, entry.port, entry.pport, entry.cport
                self._add_node(node)

    def update_slots_with(self, sender: Node, epoch: int, slots: bytes) -> None:
        """Rebind the slots ``sender`` claims with a newer config epoch (clusterUpdateSlotsConfigWith)."""
        me = self.myself
        if sender is me:
            self.log("warning", "Discarding UPDATE message about myself.")
            return
        current = me if me.is_master else me.master
        new_master: Node | None = None
        dirty_slots: list[int] = []
        claimed = int.from_bytes(slots, "little")
        bound = int.from_bytes(sender.slots, "little")
        sender_slots = claimed.bit_count()
        migrated_ours = 0
        self.owner_not_claiming &= ~(claimed & bound)  # claimed again by their owner
        for slot in set_bits(claimed & ~bound):
            owner = self.slots[slot]
            if slot in self.importing:
                continue
            if owner is None or self.owner_not_claiming >> slot & 1 or owner.config_epoch < epoch:
                if owner is me and self.keys.count(slot):
                    dirty_slots.append(slot)
                if owner is current and owner is not None:
                    new_master = sender
                    migrated_ours += 1
                self.del_slot(slot)
                self.add_slot(sender, slot)
                self.owner_not_claiming &= ~(1 << slot)
                self.later(TODO_SAVE | TODO_UPDATE_STATE | TODO_FSYNC)
        self.owner_not_claiming |= bound & ~claimed  # still bound to the sender, no longer claimed
        if (new_master is not None and current is not None and current.numslots == 0
                and (self.setting("cluster-allow-replica-migration") or sender_slots == migrated_ours)):
            self.log("warning", f"Configuration change detected. Reconfiguring myself as a replica of "
                                f"{sender.name.decode()}")
            self.set_my_master(sender)
            self.later(TODO_SAVE | TODO_UPDATE_STATE | TODO_FSYNC)
        elif me.master is not None and me.master.master is not None and me.master.master is not me:
            self.log("warning", f"I'm a sub-replica! Reconfiguring myself as a replica of grandmaster "
                                f"{me.master.master.name.decode()}")
            self.set_my_master(me.master.master)
            self.later(TODO_SAVE | TODO_UPDATE_STATE | TODO_FSYNC)
        elif dirty_slots:
            for slot in dirty_slots:
                self.delete_keys_in_slot(slot)
