"""`redistui shell`: a redis-cli work-alike with completion, hints and history.

    redistui shell                      interactive prompt (prompt_toolkit)
    redistui shell GET k                one command, printed like redis-cli, then exit
    redistui shell < commands.txt       one command per line from stdin
    redistui shell -r 3 -i 0.5 INCR n   repeat a command

Flags follow redis-cli: `-h -p -s -a -n --user --tls -u URL --raw --no-raw -r N -i SEC`.
Output is byte-identical to redis-cli for the same replies: `formatting.py` keeps reply
kinds apart and renders them the way redis-cli does, in the TTY format for a terminal
and the raw format when stdout is a pipe (unless `--raw` / `--no-raw` say otherwise).
SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and MONITOR stream until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

import redis
from redis.connection import parse_url
from redis.maint_notifications import MaintNotificationsConfig

from redistui.commands import CommandDoc, find_help
from redistui.completion import RedisCompleter, RedisLexer, RedisSource, dangerous_reason, split_args
from redistui.formatting import (
    ErrorReply,
    Status,
    TypedRESP2Parser,
    format_raw,
    format_reply,
    printable,
    raw_output,
)
from redistui.history import SafeFileHistory

__all__ = ["ShellOptions", "TypedClient", "build_parser", "kwargs_from_spec", "main", "parse_options"]

STREAMING = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR"}


# --- options --------------------------------------------------------------------------


@dataclass
class ShellOptions:
    """Where to connect and how to print; the command to run, if any."""

    host: str = "127.0.0.1"
    port: int = 6379
    socket: str | None = None
    password: str | None = None
    user: str | None = None
    db: int = 0
    tls: bool = False
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False
    url: str | None = None
    raw: bool | None = None  # None: raw when stdout is not a terminal
    repeat: int = 1
    interval: float = 0.0
    confirm: bool = True
    warn_auth: bool = True
    password_from_env: bool = False
    cluster: bool = False  # -c: follow a cluster's MOVED/ASK redirections
    command: tuple[str, ...] = ()

    def connection_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a redis-py connection (a URL wins over single flags)."""
        if self.url:
            kwargs = parse_url(self.url)
        elif self.socket:
            kwargs = {"path": self.socket, "connection_class": redis.UnixDomainSocketConnection}
        else:
            kwargs = {"host": self.host, "port": self.port}
        if self.password is not None:
            kwargs["password"] = self.password
        if self.user is not None:
            kwargs["username"] = self.user
        if self.db or "db" not in kwargs:
            kwargs["db"] = self.db
        if self.tls and not self.url:
            kwargs["connection_class"] = redis.SSLConnection
        if kwargs.get("connection_class") is redis.SSLConnection:
            kwargs["ssl_ca_certs"] = self.cacert
            kwargs["ssl_certfile"] = self.cert
            kwargs["ssl_keyfile"] = self.key
            kwargs["ssl_cert_reqs"] = "none" if self.insecure else "required"
        return kwargs

    def address(self) -> str:
        kwargs = self.connection_kwargs()
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}"


def build_parser(prog: str = "redistui shell") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, add_help=False, description="A redis-cli compatible shell with completion and hints."
    )
    add = parser.add_argument
    add("--help", action="help", help="show this help and exit")
    add("-h", dest="host", default="127.0.0.1", help="server hostname (default 127.0.0.1)")
    add("-p", dest="port", type=int, default=6379, help="server port (default 6379)")
    add("-s", dest="socket", help="server socket (overrides hostname and port)")
    add("-a", dest="password", help="password (also $REDISCLI_AUTH)")
    add("--pass", dest="password", help=argparse.SUPPRESS)
    add("--user", dest="user", help="ACL user name")
    add("-n", dest="db", type=int, default=0, help="database number")
    add("-u", dest="url", help="server URI: redis://[user:pass@]host:port/db, rediss://, unix://")
    add("-c", dest="cluster", action="store_true", help="cluster mode: follow -MOVED and -ASK redirections")
    add("--tls", action="store_true", help="connect with TLS")
    add("--cacert", help="CA certificate to verify the server with")
    add("--cert", help="client certificate")
    add("--key", help="client private key")
    add("--insecure", action="store_true", help="do not verify the server's certificate")
    add("--raw", dest="raw", action="store_const", const=True, default=None, help="raw output")
    add("--no-raw", dest="raw", action="store_const", const=False, help="formatted output even to a pipe")
    add("-r", dest="repeat", type=int, default=1, help="run the command N times (-1: forever)")
    add("-i", dest="interval", type=float, default=0.0, help="seconds to wait between repeats")
    add("--no-confirm", dest="confirm", action="store_false", help="never ask before dangerous commands")
    add(
        "--no-auth-warning",
        dest="warn_auth",
        action="store_false",
        help="no warning about -a on the command line",
    )
    add("command", nargs=argparse.REMAINDER, help="a command to run instead of the prompt")
    return parser


def parse_options(argv: list[str] | None = None) -> ShellOptions:
    ns = build_parser().parse_args(argv)
    values = vars(ns)
    values["command"] = tuple(values["command"])
    if values["password"] is None and os.environ.get("REDISCLI_AUTH"):
        values["password"] = os.environ["REDISCLI_AUTH"]
        values["password_from_env"] = True
    return ShellOptions(**values)


def kwargs_from_spec(spec: Any) -> dict[str, Any]:
    """Connection keyword arguments from the explorer's `ConnectionSpec` (duck-typed)."""
    if getattr(spec, "url", None):
        kwargs = parse_url(spec.url)
        kwargs["db"] = spec.db
    elif getattr(spec, "unix_socket", None):
        kwargs = {
            "path": spec.unix_socket,
            "connection_class": redis.UnixDomainSocketConnection,
            "db": spec.db,
        }
    else:
        kwargs = {"host": spec.host, "port": spec.port, "db": spec.db}
        if spec.tls:
            kwargs["connection_class"] = redis.SSLConnection
    if spec.username:
        kwargs["username"] = spec.username
    if spec.password:
        kwargs["password"] = spec.password
    return kwargs


# --- one connection that keeps reply kinds ---------------------------------------------


MAX_REDIRECTS = 5  # MOVED/ASK hops followed for one command (a cluster mid-resharding needs two)


def redirect_of(reply: Any) -> tuple[str, str, int] | None:
    """``("MOVED"|"ASK", host, port)`` from a cluster redirection error reply, else None."""
    if not isinstance(reply, ErrorReply):
        return None
    parts = reply.message.split()
    if len(parts) != 3 or parts[0] not in ("MOVED", "ASK"):
        return None
    host, _, port = parts[2].rpartition(":")
    if not port.isdigit():
        return None
    return parts[0], host, int(port)


class TypedClient:
    """A single connection (as redis-cli has) whose replies keep redis-cli's distinctions."""

    def __init__(self, kwargs: dict[str, Any], follow_redirects: bool = False) -> None:
        self.kwargs = dict(kwargs)
        self.follow_redirects = follow_redirects
        self.connection = self._connect(kwargs)
        self.db = int(kwargs.get("db") or 0)
        self.lock = threading.Lock()

    @staticmethod
    def _connect(kwargs: dict[str, Any]) -> Any:
        options = dict(kwargs)
        connection_class = options.pop("connection_class", redis.Connection)
        options.update(protocol=2, parser_class=TypedRESP2Parser)
        options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
        return connection_class(**options)

    def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (errors are returned as `ErrorReply`).

        With ``follow_redirects`` (redis-cli -c) a cluster's MOVED moves this client to the node that
        owns the slot, and ASK sends ASKING and the command to the node importing it, once.
        """
        with self.lock:
            self.connection.send_command(*args, check_health=False)
            reply = self.connection.read_response()
            for _ in range(MAX_REDIRECTS if self.follow_redirects else 0):
                redirect = redirect_of(reply)
                if redirect is None:
                    break
                kind, host, port = redirect
                host = host or str(self.kwargs.get("host") or "127.0.0.1")
                if kind == "MOVED":
                    self.connection.disconnect()
                    self.kwargs.update(host=host, port=port)
                    self.connection = self._connect(self.kwargs)
                    self.connection.send_command(*args, check_health=False)
                    reply = self.connection.read_response()
                else:
                    other = self._connect({**self.kwargs, "host": host, "port": port})
                    try:
                        other.send_command("ASKING", check_health=False)
                        other.read_response()
                        other.send_command(*args, check_health=False)
                        reply = other.read_response()
                    finally:
                        other.disconnect()
        name = args[0].decode(errors="replace") if args and isinstance(args[0], bytes) else str(args[0])
        if name.upper() == "SELECT" and isinstance(reply, Status):
            self.db = self.connection.db = int(args[1])
        return reply

    def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send several commands in one write and read their replies (used by completion)."""
        with self.lock:
            self.connection.send_packed_command(self.connection.pack_commands(commands), check_health=False)
            return [self.connection.read_response() for _ in commands]

    def read(self, timeout: float | None = None) -> Any:
        """The next reply pushed by the server (pub/sub messages, MONITOR lines), or None."""
        if timeout is not None and not self.connection.can_read(timeout=timeout):
            return None
        return self.connection.read_response()

    def clone(self) -> TypedClient:
        return TypedClient({**self.kwargs, "db": self.db}, self.follow_redirects)

    def close(self) -> None:
        self.connection.disconnect()


# --- running commands -----------------------------------------------------------------


class Runner:
    """Runs command lines against a `TypedClient` and writes replies like redis-cli."""

    def __init__(self, client: TypedClient, raw: bool, out: BinaryIO, tty: bool) -> None:
        self.client, self.raw, self.out, self.tty = client, raw, out, tty

    def write(self, reply: Any, verbatim: bool = False) -> None:
        """One reply as redis-cli prints it; ``verbatim``: a report (INFO …) printed as its own text."""
        if verbatim and not isinstance(reply, ErrorReply):
            text = format_raw(reply)
            # to a terminal, control bytes are escaped as everywhere else (the report's lines stay lines)
            self.out.write(printable(text, newlines=True).encode() if self.tty and not self.raw else text)
        else:
            self.out.write(format_reply(reply, raw=self.raw))
        self.out.flush()

    def run(self, args: list[bytes], repeat: int = 1, interval: float = 0.0) -> Any:
        """Run one command `repeat` times (forever if negative); return the last reply."""
        reply: Any = None
        count = 0
        while repeat < 0 or count < repeat:
            if count and interval:
                time.sleep(interval)
            name = args[0].decode(errors="replace").upper() if args else ""
            if name in STREAMING:
                self.stream(args)
                return None
            reply = self.client.execute(*args)
            self.write(reply, verbatim=raw_output(args))
            count += 1
        return reply

    def stream(self, args: list[bytes]) -> None:
        """SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE / MONITOR: print replies until Ctrl-C."""
        name = args[0].decode(errors="replace").upper()
        if name != "MONITOR" and not self.raw:
            self.out.write(b"Reading messages... (press Ctrl-C to quit)\n")
        self.write(self.client.execute(*args))
        try:
            while True:
                reply = self.client.read(timeout=0.2)
                if reply is not None:
                    self.write(reply)
        finally:
            self.client.close()  # leave subscribed mode: the next command reconnects


def _stdout() -> BinaryIO:
    return sys.stdout.buffer


AUTH_WARNING = (
    "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n"
)


def connect_or_report(options: ShellOptions) -> TypedClient | None:
    """Connect; print redis-cli's messages and return None when the server is unreachable.

    As redis-cli does, a failed AUTH is reported (`AUTH failed: ...`) and the session
    goes on unauthenticated."""
    kwargs = options.connection_kwargs()
    url_password = bool(options.url and parse_url(options.url).get("password"))
    if options.warn_auth and ((options.password and not options.password_from_env) or url_password):
        sys.stderr.write(AUTH_WARNING)
    client = TypedClient(kwargs, follow_redirects=options.cluster)
    try:
        client.connection.connect()
    except redis.AuthenticationError:
        anonymous = {k: v for k, v in kwargs.items() if k not in ("password", "username")}
        client = TypedClient(anonymous)
        auth = [kwargs["username"]] if kwargs.get("username") else []
        try:
            reply = client.execute("AUTH", *auth, kwargs.get("password") or "")
        except (redis.ConnectionError, OSError) as exc:
            sys.stderr.write(f"Could not connect to Redis at {options.address()}: {exc}\n")
            return None
        message = reply.message if isinstance(reply, ErrorReply) else "unknown error"
        sys.stderr.write(f"AUTH failed: {message}\n")
        return client
    except (redis.ConnectionError, OSError) as exc:
        reason = str(exc).split(". ", 1)[-1].rstrip(".") if ". " in str(exc) else str(exc)
        sys.stderr.write(f"Could not connect to Redis at {options.address()}: {reason}\n")
        return None
    return client


def run_lines(runner: Runner, lines: Iterable[str]) -> int:
    """Non-interactive mode: each line is a command."""
    for line in lines:
        line = line.rstrip("\r\n")
        try:
            args = split_args(line)
        except ValueError:
            sys.stderr.write("Invalid argument(s)\n")
            continue
        if args:
            runner.run(args)
    return 0


# --- the interactive prompt -----------------------------------------------------------

# The colour of each syntax role: the prompt's lexer and the explorer's command line use them both.
ROLE_STYLES = {
    "command": "bold #ff8700",
    "keyword": "#5fafff",
    "key": "#87d787",
    "number": "#d7af5f",
    "string": "#d7d75f",
    "unknown": "#ff5f5f",
}
STYLE = {**ROLE_STYLES, "bottom-toolbar": "noreverse bg:#303030 #bcbcbc"}


def prompt_text(options: ShellOptions, client: TypedClient) -> str:
    """redis-cli's prompt: `127.0.0.1:6379[2]> `, or `redis /path/to.sock> ` for a socket."""
    db = f"[{client.db}]" if client.db else ""
    where = options.address()
    return f"redis {where}{db}> " if "path" in options.connection_kwargs() else f"{where}{db}> "


def repl(options: ShellOptions, client: TypedClient, history_path: str | None = None) -> int:
    """The interactive loop: completion while typing, hints in the toolbar, history."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.styles import Style

    helper = client.clone()  # completion lookups run on their own connection
    source = RedisSource(helper.execute, pipeline=helper.pipeline)
    completer = RedisCompleter(source)
    history = SafeFileHistory(history_path)

    def toolbar() -> str:
        text = session.default_buffer.document.text_before_cursor
        hint = completer.hint(text) if text.strip() else None
        return str(hint) if hint and str(hint) else "Tab completes · ↑ history · Ctrl-R search · Ctrl-D quits"

    pasted: list[str] = []  # complete lines of a paste still to run, oldest first
    leftover = ""  # the unfinished last line of a paste: the next prompt starts with it

    session: PromptSession[str] = PromptSession(
        key_bindings=paste_bindings(pasted),
        history=history,
        completer=completer,
        complete_in_thread=True,
        complete_while_typing=True,
        lexer=RedisLexer(source.command_table),
        auto_suggest=AutoSuggestFromHistory(),
        bottom_toolbar=toolbar,
        style=Style.from_dict(STYLE),
        enable_history_search=False,
    )
    runner = Runner(client, raw=bool(options.raw), out=_stdout(), tty=True)
    while True:
        try:
            line = session.prompt(prompt_text(options, client), default=leftover)
        except KeyboardInterrupt:
            pasted.clear()
            continue
        except EOFError:
            break
        if not _interactive_line(line, runner, helper, session, options):
            break
        while len(pasted) > 1:  # the rest of a multi-line paste: one command per line
            line = pasted.pop(0)
            print(prompt_text(options, client) + line, flush=True)
            history.append_string(line)
            if not _interactive_line(line, runner, helper, session, options):
                return 0
        leftover = pasted.pop() if pasted else ""
    return 0


def paste_bindings(pasted: list[str]) -> Any:
    """Bracketed paste, redis-cli style: every pasted line is a command of its own.

    prompt_toolkit would insert the whole paste, newlines included, into the one-line
    buffer, and Enter would then send all of it as a single command. Here the first line
    completes the buffer and is accepted; the other complete lines go to ``pasted``, and
    the text after the last newline is left (as the last item) for the next prompt.
    """
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.keys import Keys

    bindings = KeyBindings()

    @bindings.add(Keys.BracketedPaste)
    def _paste(event: KeyPressEvent) -> None:
        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        buffer = event.current_buffer
        if "\n" not in data:
            buffer.insert_text(data)
            return
        first, *rest = data.split("\n")
        pasted.clear()
        pasted.extend(rest)  # the last item is the unfinished line ("" when the paste ended in a newline)
        buffer.insert_text(first)
        buffer.validate_and_handle()

    return bindings


def _interactive_line(
    line: str, runner: Runner, helper: TypedClient, session: Any, options: ShellOptions
) -> bool:
    """Handle one line typed at the prompt; False means quit."""
    stripped = line.strip()
    if not stripped:
        return True
    if stripped.lower() in ("quit", "exit"):
        return False
    if stripped.lower() == "clear":
        session.app.renderer.clear()
        return True
    try:
        args = split_args(stripped)
    except ValueError:
        print("Invalid argument(s)")
        return True
    if args[0].lower() == b"help" and len(args) > 1:
        topic = [a.decode(errors="replace") for a in args[1:]]
        table = session.completer.table
        runner.out.write(help_text(find_help(table, topic), group=topic[0].startswith("@")).encode())
        runner.out.flush()
        return True
    repeat = 1
    if len(args) > 1 and args[0].isdigit():  # redis-cli's "5 INCR x"
        repeat, args = int(args[0]), args[1:]
    words = [a.decode(errors="replace") for a in args]
    reason = dangerous_reason(words)
    if reason and options.confirm and not _confirm(session, words, reason):
        print("(cancelled)")
        return True
    try:
        runner.run(args, repeat=repeat)
    except KeyboardInterrupt:
        print()
    except (redis.ConnectionError, OSError) as exc:
        print(f"Error: {exc}")
    if runner.client.db != helper.db:
        helper.execute("SELECT", runner.client.db)
    return True


def help_text(docs: list[CommandDoc], group: bool = False) -> str:
    """redis-cli's HELP layout: name and syntax, summary, since (and group)."""
    if not docs:
        return "(no help found)\n"
    out = [""]
    for doc in docs:
        out.append(f"  \x1b[1m{doc.name}\x1b[0m \x1b[90m{doc.syntax()}\x1b[0m")
        out.append(f"  \x1b[33msummary:\x1b[0m {doc.summary}")
        out.append(f"  \x1b[33msince:\x1b[0m {doc.since}")
        if not group:
            out.append(f"  \x1b[33mgroup:\x1b[0m {doc.group}")
        out.append("")
    return "\n".join(out) + "\n"


def _confirm(session: Any, words: list[str], reason: str) -> bool:
    from prompt_toolkit import prompt

    name = " ".join(words[:2] if len(words) > 1 else words).upper()
    try:
        answer = prompt(f"{name} {reason}. Run it? [y/N] ")
    except (KeyboardInterrupt, EOFError):
        return False
    return answer.strip().lower() in ("y", "yes")


# --- entry point ----------------------------------------------------------------------


def main(argv: list[str] | None = None, stdin: Any = None, isatty: Callable[[], bool] | None = None) -> int:
    """Run the shell; returns the process exit code."""
    options = parse_options(argv)
    stdin = stdin if stdin is not None else sys.stdin
    out_is_tty = sys.stdout.isatty() if isatty is None else isatty()
    raw = options.raw if options.raw is not None else not out_is_tty
    client = connect_or_report(options)
    bundled = None
    if client is None and not options.command and stdin.isatty() and _default_target(options):
        bundled = offer_bundled_server(options)
        client = connect_or_report(options) if bundled else None
    if client is None:
        return 1
    try:
        if options.command:
            runner = Runner(client, raw=raw, out=_stdout(), tty=out_is_tty)
            args = [word.encode("utf-8", "surrogateescape") for word in options.command]
            try:
                runner.run(args, repeat=options.repeat, interval=options.interval)
            except KeyboardInterrupt:
                pass
            return 0
        if not stdin.isatty():
            return run_lines(Runner(client, raw=raw, out=_stdout(), tty=False), stdin)
        return repl(options, client)
    finally:
        client.close()
        if bundled is not None:
            bundled.stop(save=True)


def _default_target(options: ShellOptions) -> bool:
    """True when the user named no server (so offering the bundled one makes sense)."""
    return not (options.url or options.socket) and options.host in ("127.0.0.1", "localhost")


def offer_bundled_server(options: ShellOptions) -> Any:
    """Ask to start the bundled server; on yes start it and point `options` at it."""
    from prompt_toolkit import prompt

    from redistui.embedded import EmbeddedServer, EmbeddedServerError

    try:
        answer = prompt("No server is running there. Start the bundled server? [Y/n] ")
    except (EOFError, KeyboardInterrupt):
        return None
    if answer.strip().lower() not in ("", "y", "yes"):
        return None
    server = EmbeddedServer(port=None if options.port == 6379 else options.port)
    try:
        server.start()
    except EmbeddedServerError as error:
        sys.stderr.write(f"{error}\n")
        return None
    sys.stderr.write(
        f"bundled server on {server.host}:{server.port} (data in {server.data_dir}); stops on exit\n"
    )
    options.host, options.port = server.host, server.port
    return server


if __name__ == "__main__":
    sys.exit(main())
