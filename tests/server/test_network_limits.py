"""Network exposure: TLS, protected mode, maxclients, idle timeout, keepalive."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time

import pytest
import redis

from server.config import Config
from server.instance import Server
from server.network import PROTECTED_MODE_DENIED, is_loopback, protected_mode_refusal
from tests.servers import OurServer, free_port, tls_args, write_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return write_certs(tmp_path_factory.mktemp("certs"), client=True)


def start_tls(tmp_path, certs, auth_clients: str) -> tuple[OurServer, int]:
    tls_port = free_port()
    server = OurServer(tmp_path, extra=["--tls-port", str(tls_port), *tls_args(certs, auth_clients)])
    server.start()
    return server, tls_port


def test_tls_with_redis_py_and_client_certificates(tmp_path, certs):
    server, tls_port = start_tls(tmp_path, certs, "yes")
    try:
        client = redis.Redis(
            port=tls_port, ssl=True, ssl_ca_certs=str(certs["ca"]), ssl_certfile=str(certs["client_cert"]),
            ssl_keyfile=str(certs["client_key"]),
        )
        assert client.set("secure", "yes")
        assert client.get("secure") == b"yes"
        # The plain port still works alongside.
        assert redis.Redis(port=server.port).get("secure") == b"yes"
        # Without a client certificate the handshake is refused.
        bare = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=str(certs["ca"]), socket_timeout=5)
        with pytest.raises(redis.ConnectionError):
            bare.ping()
    finally:
        server.stop()


def test_tls_optional_client_auth_with_redis_cli(tmp_path, certs):
    if not shutil.which("redis-cli"):
        pytest.fail("redis-cli comes with redis-tools (make test installs it)")
    server, tls_port = start_tls(tmp_path, certs, "no")
    try:
        out = subprocess.run(
            ["redis-cli", "-p", str(tls_port), "--tls", "--cacert", str(certs["ca"]), "PING"],
            capture_output=True, timeout=30,
        )
        assert out.stdout == b"PONG\n", out.stderr
        # A plain-text client on the TLS port gets nothing useful.
        with socket.create_connection(("127.0.0.1", tls_port), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            try:
                data = sock.recv(100)
            except (ConnectionResetError, TimeoutError):
                data = b""
            assert b"PONG" not in data
    finally:
        server.stop()


def test_tls_protocol_versions_are_enforced(tmp_path, certs):
    server, tls_port = start_tls(tmp_path, certs, "no")
    server.stop()
    server = OurServer(tmp_path / "v13", extra=[
        "--tls-port", str(tls_port), "--tls-cert-file", str(certs["cert"]),
        "--tls-key-file", str(certs["key"]), "--tls-auth-clients", "no", "--tls-protocols", "TLSv1.3",
    ])
    server.start()
    try:
        ctx = ssl.create_default_context(cafile=str(certs["ca"]))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw:
            with pytest.raises(ssl.SSLError):
                ctx.wrap_socket(raw, server_hostname="localhost")
        ctx13 = ssl.create_default_context(cafile=str(certs["ca"]))
        with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw:
            with ctx13.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"PING\r\n")
                assert tls.recv(100) == b"+PONG\r\n"
    finally:
        server.stop()


def test_protected_mode_refuses_remote_clients_without_password():
    server = Server(Config())
    remote = ("10.1.2.3", 50000)
    assert is_loopback(("127.0.0.1", 1)) and is_loopback(("::1", 1, 0, 0)) and is_loopback("")
    assert not is_loopback(remote)
    assert protected_mode_refusal(server, ("127.0.0.1", 5000)) is None
    assert protected_mode_refusal(server, remote) == PROTECTED_MODE_DENIED
    server.config.set_many([("requirepass", ["secret"])])
    assert protected_mode_refusal(server, remote) is None
    server.config.set_many([("requirepass", [""]), ("protected-mode", ["no"])])
    assert protected_mode_refusal(server, remote) is None
    assert PROTECTED_MODE_DENIED.startswith(b"-DENIED Redis is running in protected mode")


def test_maxclients_refuses_with_redis_error(tmp_path):
    server = OurServer(tmp_path, extra=["--maxclients", "3"])
    server.start()
    socks = []
    try:
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"PING\r\n")
            assert sock.recv(100) == b"+PONG\r\n"
            socks.append(sock)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        assert extra.recv(100) == b"-ERR max number of clients reached\r\n"
        extra.close()
        socks.pop().close()
        time.sleep(0.2)
        again = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        again.sendall(b"PING\r\n")
        assert again.recv(100) == b"+PONG\r\n"
        again.close()
        info = redis.Redis(port=server.port, single_connection_client=True)
    finally:
        for sock in socks:
            sock.close()
    try:
        time.sleep(0.2)
        assert int(info.info("stats")["rejected_connections"]) == 1
    finally:
        server.stop()


def test_idle_clients_are_closed_after_timeout(tmp_path):
    server = OurServer(tmp_path, extra=["--timeout", "1"])
    server.start()
    try:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        idle.sendall(b"PING\r\n")
        assert idle.recv(100) == b"+PONG\r\n"
        deadline = time.monotonic() + 5
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                closed = idle.recv(100) == b""
            except TimeoutError:
                pass
        assert closed
    finally:
        server.stop()


def test_endless_bulk_hits_query_buffer_limit_others_unaffected(tmp_path):
    server = OurServer(tmp_path, extra=["--client-query-buffer-limit", "1mb"])
    server.start()
    try:
        bystander = redis.Redis(port=server.port)
        assert bystander.set("k", "v")
        greedy = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        greedy.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$100000000\r\n")
        closed = False
        chunk = b"x" * 65536
        for _ in range(200):  # up to ~13 MB, far past the 1 MB limit
            try:
                greedy.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        if not closed:
            greedy.settimeout(5)
            try:
                closed = greedy.recv(100) == b""
            except ConnectionResetError:
                closed = True
        assert closed
        assert bystander.get("k") == b"v"
        assert bystander.exists("x") == 0
    finally:
        server.stop()


def test_client_that_never_reads_is_dropped_at_output_limit(tmp_path):
    server = OurServer(tmp_path, extra=["--client-output-buffer-limit", "normal 1mb 0 0"])
    server.start()
    try:
        bystander = redis.Redis(port=server.port)
        bystander.set("big", b"x" * 100_000)
        lazy = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 50
        dropped = False
        for _ in range(100):  # up to 500 MB of replies asked for, never read
            try:
                lazy.sendall(request)
            except (BrokenPipeError, ConnectionResetError):
                dropped = True
                break
            time.sleep(0.005)
        if not dropped:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not dropped:
                clients = bystander.client_list()
                dropped = len(clients) == 1
                time.sleep(0.1)
        assert dropped
        assert bystander.get("big") == b"x" * 100_000
        assert "overcoming of output buffer limits" in server.log_tail(50)
    finally:
        server.stop()
