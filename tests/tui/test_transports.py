"""Connecting over TLS (``rediss://``, ``--tls --cacert``) and a unix socket (``unix://``).

These run against Debian's redis-server only: they start it with its own TLS and
unix-socket options, which are about the server, not the explorer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import SIZE, key_rows, wait_for

from redistui import cli
from redistui.app import RedisTUI
from tests.servers import RealServer, free_port, tls_args, write_certs


@pytest.fixture
def tls_and_unix_server(redis_server, tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """redis-server with a TLS port (certificate from a test CA) and a unix socket."""
    certs = write_certs(tmp_path)
    port, sock = free_port(), tmp_path / "redis.sock"
    server = RealServer(tmp_path, unix_socket=sock, extra=["--port", "0", "--tls-port", str(port), *tls_args(certs)])
    server.start()
    try:
        with server.client() as conn:
            conn.set("over:the:wire", "1")
        yield port, sock, certs["ca"]
    finally:
        server.stop()


def app_for(*argv: str) -> RedisTUI:
    spec = cli.connection_spec(cli.build_parser().parse_args(["launch", *argv]))
    assert spec is not None
    return RedisTUI(spec)


@pytest.mark.parametrize("how", ["url", "flags"])
async def test_tls(tls_and_unix_server, how: str) -> None:
    port, _, ca = tls_and_unix_server
    if how == "url":
        app = app_for("--url", f"rediss://localhost:{port}/0", "--cacert", str(ca))
    else:
        app = app_for("-h", "localhost", "-p", str(port), "--tls", "--cacert", str(ca))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: key_rows(app) == ["over"], what="keys over TLS")


async def test_tls_refuses_an_unknown_certificate_without_crashing(tls_and_unix_server) -> None:
    port, _, _ = tls_and_unix_server
    app = app_for("--url", f"rediss://localhost:{port}/0")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reconnecting, what="a connection banner, not a crash")
        assert app.is_running


async def test_unix_socket(tls_and_unix_server) -> None:
    _, sock, _ = tls_and_unix_server
    app = app_for("--url", f"unix://{sock}?db=0")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: key_rows(app) == ["over"], what="keys over a unix socket")
        assert str(sock) in str(app.query_one("#header").render())
