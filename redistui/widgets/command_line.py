"""The TUI's command line: an output log, a completion dropdown, a hint line and an input.

prompt_toolkit cannot own the screen inside Textual, but its `Completer` runs headless:
`RedisCompleter` (the same one `redistui shell` uses) is asked for completions in a
thread worker, debounced, and each `Completion`'s `start_position` is applied to the
`Input` by hand. Keys behave as in a shell:

    Tab          complete (the highlighted entry, or the only one, or open the list)
    Up / Down    move in the open list, else walk the history
    Enter        take the highlighted entry if the list was navigated, else run the line
    Escape       close the list (or cancel a pending confirmation)
    Ctrl-R       search the history (the list fills with matching past lines)

Replies are written to the log exactly as redis-cli prints them, with colour; the log
appears with the first command (and `clear` hides it again), so an idle command line
takes two rows. Dangerous
commands need a second Enter. Every command run posts `CommandLine.Executed`, so the app
can refresh the key browser when a command may have written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.highlighter import Highlighter
from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from redistui.commands import CommandDoc, CommandTable, find_help
from redistui.completion import (
    RedisCompleter,
    RedisSource,
    classify,
    dangerous_reason,
    fuzzy_rank,
    split_args,
)
from redistui.formatting import ErrorReply, format_tty, printable, raw_output
from redistui.history import SafeFileHistory
from redistui.shell import ROLE_STYLES, STREAMING, TypedClient, kwargs_from_spec

__all__ = ["CommandInput", "CommandLine", "Suggestion", "reply_text"]


class LineHighlighter(Highlighter):
    """Colours the input line with the same roles as the shell's lexer."""

    def __init__(self) -> None:
        self.table: CommandTable | None = None

    def highlight(self, text: Text) -> None:
        for start, end, role in classify(text.plain, self.table):
            style = ROLE_STYLES.get(role)
            if style:
                text.stylize(style, start, end)


def reply_text(reply: Any) -> Text:
    """A reply in redis-cli's format, coloured: errors red, integers cyan, strings green."""
    text = Text(format_tty(reply).rstrip("\n"))
    text.highlight_regex(r"\(error\).*", "bold red")
    text.highlight_regex(r"\((integer|double)\) \S+", "cyan")
    text.highlight_regex(r"\((nil|empty array|empty hash|empty set|true|false)\)", "dim")
    text.highlight_regex(r'"(?:[^"\\]|\\.)*"', "green")
    text.highlight_regex(r"(?m)^\s*\d+[)#~]", "dim")
    if isinstance(reply, ErrorReply):
        text.stylize("bold red")
    return text


def help_renderable(docs: list[CommandDoc], group: bool = False) -> Text:
    """`HELP <command>` / `HELP @<group>` laid out as redis-cli does, in colour."""
    if not docs:
        return Text("(no help found)", style="dim")
    text = Text()
    for doc in docs:
        text.append(f"  {doc.name} ", style="bold")
        text.append(doc.syntax() + "\n", style="grey50")
        text.append("  summary: ", style="yellow")
        text.append(doc.summary + "\n")
        text.append("  since: ", style="yellow")
        text.append(doc.since + "\n")
        if not group:
            text.append("  group: ", style="yellow")
            text.append(doc.group + "\n")
    return text


@dataclass
class Suggestion:
    """One dropdown entry: what to insert and where (prompt_toolkit's start_position)."""

    text: str
    start_position: int
    display: str
    meta: str


class CommandInput(Input):
    """The input line; its keys drive the dropdown and the history."""

    BINDINGS = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("up", "up", "Previous", show=False),
        Binding("down", "down", "Next", show=False),
        Binding("escape", "dismiss", "Close list", show=False),
        Binding("ctrl+r", "search_history", "Search history", show=False),
    ]

    def action_complete(self) -> None:
        self._line.complete()

    def action_up(self) -> None:
        self._line.move(-1)

    def action_down(self) -> None:
        self._line.move(1)

    def action_dismiss(self) -> None:
        """Close the list or cancel a confirmation; with nothing to close, Esc goes on to the app (key list)."""
        if not self._line.dismiss():
            raise SkipAction()

    def action_search_history(self) -> None:
        self._line.search_history()

    async def action_submit(self) -> None:
        self._line.submit()

    @property
    def _line(self) -> CommandLine:
        return self.query_ancestor(CommandLine)


class CommandLine(Vertical):
    """Output log, completion dropdown, hint line and input, stacked."""

    DEFAULT_CSS = """
    CommandLine {
        height: auto;
    }
    CommandLine > #cmd-output {
        height: 8;
        border-top: solid $primary 30%;
        background: $surface;
        scrollbar-size-vertical: 1;
        display: none;
    }
    CommandLine.-has-output > #cmd-output {
        display: block;
    }
    CommandLine > #cmd-dropdown {
        height: auto;
        max-height: 10;
        border: none;
        display: none;
    }
    CommandLine > #cmd-dropdown.-open {
        display: block;
    }
    CommandLine > #cmd-hint {
        height: 1;
        color: $text-muted;
        padding: 0 1;
    }
    CommandLine > #cmd-input {
        border: none;
        height: 1;
        padding: 0 1;
    }
    """

    class Executed(Message):
        """A command ran; `may_write` is True unless the server calls it read-only."""

        def __init__(self, args: list[bytes], reply: Any, may_write: bool) -> None:
            super().__init__()
            self.args, self.reply, self.may_write = args, reply, may_write

    class StreamRequested(Message):
        """SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE/MONITOR typed: the app routes it to a live pane."""

        def __init__(self, args: list[bytes]) -> None:
            super().__init__()
            self.args = args

    def __init__(
        self,
        spec: Any,
        history_path: str | None = None,
        debounce: float = 0.08,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.spec = spec
        # Both follow a cluster's MOVED/ASK (redis-cli -c): a key's command reaches the node owning its slot.
        self.client = TypedClient(kwargs_from_spec(spec), follow_redirects=True)
        self.helper = TypedClient(kwargs_from_spec(spec), follow_redirects=True)  # completion, never blocked
        self.source = RedisSource(self.helper.execute, pipeline=self.helper.pipeline)
        self.completer = RedisCompleter(self.source)
        self.history = SafeFileHistory(history_path)
        self.highlighter = LineHighlighter()
        self.debounce = debounce
        self.suggestions: list[Suggestion] = []
        self.navigated = False  # the user moved in the dropdown: Enter takes the entry
        self.history_index: int | None = None
        self.history_mode = False
        self.pending_confirm: str | None = None
        self._timer: Timer | None = None
        self._flags: dict[str, bool] = {}
        self._programmatic: str | None = None

    def compose(self) -> ComposeResult:
        yield RichLog(id="cmd-output", max_lines=2000, wrap=False, markup=False, highlight=False)
        yield OptionList(id="cmd-dropdown")
        yield Static("", id="cmd-hint")
        yield CommandInput(
            placeholder=": Redis command — Tab completes, ↑ history, Ctrl-R searches",
            highlighter=self.highlighter,
            id="cmd-input",
        )

    # -- parts -------------------------------------------------------------------------

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    @property
    def dropdown(self) -> OptionList:
        return self.query_one("#cmd-dropdown", OptionList)

    @property
    def output(self) -> RichLog:
        return self.query_one("#cmd-output", RichLog)

    @property
    def hint_line(self) -> Static:
        return self.query_one("#cmd-hint", Static)

    @property
    def dropdown_open(self) -> bool:
        return self.dropdown.has_class("-open")

    def on_mount(self) -> None:
        self.load_table()

    def on_unmount(self) -> None:
        self.client.close()
        self.helper.close()

    @work(thread=True, group="cmdline-table")
    def load_table(self) -> None:
        try:
            table = self.source.command_table()
        except Exception:  # noqa: BLE001 - no docs, no highlighting; typing still works
            return
        self.highlighter.table = table

    # -- completion ----------------------------------------------------------------------

    @on(Input.Changed, "#cmd-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._programmatic is not None and event.value == self._programmatic:
            self._programmatic = None  # our own edit (completion, history): already handled
            return
        self.pending_confirm = None
        if not self.history_mode:
            self.history_index = None
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.debounce, self._refresh_suggestions)

    def _refresh_suggestions(self) -> None:
        if self.history_mode:
            self._fill_history(self.input.value)
            return
        self.compute(self.input.value, self.input.cursor_position)

    @work(thread=True, exclusive=True, group="cmdline-complete")
    def compute(self, text: str, cursor: int, open_list: bool = False, apply_single: bool = False) -> None:
        """Completions and hint for `text` (off the UI thread: lookups may hit the server)."""
        try:
            document = Document(text, cursor)
            found = [
                Suggestion(c.text, c.start_position, c.display_text, c.display_meta_text)
                for c in self.completer.get_completions(document, CompleteEvent(completion_requested=True))
            ]
            hint = str(self.completer.hint(text[:cursor])) if text.strip() else ""
        except Exception as exc:  # noqa: BLE001 - a lost connection must not break typing
            found, hint = [], printable(f"(completion unavailable: {exc})")
        self._report(self._show, text, cursor, found[:200], hint, open_list, apply_single)

    def _report(self, callback: Any, *args: Any) -> None:
        """Hand a worker's result to the UI thread, unless the widget has gone meanwhile."""

        def guarded() -> None:
            if self.is_attached:
                try:
                    callback(*args)
                except NoMatches:  # being torn down
                    pass

        try:
            self.app.call_from_thread(guarded)
        except RuntimeError:  # the app has stopped
            pass

    def _show(
        self, text: str, cursor: int, found: list[Suggestion], hint: str, open_list: bool, apply_single: bool
    ) -> None:
        if self.input.value != text or self.history_mode:
            return  # typed on meanwhile: a newer computation follows
        self.hint_line.update(Text(hint, overflow="ellipsis", no_wrap=True))
        typed_word = text[:cursor].split(" ")[-1] if text else ""
        if len(found) == 1 and found[0].text == typed_word and not open_list:
            found = []  # already typed in full
        if apply_single and len(found) == 1:
            self._apply(found[0])
            return
        self._open(found if (found and (open_list or text.strip())) else [])

    def _open(self, found: list[Suggestion]) -> None:
        self.suggestions = found
        self.navigated = False
        dropdown = self.dropdown
        dropdown.clear_options()
        if not found:
            dropdown.remove_class("-open")
            return
        width = max(len(s.display) for s in found)
        dropdown.add_options(
            Option(Text.assemble((s.display.ljust(width), "bold"), "  ", (s.meta, "dim")), id=str(i))
            for i, s in enumerate(found)
        )
        dropdown.highlighted = 0
        dropdown.add_class("-open")

    def _apply(self, suggestion: Suggestion) -> None:
        value, cursor = self.input.value, self.input.cursor_position
        start = cursor + suggestion.start_position
        new_value = value[:start] + suggestion.text + value[cursor:]
        tail = "" if value[cursor:].startswith(" ") else " "
        if self.history_mode:
            new_value, tail, start = suggestion.text, "", 0
        self._set_value(
            new_value[: start + len(suggestion.text)] + tail + new_value[start + len(suggestion.text) :],
            start + len(suggestion.text) + len(tail),
        )
        self.history_mode = False
        self._open([])
        self.compute(self.input.value, self.input.cursor_position)

    def _set_value(self, text: str, cursor: int) -> None:
        if self.input.value != text:
            self._programmatic = text
        self.input.value = text
        self.input.cursor_position = cursor

    # -- key actions (called by CommandInput) -------------------------------------------

    def complete(self) -> None:
        if self.dropdown_open and self.suggestions:
            index = self.dropdown.highlighted or 0
            self._apply(self.suggestions[index])
            return
        self.compute(self.input.value, self.input.cursor_position, open_list=True, apply_single=True)

    def move(self, step: int) -> None:
        if self.dropdown_open and self.suggestions:
            dropdown = self.dropdown
            current = dropdown.highlighted if dropdown.highlighted is not None else -step
            dropdown.highlighted = (current + step) % len(self.suggestions)
            self.navigated = True
            return
        self._walk_history(step)

    def dismiss(self) -> bool:
        """Close what is open (the list, a pending confirmation, history search); False if nothing was."""
        closed = self.pending_confirm is not None or self.dropdown_open or self.history_mode
        if self.pending_confirm is not None:
            self.pending_confirm = None
            self.hint_line.update("(cancelled)")
        self.history_mode = False
        self._open([])
        return closed

    def search_history(self) -> None:
        self.history_mode = True
        self._fill_history(self.input.value)

    def _fill_history(self, query: str) -> None:
        seen: dict[str, None] = {}
        for line in reversed(self.history.entries()):
            if line not in seen and (not query or fuzzy_rank(line, query) is not None):
                seen[line] = None
        found = [Suggestion(line, 0, line, "history") for line in list(seen)[:50]]
        self.hint_line.update(f"history search: {query!r} — Enter takes a line, Esc closes")
        self._open(found)

    def _walk_history(self, step: int) -> None:
        entries = self.history.entries()
        if not entries:
            return
        if self.history_index is None:
            if step > 0:
                return
            self.history_index = len(entries)
        self.history_index = max(0, min(len(entries), self.history_index + step))
        text = entries[self.history_index] if self.history_index < len(entries) else ""
        self._set_value(text, len(text))
        self._open([])

    def submit(self) -> None:
        if self.dropdown_open and self.suggestions and (self.navigated or self.history_mode):
            self._apply(self.suggestions[self.dropdown.highlighted or 0])
            return
        line = self.input.value.strip()
        self._open([])
        if not line:
            return
        if line.lower() == "clear":
            self.output.clear()
            self.remove_class("-has-output")
            self._set_value("", 0)
            return
        try:
            args = split_args(line)
        except ValueError:
            self.add_class("-has-output")
            self.output.write(Text("Invalid argument(s)", style="bold red"))
            return
        words = [a.decode(errors="replace") for a in args]
        if words[0].lower() == "help" and len(words) > 1:
            self.history.append_string(line)
            self._set_value("", 0)
            self.add_class("-has-output")
            self.output.write(
                help_renderable(find_help(self.completer.table, words[1:]), words[1].startswith("@"))
            )
            return
        reason = dangerous_reason(words)
        if reason and self.pending_confirm != line:
            self.pending_confirm = line
            name = " ".join(words[:2]).upper() if len(words) > 1 else words[0].upper()
            self.hint_line.update(Text(f"{name} {reason}. Enter runs it, Esc cancels.", style="bold yellow"))
            return
        self.pending_confirm = None
        self.history.append_string(line)
        self.history_index = None
        self._set_value("", 0)
        self.add_class("-has-output")
        self.output.write(Text.assemble(("> ", "dim"), Text(printable(line), style="bold")))
        if words[0].upper() in STREAMING:
            self.output.write(
                Text("(streams open in the pub/sub pane and the dashboard's MONITOR tab)", style="dim")
            )
            self.post_message(self.StreamRequested(args))
            return
        self.run_command(args)

    # -- running -------------------------------------------------------------------------

    @work(thread=True, group="cmdline-run")
    def select_db(self, db: int) -> None:
        """Follow the explorer to another database (both connections)."""
        for client in (self.client, self.helper):
            try:
                client.execute("SELECT", db)
            except Exception:  # noqa: BLE001 - reconnects on the next command
                client.close()
                client.connection.db = db

    @work(thread=True, group="cmdline-run")
    def run_command(self, args: list[bytes]) -> None:
        started = time.monotonic()
        try:
            reply: Any = self.client.execute(*args)
        except Exception as exc:  # noqa: BLE001 - shown in the log, never raised into the UI
            reply = ErrorReply(f"(connection) {exc}".encode())
            self.client.close()
        elapsed = time.monotonic() - started
        may_write = self._may_write(args[0])
        if self.client.db != self.helper.db:
            try:
                self.helper.execute("SELECT", self.client.db)
            except Exception:  # noqa: BLE001
                pass
        self._report(self._finish, args, reply, may_write, elapsed)

    def _may_write(self, name: bytes) -> bool:
        key = name.decode(errors="replace").lower()
        if key not in self._flags:
            try:
                info = self.helper.execute("COMMAND", "INFO", key)
                flags = info[0][2] if isinstance(info, list) and info and isinstance(info[0], list) else []
                self._flags[key] = not flags or b"write" in flags
            except Exception:  # noqa: BLE001
                return True
        return self._flags[key]

    def _finish(self, args: list[bytes], reply: Any, may_write: bool, elapsed: float) -> None:
        if raw_output(args) and isinstance(reply, bytes) and not isinstance(reply, ErrorReply):
            self.output.write(Text(printable(reply, newlines=True).rstrip("\n")))  # INFO …: lines, as redis-cli
        else:
            self.output.write(reply_text(reply))
        self.hint_line.update(Text(f"({elapsed * 1000:.1f} ms)", style="dim"))
        self.post_message(self.Executed(args, reply, may_write))
