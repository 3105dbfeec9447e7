"""The cluster bus over TLS (``tls-cluster yes``): nodes of ours, alone and mixed with Debian's
redis-server (built with TLS), form a cluster whose bus links, replication and MIGRATE all use
TLS, and tell each client the ports of its own kind (Redis's use_pport).

Each node listens on a plaintext port (the test's probes) and a TLS port; in a TLS cluster the
nodes know each other by their TLS ports and announce the plaintext one beside it.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from tests.differential.harness import RawConnection, parse
from tests.server.test_cluster import cluster_ok, node_id, slots_view, start_nodes, stop_all, wait_for
from tests.servers import ServerProcess, free_port, require_tool, tls_args, write_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_certs(tmp_path_factory.mktemp("certs"))


class TlsCluster:
    """Nodes with a TLS port each, ``tls-cluster`` and ``tls-replication`` on."""

    def __init__(self, kinds: list[str], workdir: Path, certs: dict[str, Path]) -> None:
        self.certs = certs
        self.tls_ports = [free_port() for _ in kinds]
        self.tls_args = tls_args(certs, "yes")
        self.nodes = start_nodes(kinds, workdir, lambda i: [
            "--tls-port", str(self.tls_ports[i]), "--tls-cluster", "yes", "--tls-replication", "yes",
            *self.tls_args])

    def tls_port(self, node: ServerProcess) -> int:
        return self.tls_ports[self.nodes.index(node)]

    def cli(self, *args: str) -> str:
        import subprocess

        result = subprocess.run([require_tool("redis-cli"), "--tls", "--cacert", str(self.certs["ca"]),
                                 "--cert", str(self.certs["cert"]), "--key", str(self.certs["key"]), *args],
                                capture_output=True, text=True, timeout=120)
        return result.stdout + result.stderr

    def tls_client(self, node: ServerProcess) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.tls_port(node), ssl=True, ssl_ca_certs=str(self.certs["ca"]),
                           ssl_certfile=str(self.certs["cert"]), ssl_keyfile=str(self.certs["key"]))

    def check_passes(self, node: ServerProcess) -> bool:
        out = self.cli("--cluster", "check", f"127.0.0.1:{self.tls_port(node)}")
        return ("[OK] All nodes agree about slots configuration." in out and "[OK] All 16384 slots covered." in out
                and "[ERR]" not in out and "[WARNING]" not in out)


@pytest.fixture
def tls_cluster_factory(tmp_path: Path, certs: dict[str, Path]) -> Iterator[list[TlsCluster]]:
    made: list[TlsCluster] = []
    yield made
    for cluster in made:
        stop_all(cluster.nodes)


def bus_port(node: ServerProcess) -> int:
    return int(node.extra[node.extra.index("--cluster-port") + 1])


@pytest.mark.parametrize("kinds", [["ours", "ours", "ours", "ours"], ["ours", "redis", "ours", "redis"]],
                         ids=["ours", "mixed"])
def test_cluster_over_tls(tmp_path: Path, certs: dict[str, Path], kinds: list[str],
                          tls_cluster_factory: list[TlsCluster]) -> None:
    require_tool("redis-cli")
    tls = TlsCluster(kinds, tmp_path, certs)
    tls_cluster_factory.append(tls)
    a, b, c, replica = tls.nodes
    out = tls.cli("--cluster", "create", *[f"127.0.0.1:{tls.tls_port(n)}" for n in (a, b, c)], "--cluster-yes")
    assert "[OK] All 16384 slots covered." in out, out
    for node in (a, b, c):
        wait_for(lambda node=node: cluster_ok(node), what="cluster_state:ok over the TLS bus")
    # The bus speaks TLS only, and wants the dialling node's certificate.
    context = ssl.create_default_context(cafile=str(certs["ca"]))
    context.check_hostname = False

    def refused_without_certificate() -> bool:
        with socket.create_connection(("127.0.0.1", bus_port(a)), timeout=10) as raw:
            try:
                with context.wrap_socket(raw) as wrapped:
                    wrapped.sendall(b"RCmb")
                    return wrapped.recv(1) == b""  # TLS 1.3 reports the refusal on the first read
            except (ssl.SSLError, ConnectionError):
                return True

    assert refused_without_certificate()
    context.load_cert_chain(str(certs["cert"]), str(certs["key"]))
    with socket.create_connection(("127.0.0.1", bus_port(a))) as raw, context.wrap_socket(raw) as wrapped:
        assert wrapped.version() is not None
    # A replica of ours joins and replicates over TLS (its master's port is the TLS one).
    out = tls.cli("--cluster", "add-node", f"127.0.0.1:{tls.tls_port(replica)}", f"127.0.0.1:{tls.tls_port(a)}",
                  "--cluster-slave", "--cluster-master-id", node_id(a))
    assert "[OK] New node added correctly." in out, out
    wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up",
             what="the replica's sync over TLS")
    assert replica.client().info("replication")["master_port"] == tls.tls_port(a)
    wait_for(lambda: tls.check_passes(a), what="redis-cli --tls --cluster check")

    # Each client is told the ports of its own kind: plaintext here, TLS over TLS.
    plain = {start: port for start, _end, port in slots_view(b)}
    assert set(plain.values()) == {a.port, b.port, c.port}
    with tls.tls_client(b) as conn:
        conn.response_callbacks.pop("CLUSTER SLOTS", None)
        over_tls = {entry[0]: entry[2][1] for entry in conn.execute_command("CLUSTER", "SLOTS")}
        assert set(over_tls.values()) == {tls.tls_port(a), tls.tls_port(b), tls.tls_port(c)}
        nodes_text = conn.execute_command("CLUSTER", "NODES").decode()
        assert f"127.0.0.1:{tls.tls_port(a)}@{bus_port(a)}" in nodes_text
        # A key of a's, asked of b: redirected to a's TLS port (redis-py keeps "slot host:port").
        slot = next(start for start, _end, port in slots_view(b) if port == a.port)
        key = next(f"k{i}" for i in range(100000) if conn.execute_command("CLUSTER", "KEYSLOT", f"k{i}") == slot)
        with pytest.raises(redis.ResponseError, match=f"^{slot} 127.0.0.1:{tls.tls_port(a)}$"):
            conn.get(key)
    with b.client() as conn:
        assert f"127.0.0.1:{a.port}@{bus_port(a)}" in conn.execute_command("CLUSTER", "NODES").decode()
        with pytest.raises(redis.ResponseError, match=f"^{slot} 127.0.0.1:{a.port}$"):
            conn.get(key)
    raw_conn = RawConnection(b.port)
    try:
        shards = parse(raw_conn.call("CLUSTER", "SHARDS"))
    finally:
        raw_conn.close()
    members = [dict(zip(m[::2], m[1::2])) for shard in shards for m in dict(zip(shard[::2], shard[1::2]))[b"nodes"]]
    assert {(m[b"port"], m[b"tls-port"]) for m in members} == {(n.port, tls.tls_port(n)) for n in tls.nodes}

    # Clients of both kinds work across the cluster; a reshard's MIGRATEs go over TLS.
    plain_rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", b.port)], decode_responses=True)
    tls_rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", tls.tls_port(b))], decode_responses=True,
                          ssl=True, ssl_ca_certs=str(certs["ca"]), ssl_certfile=str(certs["cert"]),
                          ssl_keyfile=str(certs["key"]))
    try:
        for i in range(200):
            (plain_rc if i % 2 else tls_rc).set(f"k{i}", i)
        out = tls.cli("--cluster", "reshard", f"127.0.0.1:{tls.tls_port(a)}", "--cluster-from", node_id(b),
                      "--cluster-to", node_id(a), "--cluster-slots", "300", "--cluster-yes")
        assert "[ERR]" not in out, out[-2000:]
        wait_for(lambda: tls.check_passes(a), what="check after the reshard over TLS")
        assert [plain_rc.get(f"k{i}") for i in range(200)] == [str(i) for i in range(200)]
        assert [tls_rc.get(f"k{i}") for i in range(200)] == [str(i) for i in range(200)]
    finally:
        plain_rc.close()
        tls_rc.close()
