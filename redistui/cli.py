"""The ``redistui`` command: ``launch`` (the explorer), ``serve`` (the bundled server), ``shell``.

Connection flags follow redis-cli (``-h -p -a -n --user --tls -u/--url``). With no
connection flag, ``launch`` starts the bundled server and explores it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from redistui.client import ConnectionSpec


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """redis-cli's connection flags; shared by ``launch`` and ``shell``."""
    group = parser.add_argument_group("connection (starts nothing when given)")
    group.add_argument(
        "-u", "--url", help="redis://[user:pass@]host:port/db, rediss://… (TLS) or unix://path"
    )
    group.add_argument("-h", "--host", dest="host", help="server hostname")
    group.add_argument("-p", "--port", dest="port", type=int, help="server port")
    group.add_argument("-a", "--password", dest="password", help="password (also REDISCLI_AUTH)")
    group.add_argument("--user", dest="user", help="ACL username")
    group.add_argument("-n", "--db", dest="db", type=int, default=None, help="database number")
    group.add_argument("--tls", action="store_true", help="connect with TLS")
    group.add_argument("--cacert", help="TLS: CA certificate file to trust")
    group.add_argument("--insecure", action="store_true", help="TLS: do not verify the server certificate")
    group.add_argument("-s", "--socket", dest="socket", help="unix socket path")


def connection_spec(args: argparse.Namespace) -> ConnectionSpec | None:
    """The server the user named, or None when they named none (launch then starts the bundled one)."""
    password = args.password or os.environ.get("REDISCLI_AUTH")
    if args.url:
        spec = ConnectionSpec.from_url(args.url)
        if args.cacert or args.insecure:
            spec = replace(spec, ca_cert=args.cacert, insecure=args.insecure)
        return spec.with_db(args.db) if args.db is not None and args.db != spec.db else spec
    if not (args.host or args.port or args.socket or args.tls or args.cacert or args.user or args.password):
        return None
    return ConnectionSpec(
        host=args.host or "127.0.0.1",
        port=args.port or 6379,
        db=args.db or 0,
        username=args.user,
        password=password,
        tls=args.tls or bool(args.cacert),
        unix_socket=args.socket,
        ca_cert=args.cacert,
        insecure=args.insecure,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redistui", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    launch = commands.add_parser(
        "launch",
        add_help=False,
        help="open the explorer (starts the bundled server unless told where to connect)",
    )
    launch.add_argument("--help", action="help", help="show this help and exit")
    add_connection_flags(launch)
    bundled = launch.add_argument_group("bundled server")
    bundled.add_argument("--dir", type=Path, help="data directory (default: a per-user data dir)")
    bundled.add_argument(
        "--bundled-port", type=int, help="port of the bundled server (default 6379, where redis-cli looks)"
    )
    bundled.add_argument(
        "--keep-server", action="store_true", help="leave the bundled server running on exit"
    )
    launch.set_defaults(handler=run_launch)

    serve = commands.add_parser("serve", help="run the bundled server in the foreground")
    serve.add_argument("--port", type=int, default=6379)
    serve.add_argument("--dir", type=Path, help="data directory (default: a per-user data dir)")
    serve.set_defaults(
        server_args=[]
    )  # any other redis-server option (--save "", --appendonly yes …) passes through
    serve.set_defaults(handler=run_serve)

    opener = commands.add_parser(
        "open", help="explore an RDB file or an AOF (directory, manifest or single file), read-only"
    )
    opener.add_argument("path", type=Path, help="the .rdb file, AOF directory, manifest or append-only file")
    opener.set_defaults(handler=run_open)

    analyse = commands.add_parser(
        "analyse",
        help="memory by prefix, type, encoding, db and TTL, and the biggest keys, on stdout",
        epilog="Exit status 3: the file is damaged (the report covers the keys read before the damage).",
    )
    analyse.add_argument("target", help="an RDB file, an AOF (directory, manifest or file), or a redis:// URL")
    analyse.add_argument("--format", choices=("table", "csv", "json"), default="table")
    analyse.add_argument("--delimiter", default=":", help="namespace separator of the prefix tree (default :)")
    analyse.add_argument("--top", type=int, default=100, help="how many biggest keys to list (default 100)")
    analyse.add_argument(
        "--samples", type=int, default=5, help="live servers: MEMORY USAGE SAMPLES (0: every element)"
    )
    analyse.set_defaults(handler=run_analyse)

    # `redistui shell` parses its own redis-cli style flags (see redistui.shell); main() hands it argv.
    commands.add_parser(
        "shell", add_help=False, help="a redis-cli compatible shell with completion and hints"
    )
    return parser


def run_launch(args: argparse.Namespace) -> int:
    from redistui.app import RedisTUI
    from redistui.embedded import EmbeddedServer, EmbeddedServerError, describe_listener, port_is_free

    spec = connection_spec(args)
    if spec is not None:
        RedisTUI(spec).run()
        return 0
    server = EmbeddedServer(port=args.bundled_port, data_dir=args.dir, outlive_explorer=args.keep_server)
    if not port_is_free(server.port, server.host):
        who, directory = describe_listener(server.port, server.host)
        if directory is not None and directory.resolve() == server.data_dir.resolve():
            print(
                f"the bundled server is already running on {server.host}:{server.port} "
                f"(data in {server.data_dir}): exploring it, and leaving it running",
                file=sys.stderr,
            )
            RedisTUI(ConnectionSpec(host=server.host, port=server.port, db=args.db or 0), embedded=True).run()
            return 0
        print(
            f"redistui: port {server.port} is taken by {who}, so the bundled server cannot start there.\n"
            f"  to explore that server:                 redistui launch -p {server.port}\n"
            f"  to run the bundled server elsewhere:    redistui launch --bundled-port N",
            file=sys.stderr,
        )
        return 1
    print(
        f"starting the bundled server on {server.host}:{server.port} (data in {server.data_dir}) …",
        file=sys.stderr,
    )
    try:
        server.start()
    except EmbeddedServerError as error:
        print(f"redistui: {error}", file=sys.stderr)
        return 1
    app = RedisTUI(ConnectionSpec(host=server.host, port=server.port, db=args.db or 0), embedded=True)
    previous = {} if args.keep_server else stop_server_on_signals(app, server)
    try:
        app.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if args.keep_server:
            print(f"the bundled server keeps running on {server.url}", file=sys.stderr)
            server.detach()
        else:
            print(f"saving and stopping the bundled server ({server.data_dir}) …", file=sys.stderr)
            server.stop(save=True)
    return 0


def stop_server_on_signals(app: Any, server: Any) -> dict[int, Any]:
    """SIGHUP (the terminal closed) and SIGTERM: save the bundled server first, then leave.

    The server is stopped inside the handler, before the UI tries to restore a terminal
    that may no longer exist: whatever happens to the UI afterwards, the data is safe.
    Returns the handlers it replaced.
    """

    def handler(signum: int, frame: object) -> None:
        server.stop(save=True)
        code = 128 + signum
        if signum == signal.SIGHUP:
            # The terminal is gone: there is no screen to restore, and Textual's teardown would
            # wait for its writer thread to flush into a closed terminal, for ever. Leave now.
            os._exit(code)
        signal.signal(signum, signal.SIG_DFL)
        # SIGTERM: the app restores the terminal from its own loop (this handler interrupts the
        # main thread anywhere, even inside Textual's teardown, so it must not run Textual's code
        # itself), and a watchdog ends the process if that teardown never finishes.
        watchdog = threading.Timer(5.0, os._exit, args=(code,))
        watchdog.daemon = True
        watchdog.start()
        try:
            asyncio.get_running_loop().call_soon_threadsafe(lambda: app.exit(return_code=code))
        except RuntimeError:  # no loop running: the app is not up, or already gone
            os._exit(code)

    return {signum: signal.signal(signum, handler) for signum in (signal.SIGHUP, signal.SIGTERM)}


def run_open(args: argparse.Namespace) -> int:
    from redistui.dumpfile import OpenError, PrivateServer
    from redistui.screens.opening import DumpFileApp

    try:
        private = PrivateServer(args.path)
    except OpenError as error:
        print(f"redistui: {error}", file=sys.stderr)
        return 1
    try:
        private.start()
        app = DumpFileApp(private)
        app.run()
        if app.open_error is not None:
            print(f"redistui: {app.open_error}", file=sys.stderr)
            return 1
    finally:
        private.stop()
    return 0


def run_analyse(args: argparse.Namespace) -> int:
    from redistui.analysis import analyse_target
    from redistui.dumpfile import OpenError

    try:
        report = analyse_target(
            args.target,
            delimiter=args.delimiter.encode(),
            top=args.top,
            samples=args.samples,
            progress_to=sys.stderr if sys.stderr.isatty() else None,
        )
    except (OpenError, OSError) as error:
        print(f"redistui: {error}", file=sys.stderr)
        return 1
    from redistui.analysis import format_report

    sys.stdout.write(format_report(report, args.format))
    return 0 if report.damage is None else 3


def run_serve(args: argparse.Namespace) -> int:
    from redistui.embedded import default_data_dir

    data_dir = args.dir or default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "server",
        "--port",
        str(args.port),
        "--dir",
        str(data_dir),
        *args.server_args,
    ]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return


def main(argv: Sequence[str] | None = None) -> int:
    """The ``redistui`` command (``argv`` None: this process's own arguments, and the explorer's end
    ends the process at once; tests pass ``argv`` and get the exit status back)."""
    from_command_line = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["shell"]:
        from redistui.shell import main as shell_main

        return shell_main(argv[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        args.server_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    code = int(args.handler(args) or 0)
    if from_command_line and args.command in ("launch", "open"):
        leave(code)
    return code


def leave(code: int) -> NoReturn:
    """End the process now that the explorer is done (its terminal restored, the bundled or private
    server stopped and saved): the interpreter's own teardown would garbage-collect and free a million
    key names and every widget one by one, seconds spent after the user quit, with nothing left to save."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
