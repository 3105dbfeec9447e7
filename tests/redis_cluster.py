"""A three-master Redis Cluster for the explorer's cluster tests: Debian redis-server processes, or our own.

Each node is a server of the chosen kind (`tests.servers.server_process`) with ``--cluster-enabled yes`` on a free port (and its bus on another) and
a config file in its own directory; ``redis-cli --cluster create`` assigns the 16384 slots, and `start` waits until every
node reports ``cluster_state:ok``.
"""

from __future__ import annotations

import subprocess
import time

import redis

from tests.servers import free_port, require_tool, server_process

MASTERS = 3


class RedisClusterProcesses:
    """Three masters of one kind ("redis-server" or "bundled") joined into one cluster (no replicas)."""

    def __init__(self, kind: str = "redis-server", masters: int = MASTERS) -> None:
        self.kind = kind
        self.nodes = [server_process(kind) for _ in range(masters)]
        for node in self.nodes:
            node.extra = [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(node.workdir / "nodes.conf"),
                "--cluster-node-timeout", "5000",
                # the bus port on a free port of its own (by default it is the port + 10000)
                "--cluster-port", str(free_port()),
            ]

    @property
    def port(self) -> int:
        """The seed node the explorer is pointed at."""
        return self.nodes[0].port

    def start(self, timeout: float = 30.0) -> None:
        if self.kind == "redis-server":
            require_tool("redis-server")
        cli = require_tool("redis-cli")
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.kind} cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def ready(self) -> bool:
        for node in self.nodes:
            with node.client() as conn:
                info = conn.execute_command("CLUSTER", "INFO")
                text = info.decode() if isinstance(info, bytes) else str(info)
                if "cluster_state:ok" not in text:
                    return False
                if len(conn.execute_command("CLUSTER", "SLOTS")) < len(self.nodes):
                    return False
        return True

    def client(self) -> redis.RedisCluster:
        """A redis-py cluster client (routes by slot), for seeding data."""
        return redis.RedisCluster(host="127.0.0.1", port=self.port)

    def reset(self) -> None:
        """Empty every master and turn keyspace notifications off."""
        for node in self.nodes:
            with node.client() as conn:
                conn.flushall()
                conn.config_set("notify-keyspace-events", "")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
