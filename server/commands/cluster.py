"""CLUSTER and the commands of cluster clients: ASKING, READONLY, READWRITE.

Every one of them answers ``ERR This instance has cluster support disabled`` when
``cluster-enabled`` is off, as Redis 7.0 does. The state they read and change is
``server.cluster`` (server/cluster/state.py); a change that must reach disk or
the other nodes asks the cluster to do it before the loop sleeps (``later``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.cluster import wire
from server.cluster.slots import SLOTS, key_slot
from server.cluster.state import TODO_FSYNC, TODO_SAVE, TODO_UPDATE_STATE, Cluster, Node
from server.command import command, container
from server.commands.args import SYNTAX_ERROR, parse_int, to_int
from server.commands.connection import help_lines, subcommand_syntax_error
from server.protocol import OK, Error, Status, Verbatim

if TYPE_CHECKING:
    from server.client import Client

DISABLED = Error(b"ERR This instance has cluster support disabled")
BAD_SLOT = Error(b"ERR Invalid or out of range slot")


def cluster_of(ctx: Client) -> Cluster:
    cluster = ctx.server.cluster
    if cluster is None:
        raise DISABLED
    return cluster


def parse_slot(arg: bytes) -> int:
    slot = to_int(arg)
    if slot is None or not 0 <= slot < SLOTS:
        raise BAD_SLOT
    return slot


def unknown_node(name: bytes) -> Error:
    return Error(b"ERR Unknown node %s" % name)


def node_named(cluster: Cluster, name: bytes) -> Node:
    node = cluster.lookup(name)
    if node is None:
        raise unknown_node(name)
    return node


container("cluster", summary="Inspects and changes the cluster configuration of this node.", group="cluster",
          since="3.0.0")


@command("cluster|help", arity=2, flags="loading stale", group="cluster", since="5.0.0",
         summary="Lists the CLUSTER subcommands.")
def cluster_help(ctx: Client, sub: bytes) -> object:
    cluster_of(ctx)
    return help_lines(ctx, "cluster")


@command("cluster|info", tips="nondeterministic_output", arity=2, flags="stale", group="cluster", since="3.0.0",
         summary="Reports the cluster state, slot counts, epochs and bus message statistics.")
def cluster_info(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    assigned = ok = pfail = fail = 0
    for node in cluster.slots:
        if node is None:
            continue
        assigned += 1
        if node.failed:
            fail += 1
        elif node.timed_out:
            pfail += 1
        else:
            ok += 1
    me = cluster.myself
    my_epoch = me.master.config_epoch if (me.is_replica and me.master is not None) else me.config_epoch
    lines = [
        f"cluster_state:{'ok' if cluster.state_ok else 'fail'}",
        f"cluster_slots_assigned:{assigned}",
        f"cluster_slots_ok:{ok}",
        f"cluster_slots_pfail:{pfail}",
        f"cluster_slots_fail:{fail}",
        f"cluster_known_nodes:{len(cluster.nodes)}",
        f"cluster_size:{cluster.size}",
        f"cluster_current_epoch:{cluster.current_epoch}",
        f"cluster_my_epoch:{my_epoch}",
    ]
    for counts, direction in ((cluster.sent, "sent"), (cluster.received, "received")):
        for mtype, count in enumerate(counts):
            if count:
                lines.append(f"cluster_stats_messages_{wire.TYPE_NAMES[mtype]}_{direction}:{count}")
        lines.append(f"cluster_stats_messages_{direction}:{sum(counts)}")
    lines.append(f"total_cluster_links_buffer_limit_exceeded:{cluster.links_buffer_limit_exceeded}")
    return Verbatim(("\r\n".join(lines) + "\r\n").encode())


@command("cluster|myid", arity=2, flags="stale", group="cluster", since="3.0.0",
         summary="Returns this node's ID.")
def cluster_myid(ctx: Client, sub: bytes) -> object:
    return cluster_of(ctx).myself.name


@command("cluster|nodes", tips="nondeterministic_output", arity=2, flags="stale", group="cluster", since="3.0.0",
         summary="Lists every node this node knows, with its address, flags, epoch and slots.")
def cluster_nodes(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    return Verbatim(cluster.describe_nodes(plaintext=cluster.plaintext_for(ctx)).encode())


def _node_entry(cluster: Cluster, node: Node, plaintext: bool) -> list[object]:
    """One node of CLUSTER SLOTS: endpoint, port, ID, then the other known addresses."""
    kind = cluster.server.config.get_str("cluster-preferred-endpoint-type")
    endpoint: object
    if kind == "ip":
        endpoint = node.ip.encode()
    elif kind == "hostname":
        endpoint = (node.hostname or "?").encode()
    else:
        endpoint = None
    extra: dict[bytes, bytes] = {}
    if kind != "ip":
        extra[b"ip"] = node.ip.encode()
    if kind != "hostname" and node.hostname:
        extra[b"hostname"] = node.hostname.encode()
    return [endpoint, cluster.client_port(node, plaintext), node.name, extra]


def _replica_available(cluster: Cluster, node: Node) -> bool:
    if node.failed:
        return False
    offset = cluster.replication_offset() if node is cluster.myself else node.repl_offset
    return offset != 0


@command("cluster|slots", tips="nondeterministic_output", arity=2, flags="stale", group="cluster", since="3.0.0",
         summary="Maps slot ranges to the master serving them and its replicas.",
         doc_flags="deprecated", deprecated_since="7.0.0", replaced_by="`CLUSTER SHARDS`")
def cluster_slots(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    plaintext = cluster.plaintext_for(ctx)
    reply = []
    for node, start, end in cluster.slot_runs():
        entry: list[object] = [start, end, _node_entry(cluster, node, plaintext)]
        for replica in node.replicas:
            if _replica_available(cluster, replica):
                entry.append(_node_entry(cluster, replica, plaintext))
        reply.append(entry)
    return reply


def _shard_node(cluster: Cluster, node: Node) -> dict[bytes, object]:
    info: dict[bytes, object] = {b"id": node.name}
    # In a TLS cluster the port nodes know each other by is the TLS one.
    plain, tls = (node.pport, node.port) if cluster.setting("tls-cluster") else (node.port, 0)
    if plain:
        info[b"port"] = plain
    if tls:
        info[b"tls-port"] = tls
    info[b"ip"] = node.ip.encode()
    info[b"endpoint"] = cluster.endpoint(node).encode() if cluster.server.config.get_str(
        "cluster-preferred-endpoint-type") != "unknown-endpoint" else b""
    if node.hostname:
        info[b"hostname"] = node.hostname.encode()
    offset = cluster.replication_offset() if node is cluster.myself else node.repl_offset
    info[b"role"] = b"replica" if node.is_replica else b"master"
    info[b"replication-offset"] = offset
    if node.failed:
        health = b"fail"
    elif node.is_replica and offset == 0:
        health = b"loading"
    else:
        health = b"online"
    info[b"health"] = health
    return info


@command("cluster|shards", tips="nondeterministic_output", arity=2, flags="stale", group="cluster", since="7.0.0",
         summary="Lists the shards: each master's slot ranges and the nodes serving them.")
def cluster_shards(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    ranges: dict[bytes, list[int]] = {}
    for node, start, end in cluster.slot_runs():
        ranges.setdefault(node.name, []).extend((start, end))
    reply = []
    for node in cluster.nodes.values():
        if not node.is_master:
            continue
        members = [node, *node.replicas]
        reply.append({b"slots": ranges.get(node.name, []),
                      b"nodes": [_shard_node(cluster, member) for member in members]})
    return reply


def _replicas_of(ctx: Client, name: bytes) -> object:
    cluster = cluster_of(ctx)
    node = node_named(cluster, name)
    if node.is_replica:
        raise Error(b"ERR The specified node is not a master")
    plaintext = cluster.plaintext_for(ctx)
    return [cluster.describe(replica, plaintext=plaintext).encode() for replica in node.replicas]


@command("cluster|replicas", tips="nondeterministic_output", arity=3, flags="admin stale", group="cluster", since="5.0.0",
         summary="Describes the replicas of a master, as CLUSTER NODES does.", args="node-id")
def cluster_replicas(ctx: Client, sub: bytes, name: bytes) -> object:
    return _replicas_of(ctx, name)


@command("cluster|slaves", tips="nondeterministic_output", arity=3, flags="admin stale", group="cluster", since="3.0.0",
         summary="Describes the replicas of a master (the old name of CLUSTER REPLICAS).", args="node-id",
         doc_flags="deprecated", deprecated_since="5.0.0", replaced_by="`CLUSTER REPLICAS`")
def cluster_slaves(ctx: Client, sub: bytes, name: bytes) -> object:
    return _replicas_of(ctx, name)


@command("cluster|keyslot", arity=3, flags="stale", group="cluster", since="3.0.0",
         summary="Returns the hash slot of a key.", args="key{type=string}", complexity="O(N) where N is the key's length")
def cluster_keyslot(ctx: Client, sub: bytes, key: bytes) -> object:
    cluster_of(ctx)
    return key_slot(key)


@command("cluster|countkeysinslot", arity=3, flags="stale", group="cluster", since="3.0.0",
         summary="Counts this node's keys in a hash slot.", args="slot{type=integer}")
def cluster_countkeysinslot(ctx: Client, sub: bytes, slot_arg: bytes) -> object:
    cluster = cluster_of(ctx)
    slot = parse_int(slot_arg)
    if not 0 <= slot < SLOTS:
        raise Error(b"ERR Invalid slot")
    return cluster.keys.count(slot)


@command("cluster|getkeysinslot", tips="nondeterministic_output", arity=4, flags="stale", group="cluster", since="3.0.0",
         summary="Lists up to count of this node's keys in a hash slot.", args="slot{type=integer} count",
         complexity="O(log(N)) where N is the number of requested keys")
def cluster_getkeysinslot(ctx: Client, sub: bytes, slot_arg: bytes, count_arg: bytes) -> object:
    cluster = cluster_of(ctx)
    slot = parse_int(slot_arg)
    count = parse_int(count_arg)
    if not 0 <= slot < SLOTS or count < 0:
        raise Error(b"ERR Invalid slot or number of keys")
    return cluster.keys.keys(slot, count)


@command("cluster|meet", arity=-4, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Starts a handshake with the node at an address, to join the two clusters.",
         args="ip port [cluster_bus_port{type=integer,since=4.0.0}]")
def cluster_meet(ctx: Client, sub: bytes, ip: bytes, port_arg: bytes, *bus: bytes) -> object:
    cluster = cluster_of(ctx)
    if len(bus) > 1:
        raise subcommand_syntax_error("cluster", sub)
    port = to_int(port_arg)
    if port is None:
        raise Error(b"ERR Invalid TCP base port specified: %s" % port_arg)
    if bus:
        cport = to_int(bus[0])
        if cport is None:
            raise Error(b"ERR Invalid TCP bus port specified: %s" % bus[0])
    else:
        cport = port + 10000
    if cluster.start_handshake(ip.decode("latin-1"), port, cport) == "EINVAL":
        raise Error(b"ERR Invalid node address specified: %s:%s" % (ip, port_arg))
    return OK


@command("cluster|forget", arity=3, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Removes a node from this node's table (for a minute it is not re-added from gossip).",
         args="node-id")
def cluster_forget(ctx: Client, sub: bytes, name: bytes) -> object:
    cluster = cluster_of(ctx)
    node = node_named(cluster, name)
    me = cluster.myself
    if node is me:
        raise Error(b"ERR I tried hard but I can't forget myself...")
    if me.is_replica and me.master is node:
        raise Error(b"ERR Can't forget my master!")
    cluster.blacklist_add(node)
    cluster.forget(node)
    cluster.later(TODO_UPDATE_STATE | TODO_SAVE)
    return OK


def _claim(cluster: Cluster, wanted: bytearray, delete: bool, start: int, end: int) -> None:
    """checkSlotAssignmentsOrReply: every slot free (or, to delete, assigned) and named once."""
    for slot in range(start, end + 1):
        if delete and cluster.slots[slot] is None:
            raise Error(b"ERR Slot %d is already unassigned" % slot)
        if not delete and cluster.slots[slot] is not None:
            raise Error(b"ERR Slot %d is already busy" % slot)
        if wanted[slot]:
            raise Error(b"ERR Slot %d specified multiple times" % slot)
        wanted[slot] = 1


def _apply_slots(cluster: Cluster, wanted: bytearray, delete: bool) -> None:
    for slot in range(SLOTS):
        if wanted[slot]:
            cluster.importing.pop(slot, None)
            if delete:
                cluster.del_slot(slot)
            else:
                cluster.add_slot(cluster.myself, slot)
    cluster.later(TODO_UPDATE_STATE | TODO_SAVE)


def _change_slots(ctx: Client, slots: tuple[bytes, ...], delete: bool) -> object:
    cluster = cluster_of(ctx)
    numbers = [parse_slot(arg) for arg in slots]
    wanted = bytearray(SLOTS)
    for slot in numbers:
        _claim(cluster, wanted, delete, slot, slot)
    _apply_slots(cluster, wanted, delete)
    return OK


def _change_ranges(ctx: Client, sub: bytes, bounds: tuple[bytes, ...], delete: bool) -> object:
    cluster = cluster_of(ctx)
    if len(bounds) % 2:
        raise Error(b"ERR wrong number of arguments for 'cluster|%s' command" % sub.lower())
    wanted = bytearray(SLOTS)
    for first, last in zip(bounds[::2], bounds[1::2]):
        start, end = parse_slot(first), parse_slot(last)
        if start > end:
            raise Error(b"ERR start slot number %d is greater than end slot number %d" % (start, end))
        _claim(cluster, wanted, delete, start, end)
    _apply_slots(cluster, wanted, delete)
    return OK


@command("cluster|addslots", arity=-3, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Makes this node serve the given hash slots.", args="slot{type=integer} ...",
         complexity="O(N) where N is the number of slots")
def cluster_addslots(ctx: Client, sub: bytes, *slots: bytes) -> object:
    return _change_slots(ctx, slots, delete=False)


@command("cluster|delslots", arity=-3, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Marks the given hash slots as served by no node, in this node's view.", args="slot{type=integer} ...",
         complexity="O(N) where N is the number of slots")
def cluster_delslots(ctx: Client, sub: bytes, *slots: bytes) -> object:
    return _change_slots(ctx, slots, delete=True)


@command("cluster|addslotsrange", arity=-4, flags="admin stale no_async_loading", group="cluster", since="7.0.0",
         summary="Makes this node serve every hash slot of the given ranges.",
         args="(start-slot{type=integer} end-slot{type=integer}){name=start-slot_end-slot} ...", complexity="O(N) where N is the number of slots")
def cluster_addslotsrange(ctx: Client, sub: bytes, *bounds: bytes) -> object:
    return _change_ranges(ctx, sub, bounds, delete=False)


@command("cluster|delslotsrange", arity=-4, flags="admin stale no_async_loading", group="cluster", since="7.0.0",
         summary="Marks every hash slot of the given ranges as served by no node, in this node's view.",
         args="(start-slot{type=integer} end-slot{type=integer}){name=start-slot_end-slot} ...", complexity="O(N) where N is the number of slots")
def cluster_delslotsrange(ctx: Client, sub: bytes, *bounds: bytes) -> object:
    return _change_ranges(ctx, sub, bounds, delete=True)


@command("cluster|flushslots", arity=2, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Drops every slot this node serves (the database must be empty).")
def cluster_flushslots(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    if ctx.server.keyspace.dbs[0].data:
        raise Error(b"ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    cluster.del_node_slots(cluster.myself)
    cluster.later(TODO_UPDATE_STATE | TODO_SAVE)
    return OK


def _master_named(cluster: Cluster, name: bytes, unknown: bytes) -> Node:
    node = cluster.lookup(name)
    if node is None:
        raise Error(b"ERR %s %s" % (unknown, name))
    if node.is_replica:
        raise Error(b"ERR Target node is not a master")
    return node


@command("cluster|setslot", arity=-4, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Opens a slot for migration (IMPORTING, MIGRATING), closes it (STABLE) or assigns it (NODE).",
         args="slot{type=integer} (IMPORTING node-id|MIGRATING node-id|NODE "
              "node-id|STABLE){name=subcommand}")
def cluster_setslot(ctx: Client, sub: bytes, slot_arg: bytes, action: bytes, *rest: bytes) -> object:
    cluster = cluster_of(ctx)
    me = cluster.myself
    if me.is_replica:
        raise Error(b"ERR Please use SETSLOT only with masters.")
    slot = parse_slot(slot_arg)
    verb = action.lower()
    if verb == b"migrating" and len(rest) == 1:
        if cluster.slots[slot] is not me:
            raise Error(b"ERR I'm not the owner of hash slot %d" % slot)
        cluster.migrating[slot] = _master_named(cluster, rest[0], b"I don't know about node")
    elif verb == b"importing" and len(rest) == 1:
        if cluster.slots[slot] is me:
            raise Error(b"ERR I'm already the owner of hash slot %d" % slot)
        cluster.importing[slot] = _master_named(cluster, rest[0], b"I don't know about node")
    elif verb == b"stable" and not rest:
        cluster.importing.pop(slot, None)
        cluster.migrating.pop(slot, None)
    elif verb == b"node" and len(rest) == 1:
        node = _master_named(cluster, rest[0], b"Unknown node")
        keys = cluster.keys.count(slot)
        if cluster.slots[slot] is me and node is not me and keys:
            raise Error(b"ERR Can't assign hashslot %d to a different node while I still hold keys for this "
                        b"hash slot." % slot)
        if keys == 0:
            cluster.migrating.pop(slot, None)
        was_mine = cluster.slots[slot] is me
        cluster.del_slot(slot)
        cluster.add_slot(node, slot)
        if was_mine and node is not me and me.numslots == 0 and cluster.setting("cluster-allow-replica-migration"):
            cluster.log("warning", f"Configuration change detected. Reconfiguring myself as a replica of "
                                   f"{node.name.decode()}")
            cluster.set_my_master(node)
            cluster.later(TODO_SAVE | TODO_UPDATE_STATE | TODO_FSYNC)
        if node is me and slot in cluster.importing:
            if cluster.bump_epoch():
                cluster.log("warning", f"configEpoch updated after importing slot {slot}")
            del cluster.importing[slot]
            cluster.broadcast_pong()
    else:
        raise Error(b"ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    cluster.later(TODO_SAVE | TODO_UPDATE_STATE)
    return OK


@command("cluster|bumpepoch", tips="nondeterministic_output", arity=2, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Gives this node a new config epoch unless its epoch is already the greatest.")
def cluster_bumpepoch(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    bumped = cluster.bump_epoch()
    return Status(b"%s %d" % (b"BUMPED" if bumped else b"STILL", cluster.myself.config_epoch))


@command("cluster|set-config-epoch", arity=3, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Sets the config epoch of a node that knows no other node yet.", args="config-epoch{type=integer}")
def cluster_set_config_epoch(ctx: Client, sub: bytes, epoch_arg: bytes) -> object:
    cluster = cluster_of(ctx)
    epoch = parse_int(epoch_arg)
    if epoch < 0:
        raise Error(b"ERR Invalid config epoch specified: %d" % epoch)
    if len(cluster.nodes) > 1:
        raise Error(b"ERR The user can assign a config epoch only when the node does not know any other node.")
    me = cluster.myself
    if me.config_epoch != 0:
        raise Error(b"ERR Node config epoch is already non-zero")
    me.config_epoch = epoch
    cluster.log("warning", f"configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH")
    if cluster.current_epoch < epoch:
        cluster.current_epoch = epoch
    cluster.later(TODO_UPDATE_STATE | TODO_SAVE)
    return OK


@command("cluster|saveconfig", arity=2, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Writes nodes.conf now, and fsyncs it.")
def cluster_saveconfig(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    try:
        cluster.save(True)
    except OSError as exc:
        raise Error(b"ERR error saving the cluster node config: %s" % (exc.strerror or str(exc)).encode()) from None
    return OK


@command("cluster|count-failure-reports", tips="nondeterministic_output", arity=3, flags="admin stale", group="cluster", since="3.0.0",
         summary="Counts the masters currently reporting a node as failing.", args="node-id",
         complexity="O(N) where N is the number of failure reports")
def cluster_count_failure_reports(ctx: Client, sub: bytes, name: bytes) -> object:
    cluster = cluster_of(ctx)
    return cluster.failure_reports(node_named(cluster, name))


@command("cluster|replicate", arity=3, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Makes this node a replica of the given master.", args="node-id")
def cluster_replicate(ctx: Client, sub: bytes, name: bytes) -> object:
    cluster = cluster_of(ctx)
    node = node_named(cluster, name)
    me = cluster.myself
    if node is me:
        raise Error(b"ERR Can't replicate myself")
    if node.is_replica:
        raise Error(b"ERR I can only replicate a master, not a replica.")
    if me.is_master and (me.numslots or ctx.server.keyspace.dbs[0].data):
        raise Error(b"ERR To set a master the node must be empty and without assigned slots.")
    cluster.set_my_master(node)
    cluster.later(TODO_UPDATE_STATE | TODO_SAVE)
    return OK


@command("cluster|failover", arity=-2, flags="admin stale no_async_loading", group="cluster", since="3.0.0",
         summary="Makes this replica take over its master's slots (FORCE: without its master's agreement; "
                 "TAKEOVER: without the other masters' either).", args="[FORCE|TAKEOVER]{name=options}")
def cluster_failover(ctx: Client, sub: bytes, *options: bytes) -> object:
    cluster = cluster_of(ctx)
    if len(options) > 1:
        raise subcommand_syntax_error("cluster", sub)
    force = takeover = False
    if options:
        option = options[0].lower()
        if option == b"force":
            force = True
        elif option == b"takeover":
            force = takeover = True  # TAKEOVER implies FORCE
        else:
            raise SYNTAX_ERROR
    me = cluster.myself
    if me.is_master:
        raise Error(b"ERR You should send CLUSTER FAILOVER to a replica")
    if me.master is None:
        raise Error(b"ERR I'm a replica but my master is unknown to me")
    if not force and (me.master.failed or me.master.link is None):
        raise Error(b"ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
    cluster.failover.manual(force, takeover)
    return OK


@command("cluster|reset", arity=-2, flags="admin noscript stale", group="cluster", since="3.0.0",
         summary="Forgets every other node and every slot (HARD: also takes a new ID and epochs 0).",
         args="[HARD|SOFT]{name=hard_soft}", complexity="O(N) where N is the number of known nodes")
def cluster_reset(ctx: Client, sub: bytes, *options: bytes) -> object:
    cluster = cluster_of(ctx)
    if len(options) > 1:
        raise subcommand_syntax_error("cluster", sub)
    hard = False
    if options:
        option = options[0].lower()
        if option == b"hard":
            hard = True
        elif option != b"soft":
            raise SYNTAX_ERROR
    if cluster.myself.is_master and ctx.db.data:
        raise Error(b"ERR CLUSTER RESET can't be called with master nodes containing keys")
    cluster.reset(hard)
    return OK


@command("cluster|links", tips="nondeterministic_output", arity=2, flags="stale", group="cluster", since="7.0.0",
         summary="Describes the bus links between this node and its peers.")
def cluster_links(ctx: Client, sub: bytes) -> object:
    cluster = cluster_of(ctx)
    reply = []
    for node in cluster.nodes.values():
        for link in (node.link, node.inbound_link):
            if link is None:
                continue
            unsent = link.buffered()
            # Events as Redis's: a read handler once connected, a write handler while bytes wait.
            events = (b"r" if link.transport is not None else b"") + (b"w" if unsent else b"")
            reply.append({
                b"direction": b"from" if link.inbound else b"to",
                b"node": node.name,
                b"create-time": link.ctime,
                b"events": events,
                b"send-buffer-allocated": unsent,
                b"send-buffer-used": unsent,
            })
    return reply


# --------------------------------------------------------------------------- client side


@command("asking", arity=1, flags="fast", acl="connection", group="cluster", since="3.0.0",
         summary="Lets the next command use a slot this node is importing (after an -ASK redirection).")
def asking(ctx: Client) -> object:
    cluster_of(ctx)
    ctx.asking = True
    return OK


@command("readonly", arity=1, flags="loading stale fast", acl="connection", group="cluster", since="3.0.0",
         summary="Lets this connection read from a replica the slots its master serves.")
def readonly(ctx: Client) -> object:
    cluster_of(ctx)
    ctx.readonly = True
    return OK


@command("readwrite", arity=1, flags="loading stale fast", acl="connection", group="cluster", since="3.0.0",
         summary="Ends READONLY: reads are redirected to masters again.")
def readwrite(ctx: Client) -> object:
    cluster_of(ctx)
    ctx.readonly = False
    return OK
