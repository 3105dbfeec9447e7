"""Start the server: read settings, open listeners, run the event loop until shutdown.

The command line follows redis-server: an optional config file first, then
``--name value`` options that override it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

from server import REDIS_VERSION, __version__, acl
from server.cluster.state import ClusterConfigError
from server.command import load_all
from server.config import (
    RESERVED_FDS,
    Config,
    ConfigError,
    parse_argv,
    raise_open_files_limit,
    read_config_file,
)
from server.dispatch import build_lookup
from server.instance import Server
from server.network import listen
from server.protocol import Error


def build_server(argv: list[str], load: bool = True) -> Server:
    """A configured ``Server`` from redis-server style arguments (raises ConfigError).

    ``load`` False leaves the data set to `load_data`, which ``run`` calls once it listens.
    """
    config = Config()
    config_file, directives = parse_argv(argv)
    user_lines: list[list[str]] = []
    if config_file:
        config.config_file = os.path.abspath(config_file)
        config.load_directives(read_config_file(config_file), user_lines)
    config.load_directives(directives, user_lines)
    load_all()
    build_lookup()
    server = Server(config, user_lines)
    adjust_open_files_limit(server)
    if load:
        load_data(server)
    return server


def load_data(server: Server) -> None:
    """Load the data set from disk (exits if it cannot be read), then what depends on it."""
    server.persistence.start()
    if server.cluster is not None:
        server.cluster.verify_data()  # keys in slots served elsewhere, keys outside db 0
    server.replication.start()  # ``replicaof`` in the configuration: dial the master once the loop runs


def load_while_listening(server: Server) -> None:
    """`load_data` with the listeners open, as Redis loads: clients connecting meanwhile are
    answered (INFO shows the progress, most commands get -LOADING), then handed to the loop."""
    from server.persistence.loading import LoadAborted, LoadingService

    service = LoadingService(server)
    server.persistence.serve_while_loading = service.poll
    try:
        load_data(server)
    except LoadAborted:  # SHUTDOWN during the load: it asked the loop to stop, which it now does
        server.persistence.loading = False
        server.standing_changed()
    finally:
        server.persistence.serve_while_loading = None
        service.adopt()


class StartupRefused(Exception):
    """The server cannot start (the reason is already logged, as Redis logs it)."""


def adjust_open_files_limit(server: Server) -> None:
    """Redis's adjustOpenFilesLimit at start-up: room for ``maxclients`` clients plus 32 files,
    or, when the system refuses, ``maxclients`` lowered to fit, with Redis's log lines. Past
    that many clients the newcomer gets ``-ERR max number of clients reached`` instead of
    being dropped without a word when the process runs out of descriptors."""
    config = server.config
    requested = config["maxclients"]
    assert isinstance(requested, int)
    wanted = requested + RESERVED_FDS
    old, best, reason = raise_open_files_limit(wanted)
    if best >= wanted:
        if best != old:
            server.log("notice", f"Increased maximum number of open files to {wanted} "
                                 f"(it was originally set to {old}).")
        return
    if best <= RESERVED_FDS:
        server.log("warning", f"Your current 'ulimit -n' of {old} is not enough for the server to start. "
                              f"Please increase your open file limit to at least {wanted}. Exiting.")
        raise StartupRefused
    config.values["maxclients"] = best - RESERVED_FDS
    server.log("warning", f"You requested maxclients of {requested} requiring at least {wanted} max file descriptors.")
    server.log("warning", f"Server can't set maximum open files to {wanted} because of OS error: {reason}.")
    server.log("warning", f"Current maximum open files is {best}. maxclients has been reduced to "
                          f"{best - RESERVED_FDS} to compensate for low ulimit. If you need higher "
                          "maxclients increase 'ulimit -n'.")


async def run(server: Server) -> int:
    loop = asyncio.get_running_loop()
    server.loop = loop
    stop = asyncio.Event()
    server.shutdown_requested = stop.set
    listeners = await listen(server)
    server.log("notice", f"Server initialized (redistui {__version__}, Redis {REDIS_VERSION} compatible)")
    if not server.persistence.loaded:
        load_while_listening(server)
    if server.cluster is not None:
        await server.cluster.start()  # the bus port, and the cluster's 100 ms cron
    if server.config["set-proc-title"]:
        set_process_title(process_title(server))
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, _on_signal, server, sig, stop)
        except (NotImplementedError, RuntimeError):
            pass
    server.log("notice", f"Ready to accept connections tcp on port {server.tcp_port}")

    async def cron() -> None:
        while not stop.is_set():
            await asyncio.sleep(1 / server.config.get_int("hz"))
            try:
                server.cron()
            except Exception as exc:  # never let housekeeping kill the server
                server.log("warning", f"cron failed: {exc!r}")

    cron_task = loop.create_task(cron())
    await stop.wait()
    cron_task.cancel()
    if server.cluster is not None:
        server.cluster.stop()
    for listener in listeners:
        listener.close()
    for client in list(server.clients.values()):
        client.close()
    exit_code = server.persistence.on_shutdown()
    server.log("notice", "Redis is now ready to exit, bye bye...")
    return exit_code


def process_title(server: Server, title: str | None = None) -> str:
    """``proc-title-template`` expanded as Redis does: ``{title} {listen-addr} {server-mode}``.

    The title is how the server was started, without its options (``python -m server``), so a
    password given as ``--requirepass`` is not left for ``ps`` to show.
    """
    if title is None:
        orig = getattr(sys, "orig_argv", sys.argv)
        title = " ".join(orig[: max(len(orig) - len(sys.argv) + 1, 1)])
    config = server.config
    tls_port = server.tls_port or config["tls-port"]
    port = server.tcp_port or tls_port
    bind = config.get_str_list("bind")
    if port:
        listen_addr = f"{bind[0] if bind else '*'}:{port}"
    else:
        listen_addr = f"unixsocket:{config['unixsocket']}"
    values = {
        "title": title, "listen-addr": listen_addr, "server-mode": "",
        "config-file": config.config_file or "-", "port": str(server.tcp_port),
        "tls-port": str(tls_port), "unixsocket": str(config["unixsocket"]),
    }
    template = str(config["proc-title-template"])
    expanded = re.sub(r"\{([a-z-]+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    return expanded.strip(" ")


def set_process_title(title: str) -> None:
    """Replace the command line ``ps`` and /proc/<pid>/cmdline show (setproctitle rewrites argv)."""
    try:
        import setproctitle
    except ImportError:  # a dependency: only a broken install lacks it, and then argv stays
        return
    setproctitle.setproctitle(title)


def _on_signal(server: Server, sig: int, stop: asyncio.Event) -> None:
    """SIGINT/SIGTERM: shut down as ``shutdown-on-sigint``/``-sigterm`` say, waiting for lagging
    replicas as SHUTDOWN does; a second SIGINT during that wait exits at once, with status 1."""
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    replication = server.replication
    if replication.shutting_down:
        if sig == signal.SIGINT:
            server.log("warning", "You insist... exiting now.")
            server.persistence.shutdown_done = True  # no save: not a clean shutdown
            server.persistence.shutdown_exit_code = 1
            stop.set()
        return
    server.log("warning", f"Received {name} scheduling shutdown...")
    server.log("warning", "User requested shutdown...")
    words = server.config.get_str("shutdown-on-sigint" if sig == signal.SIGINT else "shutdown-on-sigterm").split()
    if replication.begin_shutdown(None, False, "now" in words, by_signal=True):
        replication.finish_shutdown()  # (the loop's stop saves: Persistence.on_shutdown)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (it is a default dependency), asyncio's own loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-v", "--version"):
        print(f"Redis server v={REDIS_VERSION} redistui={__version__} bits=64")
        return 0
    try:
        server = build_server(argv, load=False)
    except (ConfigError, OSError, Error) as exc:
        print(f"\n*** FATAL CONFIG FILE ERROR (redistui {__version__}) ***\n{exc}", file=sys.stderr)
        return 1
    except (acl.ACLLoadError, StartupRefused, ClusterConfigError):  # logged as Redis logs it
        return 1
    loop = new_event_loop()
    try:
        return loop.run_until_complete(run(server))
    except OSError as exc:
        server.log("warning", str(exc))
        return 1
    except ClusterConfigError:  # found while loading (keys outside db 0): logged as Redis logs it
        return 1
    finally:
        loop.close()
