"""Lua scripts and functions: an EVAL editor and a view of the FUNCTION libraries.

`ScriptingScreen` (F4 in the explorer; Escape goes back) has two tabs:

* Script: a multi-line editor (Lua highlighting when Textual has the grammar), KEYS and
  ARGV fields (words split like a shell line, so quotes keep spaces), and Ctrl+R to run
  the script with EVAL. The reply is printed as redis-cli prints it (`format_tty`, the
  command line's formatter), errors included.
* Functions: FUNCTION LIST WITHCODE as a table of libraries and their functions with
  their flags; the selected library's code is shown below it. Ctrl+R reloads.

It keeps its own connection (`TypedClient`, as redis-cli has), used from thread workers.
Everything that comes from the server is shown escaped (`printable` / `format_tty`).
"""

from __future__ import annotations

import shlex
from typing import Any

from redis.exceptions import RedisError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static, TabbedContent, TabPane, TextArea

from redistui.formatting import ErrorReply, format_tty, printable
from redistui.shell import TypedClient, kwargs_from_spec

__all__ = ["FunctionLibrary", "ScriptingScreen", "parse_function_list", "split_words"]

SAMPLE_SCRIPT = "-- KEYS and ARGV come from the fields below; Ctrl+R runs the script with EVAL\n" \
                "return redis.call('GET', KEYS[1])\n"


def split_words(text: str) -> list[str]:
    """KEYS / ARGV as typed: words split like a shell line (quotes keep spaces); bad quoting splits on spaces."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


class FunctionLibrary:
    """One library of FUNCTION LIST WITHCODE: its name, engine, functions (name, description, flags), code."""

    def __init__(self, name: bytes, engine: bytes, functions: list[tuple[bytes, bytes | None, list[bytes]]],
                 code: bytes) -> None:
        self.name = name
        self.engine = engine
        self.functions = functions
        self.code = code


def _pairs(reply: Any) -> dict[bytes, Any]:
    """A RESP2 flat [field, value, ...] list as a dict (field names as bytes)."""
    if not isinstance(reply, list):
        return {}
    return {bytes(reply[i]): reply[i + 1] for i in range(0, len(reply) - 1, 2)}


def parse_function_list(reply: Any) -> list[FunctionLibrary]:
    """FUNCTION LIST WITHCODE's reply (RESP2) as libraries, in the server's order."""
    libraries = []
    for item in reply if isinstance(reply, list) else []:
        fields = _pairs(item)
        functions = []
        for entry in fields.get(b"functions") or []:
            f = _pairs(entry)
            flags = [bytes(flag) for flag in f.get(b"flags") or []]
            description = f.get(b"description")
            functions.append((bytes(f.get(b"name") or b""), None if description is None else bytes(description),
                              flags))
        libraries.append(FunctionLibrary(bytes(fields.get(b"library_name") or b""),
                                         bytes(fields.get(b"engine") or b""), functions,
                                         bytes(fields.get(b"library_code") or b"")))
    return libraries


class ScriptingScreen(Screen[None]):
    """The script editor and the functions view, full screen."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", priority=True),  # the editor would keep Escape
        Binding("ctrl+r", "run", "Run / reload", priority=True),
    ]
    DEFAULT_CSS = """
    ScriptingScreen > #scripting-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ScriptingScreen #scripting-tabs { height: 1fr; }
    ScriptingScreen #scripting-tabs ContentSwitcher { height: 1fr; }
    ScriptingScreen #scripting-tabs TabPane { height: 1fr; padding: 0; }
    ScriptingScreen #script-editor { height: 2fr; min-height: 6; }
    ScriptingScreen .script-args { height: 3; }
    ScriptingScreen .script-args Label { width: 6; padding: 1 1 0 0; }
    ScriptingScreen .script-args Input { width: 1fr; }
    ScriptingScreen #script-reply { height: 1fr; min-height: 4; border: round $panel; padding: 0 1;
                                    overflow-y: auto; }
    ScriptingScreen #functions-table { height: 1fr; min-height: 5; }
    ScriptingScreen #function-code { height: 1fr; min-height: 5; }
    """

    def __init__(self, spec: Any, script: str = SAMPLE_SCRIPT) -> None:
        super().__init__()
        self.spec = spec
        self.initial_script = script
        self.client: TypedClient | None = None
        self.libraries: list[FunctionLibrary] = []
        self.last_reply: Any = None
        self.reply_text = ""  # the reply as shown
        self.runs = 0  # scripts run (tests wait on it)
        self.loads = 0  # FUNCTION LIST replies shown (tests wait on it)

    def compose(self) -> ComposeResult:
        address = getattr(self.spec, "address", "")
        yield Static(f"Lua scripts and functions · {printable(str(address))}", id="scripting-title")
        with TabbedContent(id="scripting-tabs", initial="tab-script"):
            with TabPane("Script", id="tab-script"):
                language = "lua" if "lua" in TextArea().available_languages else None
                yield TextArea(self.initial_script, language=language, id="script-editor", show_line_numbers=True,
                               tab_behavior="indent")
                with Horizontal(classes="script-args"):
                    yield Label("KEYS")
                    yield Input(placeholder="key names, space separated", id="script-keys")
                with Horizontal(classes="script-args"):
                    yield Label("ARGV")
                    yield Input(placeholder="arguments, space separated", id="script-argv")
                yield Static("", id="script-reply")
            with TabPane("Functions", id="tab-functions"):
                with Vertical():
                    yield DataTable(id="functions-table", cursor_type="row", zebra_stripes=True)
                    yield TextArea("", read_only=True, id="function-code", show_line_numbers=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#functions-table", DataTable)
        table.add_columns("library", "engine", "function", "flags", "description")
        self.query_one("#script-editor", TextArea).focus()

    def on_unmount(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _client(self) -> TypedClient:
        if self.client is None:
            self.client = TypedClient(kwargs_from_spec(self.spec))
        return self.client

    # -- running ------------------------------------------------------------------------

    def action_run(self) -> None:
        if self.query_one(TabbedContent).active == "tab-functions":
            self.load_functions()
        else:
            self.run_script()

    def run_script(self) -> None:
        body = self.query_one("#script-editor", TextArea).text
        keys = split_words(self.query_one("#script-keys", Input).value)
        argv = split_words(self.query_one("#script-argv", Input).value)
        self._eval(body, keys, argv)

    @work(thread=True, exclusive=True, group="eval")
    def _eval(self, body: str, keys: list[str], argv: list[str]) -> None:
        try:
            reply: Any = self._client().execute("EVAL", body.encode(), len(keys),
                                                *(k.encode() for k in keys), *(a.encode() for a in argv))
        except (RedisError, OSError) as exc:
            self._drop_client()
            reply = ErrorReply(f"connection: {exc}".encode())
        self.app.call_from_thread(self._show_reply, reply)

    def _drop_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _show_reply(self, reply: Any) -> None:
        self.last_reply = reply
        self.runs += 1
        text = self.reply_text = format_tty(reply).rstrip("\n")  # escaped: control bytes never reach the terminal
        self.query_one("#script-reply", Static).update(Text(text, style="red" if isinstance(reply, ErrorReply)
                                                            else ""))

    # -- functions ----------------------------------------------------------------------

    @on(TabbedContent.TabActivated, "#scripting-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-functions":
            self.load_functions()

    @work(thread=True, exclusive=True, group="functions")
    def load_functions(self) -> None:
        try:
            reply: Any = self._client().execute("FUNCTION", "LIST", "WITHCODE")
        except (RedisError, OSError) as exc:
            self._drop_client()
            reply = ErrorReply(f"connection: {exc}".encode())
        self.app.call_from_thread(self._show_functions, reply)

    def _show_functions(self, reply: Any) -> None:
        table = self.query_one("#functions-table", DataTable)
        table.clear()
        code = self.query_one("#function-code", TextArea)
        self.loads += 1
        if isinstance(reply, ErrorReply):
            self.libraries = []
            code.text = format_tty(reply).rstrip("\n")
            return
        self.libraries = parse_function_list(reply)
        for index, library in enumerate(self.libraries):
            rows = library.functions or [(b"", None, [])]
            for n, (name, description, flags) in enumerate(rows):
                table.add_row(
                    Text(printable(library.name)) if n == 0 else "",
                    Text(printable(library.engine)) if n == 0 else "",
                    Text(printable(name)),
                    Text(printable(b",".join(flags)) or "-"),
                    Text("-" if description is None else printable(description)),
                    key=f"{index}:{n}",
                )
        code.text = (printable(self.libraries[0].code, newlines=True) if self.libraries
                     else "(no function libraries: load one with FUNCTION LOAD)")

    @on(DataTable.RowHighlighted, "#functions-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is None:
            return
        index = int(key.split(":", 1)[0])
        if index < len(self.libraries):
            self.query_one("#function-code", TextArea).text = printable(self.libraries[index].code, newlines=True)
