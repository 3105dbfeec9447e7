"""The top bar: server version and address, db, keys, memory and ops/sec from INFO.

The app polls INFO once a second and hands the parsed dict to `ServerHeader.update_info`;
the header only draws. `ConnectionBanner` is the red line shown while the connection
is lost and the app is reconnecting.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from redistui.formatting import printable


def keyspace_counts(info: dict[str, Any]) -> dict[int, int]:
    """``{db: keys}`` from INFO's keyspace section (``db0: {keys: 3, expires: 1, ...}``)."""
    counts: dict[int, int] = {}
    for name, value in info.items():
        if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict):
            counts[int(name[2:])] = int(value.get("keys", 0))
    return counts


class ServerHeader(Static):
    """One line: ``redistui · Redis 7.0.15 · 127.0.0.1:6379 · db0 · 1,234 keys · 1.2M · 56 ops/s``."""

    DEFAULT_CSS = """
    ServerHeader {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, address: str, embedded: bool = False, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.address = address
        self.embedded = embedded
        self.db = 0
        self.cluster_masters = 0  # a Redis Cluster of this many masters (0: a single server)
        self.info: dict[str, Any] = {}

    def on_mount(self) -> None:
        self.update(self.summary())

    def update_info(self, info: dict[str, Any], db: int) -> None:
        self.info, self.db = info, db
        self.update(self.summary(), layout=False)  # one fixed line: no layout pass

    def summary(self) -> Text:
        info = self.info
        name = "valkey" if "valkey_version" in info else "redis"
        version = info.get("valkey_version") or info.get("redis_version") or "?"
        server = f"{name} {version}" + (" (bundled)" if self.embedded else "")
        keys = keyspace_counts(info).get(self.db, 0)
        role = replication_role(info)
        memory = info.get("used_memory_human", "?")
        ops = info.get("instantaneous_ops_per_sec", "?")
        clients = info.get("connected_clients", "?")
        text = Text.assemble(("redistui", "bold"), "  ")
        for label, value in (
            ("", server),
            ("", self.address),
            ("", f"cluster · {self.cluster_masters} masters" if self.cluster_masters else f"db{self.db}"),
            *((("", role),) if role else ()),
            ("keys ", f"{keys:,}"),
            ("mem ", str(memory)),
            ("ops/s ", str(ops)),
            ("clients ", str(clients)),
        ):
            text.append(label, "dim")
            text.append(printable(value), "bold")
            text.append("  │  ", "dim")
        text.right_crop(5)
        return text


def replica_of(info: dict[str, Any]) -> str | None:
    """``host:port`` of the master when INFO says this server is a replica, else None."""
    if info.get("role") != "slave":
        return None
    return f"{info.get('master_host', '?')}:{info.get('master_port', '?')}"


def read_only_replica(info: dict[str, Any]) -> bool:
    """A replica that refuses writes (``replica-read-only yes``, Redis's default)."""
    return replica_of(info) is not None and str(info.get("slave_read_only", "1")) == "1"


def replication_role(info: dict[str, Any]) -> str:
    """The header's word on replication: ``replica of h:p · read-only · link down``, ``master · 2 replicas``."""
    master = replica_of(info)
    if master is not None:
        parts = [f"replica of {master}"]
        if read_only_replica(info):
            parts.append("read-only")
        if info.get("master_link_status") != "up":
            parts.append("link down")
        return " · ".join(parts)
    replicas = int(info.get("connected_slaves", 0) or 0)
    if replicas:
        return f"master · {replicas} replica{'s' if replicas > 1 else ''}"
    return ""


class ConnectionBanner(Static):
    """Shown only while the connection is down."""

    DEFAULT_CSS = """
    ConnectionBanner {
        height: 1;
        background: $error;
        color: $text;
        text-style: bold;
        padding: 0 1;
        display: none;
    }
    ConnectionBanner.-visible { display: block; }
    """

    def show_lost(self, error: str, retry_in: float, attempt: int) -> None:
        self.update(f"Connection lost ({error}) — reconnecting in {retry_in:.1f}s (attempt {attempt})")
        self.add_class("-visible")

    def hide(self) -> None:
        self.remove_class("-visible")
