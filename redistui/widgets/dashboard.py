"""The server dashboard: INFO with sparklines, SLOWLOG, CLIENT LIST and a MONITOR pane.

`Dashboard` is a widget (tabs: Overview, Slowlog, Clients, Monitor); `DashboardScreen`
shows it full screen (Escape closes), optionally opened on the Monitor tab with MONITOR on. INFO is polled every `interval` seconds on its own
connection; SLOWLOG and CLIENT LIST refresh while their tab is shown. MONITOR is costly
for the server, so it runs only while the Monitor tab's switch is on; its lines arrive
in a worker and are rendered in batches like the pub/sub pane's messages.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from redis.exceptions import RedisError
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    Label,
    RichLog,
    Sparkline,
    Static,
    Switch,
    TabbedContent,
    TabPane,
)

from redistui.formatting import printable

__all__ = ["Dashboard", "DashboardScreen", "info_cards", "replication_card"]

SECTIONS = {
    "Memory": [
        ("used", "used_memory_human"),
        ("peak", "used_memory_peak_human"),
        ("rss", "used_memory_rss_human"),
        ("fragmentation", "mem_fragmentation_ratio"),
        ("maxmemory", "maxmemory_human"),
        ("policy", "maxmemory_policy"),
    ],
    "Clients": [
        ("connected", "connected_clients"),
        ("blocked", "blocked_clients"),
        ("pub/sub channels", "pubsub_channels"),
        ("pub/sub patterns", "pubsub_patterns"),
    ],
    "Stats": [
        ("ops/sec", "instantaneous_ops_per_sec"),
        ("commands", "total_commands_processed"),
        ("connections", "total_connections_received"),
        ("hits", "keyspace_hits"),
        ("misses", "keyspace_misses"),
        ("expired", "expired_keys"),
        ("evicted", "evicted_keys"),
    ],
    "Persistence": [
        ("changes since save", "rdb_changes_since_last_save"),
        ("last save", "rdb_last_save_time"),
        ("last bgsave", "rdb_last_bgsave_status"),
        ("aof", "aof_enabled"),
        ("saving now", "rdb_bgsave_in_progress"),
    ],
    "Server": [
        ("version", "redis_version"),
        ("mode", "redis_mode"),
        ("uptime (s)", "uptime_in_seconds"),
        ("port", "tcp_port"),
    ],
}


CLIENT_FIELDS = ("id", "addr", "name", "age", "idle", "db", "cmd", "user")


def _value(info: dict[str, Any], field: str) -> str:
    value = info.get(field)
    if value is None:
        return "—"
    if field == "rdb_last_save_time" and isinstance(value, int):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    return printable(value if isinstance(value, bytes) else str(value))


def info_cards(info: dict[str, Any]) -> dict[str, Table]:
    """One small two-column table per INFO section, plus the keyspace."""
    cards: dict[str, Table] = {}
    for title, fields in SECTIONS.items():
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim")
        table.add_column(style="bold")
        for label, field in fields:
            table.add_row(label, _value(info, field))
        cards[title] = table
    cards["Replication"] = replication_card(info)
    keyspace = Table.grid(padding=(0, 1))
    keyspace.add_column(style="dim")
    keyspace.add_column(style="bold")
    for name, stats in sorted((k, v) for k, v in info.items() if k.startswith("db") and isinstance(v, dict)):
        keyspace.add_row(name, f"{stats.get('keys', 0)} keys, {stats.get('expires', 0)} expiring")
    cards["Keyspace"] = keyspace
    return cards


def replication_card(info: dict[str, Any]) -> Table:
    """Role and offsets; a master lists each replica (state, offset, bytes behind, seconds since its ACK)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim")
    table.add_column(style="bold")
    if info.get("role") == "slave":
        table.add_row("role", "replica (read-only)" if str(info.get("slave_read_only", "1")) == "1" else "replica")
        table.add_row("master", printable(f"{info.get('master_host', '?')}:{info.get('master_port', '?')}"))
        table.add_row("link", _value(info, "master_link_status"))
        table.add_row("last I/O (s)", _value(info, "master_last_io_seconds_ago"))
        table.add_row("syncing", _value(info, "master_sync_in_progress"))
        table.add_row("offset", _value(info, "slave_repl_offset"))
        return table
    offset = int(info.get("master_repl_offset", 0) or 0)
    table.add_row("role", _value(info, "role"))
    table.add_row("offset", f"{offset:,}")
    table.add_row("replicas", _value(info, "connected_slaves"))
    index = 0
    while isinstance(replica := info.get(f"slave{index}"), dict):
        behind = offset - int(replica.get("offset", 0) or 0)
        table.add_row(
            printable(f"{replica.get('ip', '?')}:{replica.get('port', '?')}"),
            printable(f"{replica.get('state', '?')} · {behind:,} B behind · lag {replica.get('lag', '?')} s"),
        )
        index += 1
    return table


NODE_FIELDS = (
    ("keys", ""),
    ("memory", "used_memory_human"),
    ("ops/s", "instantaneous_ops_per_sec"),
    ("clients", "connected_clients"),
    ("commands", "total_commands_processed"),
    ("uptime (s)", "uptime_in_seconds"),
)


def nodes_table(nodes: list[Any], infos: list[dict[str, Any] | str]) -> Table:
    """One row per cluster master: its address and the INFO fields that differ from node to node."""
    table = Table(box=None, padding=(0, 2), header_style="dim")
    table.add_column("node")
    for label, _ in NODE_FIELDS:
        table.add_column(label, justify="right")
    for node, info in zip(nodes, infos, strict=False):
        if isinstance(info, str):
            table.add_row(printable(node.address), Text(printable(info), style="red"))
            continue
        keys = str((info.get("db0") or {}).get("keys", 0))
        table.add_row(
            printable(node.address), keys, *(_value(info, field) for label, field in NODE_FIELDS if field)
        )
    return table


class Dashboard(Vertical):
    """Live INFO, SLOWLOG, CLIENT LIST and MONITOR for one server."""

    DEFAULT_CSS = """
    Dashboard {
        height: 1fr;
    }
    Dashboard #dash-cards {
        grid-size: 3;
        grid-gutter: 0 1;
        height: auto;
    }
    Dashboard .card {
        border: round $primary 40%;
        height: auto;
        padding: 0 1;
    }
    Dashboard .spark-row {
        height: 4;
    }
    Dashboard .spark-row Label {
        width: 24;
        padding: 1 1;
    }
    Dashboard Sparkline {
        width: 1fr;
        height: 3;
        margin: 0 1;
    }
    Dashboard #monitor-bar {
        height: 1;
    }
    Dashboard #monitor-bar Input {
        border: none;
        height: 1;
        width: 1fr;
    }
    Dashboard #monitor-bar Switch {
        border: none;
        height: 1;
        padding: 0;
    }
    Dashboard #monitor-log {
        height: 1fr;
    }
    """

    def __init__(
        self,
        spec: Any,
        interval: float = 1.0,
        history: int = 120,
        monitor: bool = False,
        nodes: list[Any] | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.spec = spec
        self.nodes = list(nodes or [])  # a cluster's masters (ConnectionSpecs): each gets a row
        self._node_clients: list[Any] = []
        self.node_infos: list[dict[str, Any] | str] = []
        self.monitor_at_start = monitor
        self.interval = interval
        self.ops: deque[float] = deque(maxlen=history)
        self.memory: deque[float] = deque(maxlen=history)
        self.info: dict[str, Any] = {}
        self.cards: dict[str, Table] = {}
        self.monitor_lines: deque[str] = deque(maxlen=5000)
        self.monitor_incoming: list[str] = []
        self.monitor_filter = ""
        self._client: Any = None
        self._monitor_client: Any = None

    def compose(self) -> ComposeResult:
        with TabbedContent(id="dash-tabs"):
            with TabPane("Overview", id="tab-overview"):
                if self.nodes:
                    nodes = Static("", id="cluster-nodes", classes="card")
                    nodes.border_title = f"Cluster · {len(self.nodes)} masters"
                    yield nodes
                with Horizontal(classes="spark-row"):
                    yield Label("ops/sec", id="ops-label")
                    yield Sparkline([], id="ops-spark")
                with Horizontal(classes="spark-row"):
                    yield Label("memory", id="mem-label")
                    yield Sparkline([], id="mem-spark")
                with Grid(id="dash-cards"):
                    for title in [*SECTIONS, "Replication", "Keyspace"]:
                        card = Static("", id=f"card-{title.lower()}", classes="card")
                        card.border_title = title
                        yield card
            with TabPane("Slowlog", id="tab-slowlog"):
                slowlog: DataTable[str] = DataTable(id="slowlog", zebra_stripes=True, cursor_type="row")
                slowlog.add_columns("id", "when", "µs", "command", "client")
                yield slowlog
            with TabPane("Clients", id="tab-clients"):
                clients: DataTable[str] = DataTable(id="clients", zebra_stripes=True, cursor_type="row")
                clients.add_columns(*CLIENT_FIELDS)
                yield clients
            with TabPane("Monitor", id="tab-monitor"):
                with Horizontal(id="monitor-bar"):
                    yield Label(" MONITOR ")
                    yield Switch(value=False, id="monitor-switch")
                    yield Input(placeholder="filter (e.g. set, user:)", id="monitor-filter")
                yield RichLog(id="monitor-log", max_lines=5000, markup=False, highlight=False, wrap=False)

    def on_mount(self) -> None:
        self._client = self.spec.connect()
        self._node_clients = [node.connect() for node in self.nodes]
        self.set_interval(self.interval, self.poll)
        self.set_interval(0.1, self._flush_monitor)
        self.poll()
        if self.monitor_at_start:
            self.query_one(TabbedContent).active = "tab-monitor"
            self.start_monitor()

    async def on_unmount(self) -> None:
        for client in (self._client, self._monitor_client, *self._node_clients):
            if client is not None:
                try:
                    await client.aclose()
                except Exception:  # noqa: BLE001 - shutting down
                    pass

    # -- polling -------------------------------------------------------------------------

    @work(exclusive=True, group="dashboard-poll")
    async def poll(self) -> None:
        """INFO every tick; SLOWLOG / CLIENT LIST when their tab is visible."""
        try:
            info = await self._client.info("all")
        except Exception as exc:  # noqa: BLE001 - shown, retried next tick
            self.query_one("#ops-label", Label).update(Text(printable(f"INFO failed: {exc}")))
            return
        if self._node_clients:
            self.node_infos = []
            for node in self._node_clients:
                try:
                    self.node_infos.append(await node.info("all"))
                except Exception as exc:  # noqa: BLE001 - that node's row says why
                    self.node_infos.append(str(exc))
        try:
            self.show_info(info)
            if self.nodes:
                self.query_one("#cluster-nodes", Static).update(nodes_table(self.nodes, self.node_infos))
            active = self.query_one(TabbedContent).active
            if active == "tab-slowlog":
                await self.refresh_slowlog()
            elif active == "tab-clients":
                await self.refresh_clients()
        except NoMatches:  # the screen closed while a reply was on its way
            return
        except RedisError as exc:  # e.g. a server without SLOWLOG or CLIENT LIST
            self.notify(str(exc), title="Dashboard", severity="warning")

    def show_info(self, info: dict[str, Any]) -> None:
        self.info = info
        self.ops.append(float(info.get("instantaneous_ops_per_sec", 0) or 0))
        self.memory.append(float(info.get("used_memory", 0) or 0))
        self.query_one("#ops-spark", Sparkline).data = list(self.ops)
        self.query_one("#mem-spark", Sparkline).data = list(self.memory)
        self.query_one("#ops-label", Label).update(f"ops/sec  {self.ops[-1]:,.0f}")
        self.query_one("#mem-label", Label).update(f"memory  {_value(info, 'used_memory_human')}")
        self.cards = info_cards(info)
        for title, table in self.cards.items():
            self.query_one(f"#card-{title.lower()}", Static).update(table)

    async def refresh_slowlog(self) -> None:
        entries = await self._client.execute_command("SLOWLOG", "GET", 50)
        table = self.query_one("#slowlog", DataTable)
        table.clear()
        for entry in entries or []:
            ident, when, micros, args = entry[0], entry[1], entry[2], entry[3]
            client = printable(entry[4]) if len(entry) > 4 else ""
            command = " ".join(printable(a if isinstance(a, bytes) else str(a)) for a in args)
            stamp = time.strftime("%H:%M:%S", time.localtime(int(when)))
            table.add_row(str(ident), stamp, f"{int(micros):,}", Text(command[:200]), Text(client))

    async def refresh_clients(self) -> None:
        raw = await self._client.execute_command("CLIENT", "LIST")
        if isinstance(raw, list):  # redis-py may have parsed it already
            rows = raw
        else:
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            rows = [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in text.splitlines()]
        table = self.query_one("#clients", DataTable)
        table.clear()
        for row in rows:
            row = {k.decode() if isinstance(k, bytes) else k: v for k, v in row.items()}
            values = [row.get(k, "") for k in CLIENT_FIELDS]
            table.add_row(*(Text(printable(v if isinstance(v, bytes) else str(v))) for v in values))

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        self.poll()

    # -- MONITOR -------------------------------------------------------------------------

    @on(Switch.Changed, "#monitor-switch")
    def _monitor_switched(self, event: Switch.Changed) -> None:
        if event.value:
            self.monitor()
        else:
            self.workers.cancel_group(self, "dashboard-monitor")

    def start_monitor(self) -> None:
        """Turn MONITOR on (the switch's Changed event starts the worker)."""
        self.query_one("#monitor-switch", Switch).value = True

    def stop_monitor(self) -> None:
        self.query_one("#monitor-switch", Switch).value = False

    @work(exclusive=True, group="dashboard-monitor")
    async def monitor(self) -> None:
        """Read MONITOR lines (redis-cli's text) until the switch goes off."""
        client = self.spec.connect()
        self._monitor_client = client
        try:
            async with client.monitor() as monitor:
                while True:
                    line = await monitor.connection.read_response()
                    self.monitor_incoming.append(printable(line if isinstance(line, bytes) else str(line)))
        except Exception as exc:  # noqa: BLE001 - disconnected: say so in the log
            self.monitor_incoming.append(printable(f"(monitor stopped: {exc})"))
        finally:
            if self._monitor_client is client:
                self._monitor_client = None
            try:
                await client.aclose()
            except Exception:  # noqa: BLE001
                pass

    def _flush_monitor(self) -> None:
        if not self.monitor_incoming:
            return
        batch, self.monitor_incoming = self.monitor_incoming, []
        self.monitor_lines.extend(batch)
        log = self.query_one("#monitor-log", RichLog)
        needle = self.monitor_filter.lower()
        for line in batch:
            if not needle or needle in line.lower():
                log.write(Text(line))

    @on(Input.Changed, "#monitor-filter")
    def _monitor_filter(self, event: Input.Changed) -> None:
        self.monitor_filter = event.value
        log = self.query_one("#monitor-log", RichLog)
        log.clear()
        needle = event.value.lower()
        for line in self.monitor_lines:
            if not needle or needle in line.lower():
                log.write(Text(line))


class DashboardScreen(Screen[None]):
    """The dashboard full screen; Escape goes back."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    DashboardScreen > #dash-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-style: bold;
    }
    """

    def __init__(self, spec: Any, monitor: bool = False, nodes: list[Any] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.monitor = monitor
        self.nodes = list(nodes or [])

    def compose(self) -> ComposeResult:
        address = getattr(self.spec, "address", "")
        yield Static(f"Server dashboard · {address} · INFO every second", id="dash-title")
        yield Dashboard(self.spec, monitor=self.monitor, nodes=self.nodes, id="dashboard")
        yield Footer()
