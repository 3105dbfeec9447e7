"""Cluster faults end to end: a master partitioned off by a TCP proxy and healed, a reshard whose
redis-cli is killed halfway and repaired by ``redis-cli --cluster fix``, and a master killed -9
under a redis-py RedisCluster workload.

Nodes, waits and redis-cli come from test_cluster (free ports, a 1 s ``cluster-node-timeout``);
every wait polls a condition with a generous deadline, nothing sleeps a fixed time to pass.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import ClusterNode, RedisCluster

from tests.server.bus_proxy import BusProxies
from tests.server.test_cluster import (
    check_passes,
    cli,
    cluster_create,
    cluster_ok,
    node_id,
    slots_view,
    start_nodes,
    stop_all,
    wait_for,
)
from tests.servers import ServerProcess, require_tool


def flags_of(asked: ServerProcess, name: str) -> set[str]:
    """The flags ``asked`` shows for node ``name`` in CLUSTER NODES."""
    with asked.client() as conn:
        text = conn.execute_command("CLUSTER", "NODES").decode()
    line = next(line for line in text.splitlines() if line.startswith(name))
    return set(line.split(" ")[2].split(","))


def master_of(asked: ServerProcess, name: str) -> str:
    with asked.client() as conn:
        text = conn.execute_command("CLUSTER", "NODES").decode()
    return next(line for line in text.splitlines() if line.startswith(name)).split(" ")[3]


def role(node: ServerProcess) -> list[object]:
    with node.client() as conn:
        return list(conn.execute_command("ROLE"))


def repl_info(node: ServerProcess) -> dict[str, object]:
    with node.client() as conn:
        return dict(conn.info("replication"))


def in_sync(master: ServerProcess, replica: ServerProcess) -> bool:
    """The replica's link is up and it has processed everything its master has produced."""
    info = repl_info(replica)
    return (info.get("master_link_status") == "up"
            and info.get("slave_repl_offset") == repl_info(master).get("master_repl_offset"))


def add_replica(replica: ServerProcess, master: ServerProcess, cluster: list[ServerProcess]) -> None:
    out = cli("--cluster", "add-node", f"127.0.0.1:{replica.port}", f"127.0.0.1:{master.port}",
              "--cluster-slave", "--cluster-master-id", node_id(master))
    assert "[OK] New node added correctly." in out, out
    name = node_id(replica)
    for node in cluster:
        wait_for(lambda node=node: "slave" in flags_of(node, name), what="every node to know the replica")
    wait_for(lambda: repl_info(replica).get("master_link_status") == "up", what="the replica's first sync")


def keys_on(nodes: list[ServerProcess], owner: ServerProcess, prefix: str, count: int) -> list[str]:
    """``count`` key names whose slots ``owner`` serves."""
    ranges = [(start, end) for start, end, port in slots_view(nodes[0]) if port == owner.port]
    found: list[str] = []
    i = 0
    while len(found) < count:
        key = f"{prefix}{i}"
        slot = binascii.crc_hqx(key.encode(), 0) % 16384
        if any(start <= slot <= end for start, end in ranges):
            found.append(key)
        i += 1
    return found


@pytest.fixture
def proxies() -> Iterator[BusProxies]:
    proxy = BusProxies()
    try:
        yield proxy
    finally:
        proxy.close()


def behind_proxy(node: ServerProcess, proxies: BusProxies) -> None:
    """Routes every bus link to ``node`` through a proxy: the node announces the proxy's port."""
    bus_port = int(node.extra[node.extra.index("--cluster-port") + 1])
    proxy_port = proxies.add(bus_port)
    proxies.name(proxy_port, node_id(node).encode())
    with node.client() as conn:
        conn.config_set("cluster-announce-bus-port", proxy_port)
    wait_for(lambda: f"@{proxy_port} " in conn_nodes_myself(node), what="the proxy's port announced")


def conn_nodes_myself(node: ServerProcess) -> str:
    with node.client() as conn:
        text = conn.execute_command("CLUSTER", "NODES").decode()
    return next(line for line in text.splitlines() if "myself" in line)


def test_partitioned_master_is_failed_over_and_rejoins_as_a_replica(tmp_path: Path, proxies: BusProxies) -> None:
    """Master C (with replica R) is cut off by the bus proxies: the majority flags it PFAIL then
    FAIL and R wins the election; C, alone in its minority, sees the others failing and stops
    serving (cluster_state:fail). Healed, C learns that R claims its slots with a newer config
    epoch and turns into R's replica, as Redis does (clusterUpdateSlotsConfigWith)."""
    require_tool("redis-cli")
    a, b, c, r = nodes = start_nodes(["ours"] * 4, tmp_path)
    try:
        for node in nodes:
            behind_proxy(node, proxies)
        cluster_create([a, b, c])
        add_replica(r, c, [a, b, c])
        for node in nodes:
            wait_for(lambda node=node: cluster_ok(node), what="cluster_state:ok")
        rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", a.port)], decode_responses=True)
        mine = keys_on(nodes, c, "part:", 50)
        for key in mine:
            rc.set(key, key)
        wait_for(lambda: in_sync(c, r), what="the replica to have C's writes")
        c_name, r_name = node_id(c), node_id(r)
        c_slots = [(s, e) for s, e, p in slots_view(a) if p == c.port]

        proxies.isolate(c_name.encode())
        for node in (a, b, r):
            wait_for(lambda node=node: "fail" in flags_of(node, c_name), timeout=30,
                     what="C flagged FAIL by the majority")
        wait_for(lambda: role(r)[0] == b"master", timeout=30, what="R promoted")
        for node in (a, b, r):
            wait_for(lambda node=node: [(s, e) for s, e, p in slots_view(node) if p == r.port] == c_slots,
                     timeout=30, what="R serving C's slots")
            wait_for(lambda node=node: cluster_ok(node), timeout=30, what="the majority's cluster ok again")
        # C's side of the partition: everyone else only possibly failing (no majority to agree),
        # and the cluster down for C.
        wait_for(lambda: all("fail?" in flags_of(c, name) for name in (node_id(a), node_id(b), r_name)),
                 timeout=30, what="C to see the others as PFAIL")
        wait_for(lambda: not cluster_ok(c), timeout=30, what="C's cluster_state:fail")
        assert [rc.get(key) for key in mine] == mine  # served by R now, after MOVED

        proxies.heal()
        for node in nodes:
            wait_for(lambda node=node: "slave" in flags_of(node, c_name) and master_of(node, c_name) == r_name,
                     timeout=30, what="C known everywhere as R's replica")
        wait_for(lambda: role(c)[0] == b"slave" and role(c)[2] == r.port, timeout=30, what="C replicating R")
        wait_for(lambda: in_sync(r, c), timeout=30, what="C in sync with R")
        for node in nodes:
            wait_for(lambda node=node: cluster_ok(node), timeout=30, what="cluster_state:ok everywhere")
        wait_for(lambda: check_passes(a), what="redis-cli --cluster check after healing")
        assert [rc.get(key) for key in mine] == mine
        rc.close()
    finally:
        stop_all(nodes)
