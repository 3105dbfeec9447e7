"""The explorer on a real three-master Redis Cluster (Debian redis-server, started by the session).

Keys are spread over the masters by slot: the browser must scan every master, viewers and editors
must reach the node that owns a key, the command line must follow MOVED, notifications must come
from every master, and the header and dashboard must say it is a cluster.
"""

from __future__ import annotations

from test_editors import fill_form
from textual.widgets import Static
from tui_helpers import (
    SIZE,
    make_app,
    notified,
    open_key,
    record_notifications,
    screen_text,
    string_viewer,
    wait_for,
)

from redistui.shell import TypedClient
from redistui.widgets.command_line import CommandLine
from redistui.widgets.dashboard import DashboardScreen
from tests.redis_cluster import RedisClusterProcesses


def keys_per_node(cluster: RedisClusterProcesses, keys: list[str]) -> dict[int, list[str]]:
    """Which master (by port) owns each key, asked of the cluster itself."""
    owners: dict[int, list[str]] = {}
    with cluster.client() as conn:
        for key in keys:
            node = conn.get_node_from_key(key)
            owners.setdefault(int(node.port), []).append(key)
    return owners


async def test_browser_scans_every_master_and_says_cluster(cluster: RedisClusterProcesses) -> None:
    keys = [f"user:{i}" for i in range(300)]
    with cluster.client() as conn:
        for key in keys:
            conn.set(key, "x")
    assert len(keys_per_node(cluster, keys)) == 3  # the data really is spread
    app = make_app(cluster.port)
    async with app.run_test(size=SIZE) as pilot:
        app.browser.load_all()
        await wait_for(pilot, lambda: app.browser.scan_done and len(app.browser.index) == 300, timeout=10)
        assert set(app.browser.index.keys) == {key.encode() for key in keys}
        await wait_for(pilot, lambda: "cluster · 3 masters" in screen_text(app), what="cluster header")
        assert "keys 300" in screen_text(app)  # the header sums every master's keyspace
        status = str(app.browser.query_one("#scan-status", Static).render())
        assert "masters " in status and "complete" in status
        assert sum(app.client.node_scanned) == 300 and all(app.client.node_scanned)


async def test_viewers_and_editors_reach_the_owning_node(cluster: RedisClusterProcesses) -> None:
    keys = [f"k{i}" for i in range(30)]
    owners = keys_per_node(cluster, keys)
    one_per_node = [names[0] for names in owners.values()]
    with cluster.client() as conn:
        for key in one_per_node:
            conn.set(key, f"value of {key}")
        conn.hset("h", mapping={"f": "1"})
    app = make_app(cluster.port)
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        for key in one_per_node:
            await open_key(pilot, app, key.encode())
            await wait_for(pilot, lambda key=key: string_viewer(app).data == f"value of {key}".encode())
            await app.client.set_string(key.encode(), b"edited")  # the editors' SET, routed by slot
        await open_key(pilot, app, b"h")
        with cluster.client() as conn:
            assert [conn.get(key) for key in one_per_node] == [b"edited"] * 3
        # RENAME to a name in another slot: Redis's CROSSSLOT, shown as such
        source = one_per_node[0]
        await open_key(pilot, app, source.encode())
        with cluster.client() as conn:
            other = next(f"new{i}" for i in range(100) if conn.keyslot(f"new{i}") != conn.keyslot(source))
        await pilot.press("r")
        await fill_form(pilot, app, name=other)
        await wait_for(pilot, lambda: notified(seen, "CROSSSLOT"), what=f"CROSSSLOT toast in {seen}")
        assert not notified(seen, "MOVED")


async def test_command_line_follows_moved_and_shows_crossslot(cluster: RedisClusterProcesses) -> None:
    keys = [f"c{i}" for i in range(30)]
    owners = keys_per_node(cluster, keys)
    one_per_node = [names[0] for names in owners.values()]
    app = make_app(cluster.port)
    async with app.run_test(size=SIZE) as pilot:
        line = app.query_one(CommandLine)
        await pilot.press("colon")

        def output() -> str:
            return "\n".join("".join(seg.text for seg in row) for row in line.output.lines)

        for key in one_per_node:
            line.input.value = f"SET {key} v-{key}"
            await pilot.press("enter")
            await wait_for(pilot, lambda: not line.input.value)
        line.input.value = f"GET {one_per_node[1]}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: f'"v-{one_per_node[1]}"' in output(), what="GET through MOVED")
        line.input.value = f"MSET {one_per_node[0]} 1 {one_per_node[2]} 2"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "CROSSSLOT" in output(), what="CROSSSLOT reply")
        assert "MOVED" not in output()
    with cluster.client() as conn:
        assert [conn.get(key) for key in one_per_node] == [f"v-{key}".encode() for key in one_per_node]


async def test_live_updates_come_from_every_master(cluster: RedisClusterProcesses) -> None:
    app = make_app(cluster.port, embedded=True)  # embedded: the explorer turns notifications on
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live and app.browser.scan_done, timeout=10)
        for node in cluster.nodes:
            with node.client() as conn:
                assert "K" in conn.config_get("notify-keyspace-events")["notify-keyspace-events"]
        keys = [f"live:{i}" for i in range(30)]
        assert len(keys_per_node(cluster, keys)) == 3
        await pilot.pause(0.3)
        with cluster.client() as conn:
            for key in keys:
                conn.set(key, "1")
        await wait_for(
            pilot, lambda: all(key.encode() in app.browser.index for key in keys), timeout=10, what="live keys"
        )


async def test_dashboard_shows_every_master(cluster: RedisClusterProcesses) -> None:
    with cluster.client() as conn:
        for i in range(60):
            conn.set(f"d{i}", "1")
    app = make_app(cluster.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.client.is_cluster)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(
            pilot,
            lambda: all(f"127.0.0.1:{node.port}" in screen_text(app) for node in cluster.nodes),
            timeout=10,
            what="a row per master",
        )
        assert "Cluster · 3 masters" in screen_text(app)


def test_shell_follows_redirections_with_dash_c(cluster: RedisClusterProcesses) -> None:
    keys = [f"s{i}" for i in range(30)]
    owners = keys_per_node(cluster, keys)
    foreign = next(names[0] for port, names in owners.items() if port != cluster.port)
    plain = TypedClient({"host": "127.0.0.1", "port": cluster.port})
    assert plain.execute("SET", foreign, "1").startswith(b"MOVED")  # without -c, as redis-cli
    follow = TypedClient({"host": "127.0.0.1", "port": cluster.port}, follow_redirects=True)
    assert follow.execute("SET", foreign, "1") == b"OK"
    plain.close()
    follow.close()
    with cluster.client() as conn:
        assert conn.get(foreign) == b"1"
