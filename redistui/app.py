"""The explorer app: layout, bindings, command palette, connection life cycle and editors.

Widgets never talk to each other directly: they post messages that bubble up to
this app, which routes them (a selected key goes to the value view and the TTL
panel; keyspace events go to both). All network I/O runs in workers. Editing
actions ask through modal dialogs, confirm anything destructive, and turn server
errors into notifications.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, TextArea

from redistui.client import KEY_TYPES, ConnectionSpec, ExplorerClient
from redistui.formatting import ErrorReply, has_controls, printable
from redistui.screens.detail import ElementDetail, element_parts
from redistui.screens.dialogs import ConfirmDialog, Field, FormDialog
from redistui.screens.hex_editor import HEX_EDIT_LIMIT, HexEditor
from redistui.widgets.collection_viewer import CollectionViewer
from redistui.widgets.command_line import CommandLine
from redistui.widgets.dashboard import DashboardScreen
from redistui.widgets.db_selector import DbSelector
from redistui.widgets.header import (
    ConnectionBanner,
    ServerHeader,
    keyspace_counts,
    read_only_replica,
    replica_of,
)
from redistui.widgets.key_browser import KeyBrowser
from redistui.widgets.key_list import display
from redistui.widgets.pubsub_pane import PubSubPane
from redistui.widgets.scripting import ScriptingScreen
from redistui.widgets.string_viewer import StringViewer
from redistui.widgets.ttl_panel import TTL_HINT, TTLPanel, parse_ttl
from redistui.widgets.value_view import ValueView


def is_text(data: bytes) -> bool:
    """Can ``data`` round-trip through a text field unchanged (UTF-8, no controls but tab and newline)?"""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not has_controls(data)


LOST = (RedisConnectionError, RedisTimeoutError, OSError)
LIST_SENTINEL = b"__redistui_deleted_element__"


@dataclass(frozen=True)
class ExplorerAction:
    """One explorer action, written once: its key binding (and footer label) and its command-palette entry.

    ``key`` None: palette only. ``title`` None: key only. ``footer`` False: the key works but the footer
    leaves it out to stay short. ``scope`` says where the key acts (and so when the footer shows it):
    "any" everywhere; "main" on the explorer's screen (not on the dashboard or a dialog); "keys" there
    too, but not while typing in a text field, the command line or the pub/sub pane; "key", "string",
    "collection" and "value" as "keys" when a key, a string, a collection or either is shown.
    """

    action: str
    key: str | None = None
    label: str = ""
    footer: bool = True
    title: str | None = None
    help: str = ""
    files_only: bool = False  # offered only for a dump file opened with ``redistui open``
    scope: str = "keys"


# The one table of the explorer's actions: RedisTUI.BINDINGS (the footer) and the palette both read it.
ACTIONS = (
    ExplorerAction(
        "focus_filter", "slash", "Filter", title="Filter keys by pattern", help="Server-side SCAN MATCH glob"
    ),
    ExplorerAction("new_key", "n", "New", title="New key", help="Create a key of any type"),
    ExplorerAction(
        "edit", "e", "Edit", title="Edit value", help="Edit the string or the selected element", scope="key"
    ),
    ExplorerAction(
        "edit_hex",
        title="Edit as hex",
        help="Edit the string's bytes as hex (binary values open this with e)",
        scope="string",
    ),
    ExplorerAction(
        "add_element",
        "a",
        "Add",
        title="Add element",
        help="Add an element to the selected collection",
        scope="collection",
    ),
    ExplorerAction(
        "remove_element",
        "x",
        "Remove",
        title="Remove element",
        help="Remove the selected element (asks first)",
        scope="collection",
    ),
    ExplorerAction("rename", "r", "Rename", title="Rename key", help="RENAME the selected key", scope="key"),
    ExplorerAction(
        "delete_key",
        "delete",
        "Delete",
        title="Delete key",
        help="UNLINK the selected key (asks first)",
        scope="key",
    ),
    ExplorerAction(
        "set_ttl",
        "t",
        "TTL",
        title="Set or remove TTL",
        help="EXPIRE / PERSIST the selected key",
        scope="key",
    ),
    ExplorerAction(
        "pin",
        "p",
        "Pin",
        footer=False,
        title="Pin key to TTL panel",
        help="Pin or unpin the selected key",
        scope="key",
    ),
    ExplorerAction(
        "toggle_tree",
        "v",
        "Tree",
        footer=False,
        title="Toggle tree / flat list",
        help="Group keys by delimiter or list them flat",
    ),
    ExplorerAction("set_delimiter", title="Set tree delimiter", help="The separator namespaces are split on"),
    ExplorerAction(
        "toggle_natural",
        title="Natural sort order",
        help="Toggle sorting digit runs in key names as numbers (user:2 before user:10)",
    ),
    ExplorerAction(
        "rescan", "f5", "Rescan", footer=False, title="Rescan keys", help="Start the SCAN again from cursor 0"
    ),
    ExplorerAction(
        "load_all",
        "ctrl+l",
        "Load all",
        footer=False,
        title="Load all keys",
        help="SCAN until the end (esc stops)",
    ),
    ExplorerAction(
        "stop_scan",
        "escape",
        "Stop scan",
        footer=False,
        title="Stop scan",
        help="Stop loading keys",
        scope="main",
    ),
    ExplorerAction(
        "cycle_format",
        "f",
        "Format",
        footer=False,
        title="Cycle string format",
        help="auto / text / JSON / hex",
        scope="string",
    ),
    ExplorerAction(
        "load_more_value",
        "m",
        "More",
        footer=False,
        title="Load more of the value",
        help="Fetch the next GETRANGE chunk",
        scope="value",
    ),
    ExplorerAction(
        "find_in_value",
        "ctrl+f",
        "Find",
        footer=False,
        title="Find in the collection",
        help="Hash/set/zset: MATCH glob (xSCAN); list: jump to an index; zset: jump to a score",
        scope="collection",
    ),
    ExplorerAction(
        "enable_live",
        "ctrl+e",
        "Live",
        footer=False,
        title="Enable live updates",
        help="CONFIG SET notify-keyspace-events KA",
    ),
    ExplorerAction(
        "toggle_dark",
        "ctrl+t",
        "Theme",
        footer=False,
        title="Toggle dark / light",
        help="Switch between the dark and light theme",
        scope="any",
    ),
    ExplorerAction("focus_next", "tab", "Focus next", footer=False, scope="any"),
    ExplorerAction(
        "focus_command_line",
        "colon",
        "Command",
        footer=False,
        title="Command line",
        help="Type Redis commands with completion",
    ),
    ExplorerAction(
        "dashboard",
        "f2",
        "Server",
        title="Server dashboard",
        help="INFO, SLOWLOG, CLIENT LIST and MONITOR",
        scope="main",
    ),
    ExplorerAction(
        "toggle_pubsub",
        "f3",
        "Pub/Sub",
        title="Pub/Sub pane",
        help="Subscribe, watch and publish messages",
        scope="main",
    ),
    ExplorerAction(
        "scripting",
        "f4",
        "Scripts",
        title="Lua scripts and functions",
        help="EVAL editor and FUNCTION LIST",
        scope="main",
    ),
    ExplorerAction(
        "analysis",
        "f6",
        "Analyse",
        title="Memory analysis",
        help="Bytes by prefix, type, encoding, db and TTL; the biggest keys",
        scope="main",
    ),
    ExplorerAction(
        "save_as",
        title="Save as…",
        help="Write the data (with any edits) to another RDB file; the opened file is never changed",
        files_only=True,
    ),
    ExplorerAction(
        "allow_edits",
        title="Allow edits",
        help="Lift read-only: edits stay in the private server until Save as",
        files_only=True,
    ),
)


def action_bindings(
    actions: Iterable[ExplorerAction],
) -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """The key bindings of a table of actions, in its order (the footer's order); typed as App.BINDINGS."""
    return [Binding(a.key, a.action, a.label, show=a.footer) for a in actions if a.key is not None]


class RedisTUI(App[None]):
    """Explore one Redis server (the bundled one or any other)."""

    CSS_PATH = "app.tcss"
    TITLE = "redistui"

    BINDINGS = action_bindings(ACTIONS)
    SCOPES = {a.action: a.scope for a in ACTIONS}

    read_only = False  # a dump file opened with ``redistui open``: edits are refused until allowed
    file_mode = False

    def __init__(self, spec: ConnectionSpec, embedded: bool = False) -> None:
        super().__init__()
        self._from_palette = False
        self.spec = spec
        self.embedded = embedded
        self.client = ExplorerClient(spec)
        self.connected = False
        self.reconnecting = False
        self._polling = False

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The explorer keeps its widgets as attributes: handlers that run while the app shuts
        # down (a late keyspace event, a poll) find them without querying a torn-down screen.
        self._header = ServerHeader(self.spec.address, self.embedded, id="header")
        self._db_selector = DbSelector(current=self.spec.db, id="db")
        self._banner = ConnectionBanner(id="banner")
        self._browser = KeyBrowser(id="browser")
        self._value_view = ValueView(id="value")
        self._ttl_panel = TTLPanel(id="ttl")
        with Horizontal(id="top"):
            yield self._header
            yield self._db_selector
        yield self._banner
        with Horizontal(id="main"):
            yield self._browser
            with Vertical(id="right"):
                yield self._value_view
                yield self._ttl_panel
        with Vertical(id="bottom"):
            # The command line and the pub/sub pane mount in #command-area; they stack
            # with the Footer because they share this one docked container.
            with Container(id="command-area"):
                yield PubSubPane(self.spec, id="pubsub", classes="-hidden")
                yield CommandLine(self.spec, id="command-line")
            yield Footer(compact=True)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast shows its text as is: controls escaped (it may quote server data), no markup."""
        super().notify(
            printable(message, newlines=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    @property
    def main_screen(self) -> Screen:
        """The explorer's screen (dialogs stack above it; the widgets below live here)."""
        return self.screen_stack[0]

    @property
    def browser(self) -> KeyBrowser:
        return self._browser

    @property
    def value_view(self) -> ValueView:
        return self._value_view

    @property
    def ttl_panel(self) -> TTLPanel:
        return self._ttl_panel

    def on_mount(self) -> None:
        # Everything built so far (Textual, widgets, modules) lives as long as the app: move it out of
        # the cyclic GC's reach so full collections stay short and do not stall frames.
        gc.freeze()
        self._browser.border_title = "Keys"
        self._value_view.border_title = "Value"
        self._ttl_panel.border_title = "TTL"
        self.browser.key_list.focus()
        self.connect()
        self.set_interval(1.0, self.poll_info)

    async def on_unmount(self) -> None:
        try:
            await self.client.close()
        except (RedisError, OSError):
            pass

    # -- connection -----------------------------------------------------------------------------

    @work(group="connect", exclusive=True)
    async def connect(self) -> None:
        await self._connect()

    async def _connect(self) -> None:
        try:
            await self.client.ping()
            if await self.client.detect_cluster():
                masters = len(self.client.cluster_nodes)
                self._header.cluster_masters = masters
            databases = await self.client.database_count()
        except LOST as error:
            self.connection_lost(error)
            return
        except RedisError as error:
            self.notify(f"cannot use this server: {error}", severity="error", timeout=10)
            return
        self.connected = True
        self._db_selector.update_counts({}, databases)
        self.browser.start()
        await self._check_live()
        self.poll_info()

    async def _check_live(self) -> None:
        try:
            await self.browser.check_live(enable=self.embedded)
        except RedisError as error:
            self.notify(f"keyspace notifications unavailable: {error}", severity="warning")

    def poll_info(self) -> None:
        """INFO once a second (skipped while the previous one is still out)."""
        if not self._polling and self.connected and not self.reconnecting:
            self._polling = True
            self._poll_info()

    @work(group="info")
    async def _poll_info(self) -> None:
        """Feed the header, the db selector and the browser's DBSIZE from one INFO reply."""
        try:
            info = await self.client.info()
        except LOST as error:
            self.connection_lost(error)
            return
        except RedisError:
            return
        finally:
            self._polling = False
        if not self._header.is_attached:
            return  # the app is closing
        self._header.update_info(info, self.client.db)
        counts = keyspace_counts(info)
        self._db_selector.update_counts(counts)
        self.browser.set_dbsize(counts.get(self.client.db, 0))

    def connection_lost(self, error: BaseException) -> None:
        if not self.reconnecting:
            self.reconnecting = True
            self.connected = False
            self._reconnect(str(error) or type(error).__name__)

    @work(group="reconnect", exclusive=True)
    async def _reconnect(self, reason: str) -> None:
        """Retry PING with exponential backoff, then reload everything."""
        banner = self._banner
        delay, attempt = 0.5, 1
        while True:
            banner.show_lost(reason, delay, attempt)
            await asyncio.sleep(delay)
            try:
                await self.client.ping()
                break
            except LOST as error:
                reason = str(error) or type(error).__name__
            except RedisError as error:
                reason = str(error)
            delay, attempt = min(delay * 2, 10.0), attempt + 1
        banner.hide()
        self.reconnecting = False
        self.connected = True
        self.notify("Reconnected", severity="information")
        self.browser.start()
        await self._check_live()
        self.value_view.reload()
        self.ttl_panel.resync()

    # -- routing messages between widgets ---------------------------------------------------------

    @on(KeyBrowser.KeySelected)
    def _key_selected(self, message: KeyBrowser.KeySelected) -> None:
        if message.key != self.value_view.key:
            self.value_view.show(message.key)
            self.ttl_panel.track(message.key, message.meta)

    @on(KeyBrowser.KeyspaceEvents)
    def _keyspace_events(self, message: KeyBrowser.KeyspaceEvents) -> None:
        if not self._ttl_panel.is_attached:
            return  # a late batch while the app shuts down
        self.ttl_panel.keys_touched(message.events)
        if self.value_view.key in message.events:
            self.value_view.reload()

    @on(KeyBrowser.LiveUnavailable)
    def _live_unavailable(self, message: KeyBrowser.LiveUnavailable) -> None:
        if message.flags is None:
            self.notify(
                "This server refuses CONFIG GET: live updates may not work; F5 rescans.", severity="warning"
            )
        else:
            self.notify(
                f"Keyspace notifications are off (notify-keyspace-events={message.flags!r}). "
                "Press ctrl+e to enable them (CONFIG SET), or F5 to rescan by hand.",
                title="Live updates off",
                timeout=8,
            )

    @on(Select.Changed, "#db")
    def _db_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and event.value != self.client.db:
            self.switch_db(event.value)

    @work(group="connect", exclusive=True)
    async def switch_db(self, db: int) -> None:
        self.browser.suspend()
        await self.client.select(db)
        self.value_view.show(None)
        self.ttl_panel.track(None)
        self.browser.dbsize = None
        self.browser.start()
        self.main_screen.query_one(CommandLine).select_db(db)
        await self._check_live()
        self.poll_info()

    # -- the command line, the pub/sub pane and the dashboard --------------------------------------

    def action_focus_command_line(self) -> None:
        self.main_screen.query_one("#cmd-input").focus()

    def action_toggle_pubsub(self) -> None:
        """F3 opens the pane with the focus in its subscribe field; again, closes it (back to the keys)."""
        pane = self.main_screen.query_one(PubSubPane)
        if pane.has_class("-hidden"):
            pane.remove_class("-hidden")
            pane.query_one("#ps-subscribe", Input).focus()
        else:
            pane.add_class("-hidden")
            self.browser.key_list.focus()

    def action_dashboard(self) -> None:
        self.push_screen(DashboardScreen(self.spec, nodes=self.client.cluster_nodes))

    def action_scripting(self) -> None:
        self.push_screen(ScriptingScreen(self.spec))

    def action_analysis(self) -> None:
        from redistui.screens.analysis import AnalysisScreen

        self.push_screen(AnalysisScreen(spec=self.spec, delimiter=self.browser.index.delimiter or b":"))

    @on(CommandLine.Executed)
    def _command_executed(self, message: CommandLine.Executed) -> None:
        """A command that may write refreshes what is shown (live updates cover the key list).

        A SELECT moves the whole explorer (header, key list, command line) to that database:
        the app keeps one database state.
        """
        args, reply = message.args, message.reply
        if self.read_only and isinstance(reply, ErrorReply) and reply.startswith(b"NOPERM"):
            self._writable()  # the server refused a write: say why (a dump file open read-only)
            return
        if (
            len(args) == 2
            and args[0].upper() == b"SELECT"
            and reply == b"OK"
            and not isinstance(reply, ErrorReply)
        ):
            db = int(args[1])
            if db != self.client.db:
                self._db_selector.value = db  # its Changed event switches the explorer (switch_db)
            return
        if message.may_write:
            if not self.browser.live:
                self.browser.start()
            if self.value_view.key is not None:
                self.value_view.reload()

    @on(CommandLine.StreamRequested)
    async def _stream_requested(self, message: CommandLine.StreamRequested) -> None:
        """SUBSCRIBE and friends go to the pub/sub pane, MONITOR to the dashboard."""
        if message.args[0].upper() == b"MONITOR":
            self.push_screen(DashboardScreen(self.spec, monitor=True))
            return
        pane = self.main_screen.query_one(PubSubPane)
        pane.remove_class("-hidden")
        pane.query_one("#ps-subscribe", Input).focus()
        await pane.subscribe_command(message.args)

    # -- command palette and simple actions ----------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in ACTIONS:
            if entry.title is None or (entry.files_only and not self.file_mode):
                continue
            help_text = entry.help
            if entry.key is not None:  # the key that does the same, as the footer would name it
                help_text += f" ({self.get_key_display(Binding(entry.key, entry.action, entry.label))})"
            yield SystemCommand(entry.title, help_text, self._action_runner(entry.action))

    def _action_runner(self, action: str) -> Callable[[], Awaitable[Any]]:
        async def run() -> None:
            self._from_palette = True  # chosen by name: it acts wherever the focus has gone meanwhile
            try:
                await self.run_action(action)
            finally:
                self._from_palette = False

        return run

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Whether a table action acts here; Textual hides the keys that do not from the footer.

        The explorer's keys act on its own screen only (not on the dashboard or under a dialog), and
        the letter keys not while the focus is in a text field, the command line or the pub/sub pane,
        where they are typed.
        """
        scope = self.SCOPES.get(action)
        if scope is None or scope == "any" or self._from_palette:
            return True
        if not self.screen_stack or self.screen is not self.main_screen:
            return False
        if scope == "main":
            return True
        focused = self.focused
        if isinstance(focused, (Input, TextArea)) or (
            focused is not None
            and any(isinstance(node, (CommandLine, PubSubPane)) for node in focused.ancestors)
        ):
            return False
        viewer = self._value_view.viewer if hasattr(self, "_value_view") else None
        if scope == "key":
            return self._value_view.key is not None
        if scope == "string":
            return isinstance(viewer, StringViewer)
        if scope == "collection":
            return isinstance(viewer, CollectionViewer)
        if scope == "value":
            return isinstance(viewer, (StringViewer, CollectionViewer))
        return True

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_focus_filter(self) -> None:
        self.main_screen.query_one("#pattern", Input).focus()

    def action_rescan(self) -> None:
        self.browser.start()

    def action_load_all(self) -> None:
        self.browser.load_all()

    def action_stop_scan(self) -> None:
        """Esc: back to the key list from any pane; on the key list (or from the filter), stop the scan."""
        key_list = self.browser.key_list
        if self.focused is not key_list:
            came_from_filter = self.focused is not None and self.focused.id == "pattern"
            key_list.focus()
            if not came_from_filter:
                return
        self.browser.stop()

    def action_toggle_tree(self) -> None:
        self.browser.set_view(not self.browser.index.tree)

    def action_toggle_natural(self) -> None:
        natural = not self.browser.index.natural
        self.browser.set_natural(natural)
        self.notify("Natural sort order" if natural else "Plain byte order", timeout=2)

    @work(group="edit")
    async def action_set_delimiter(self) -> None:
        current = self.browser.index.delimiter.decode(errors="replace")
        answer = await self.push_screen_wait(
            FormDialog(
                "Tree delimiter", [Field("delimiter", "Split key names on (empty: flat list)", current)]
            )
        )
        if answer is not None:
            delimiter = answer["delimiter"]
            self.browser.set_view(bool(delimiter), delimiter or None)

    @work(group="edit")
    async def action_enable_live(self) -> None:
        try:
            await self.browser.check_live(enable=True)
        except RedisError as error:
            self.notify(f"CONFIG SET refused: {error}", severity="error")
            return
        self.notify("Live updates on: keyspace notifications enabled")

    def action_pin(self) -> None:
        key = self.value_view.key
        if key is None:
            self.notify("Select a key first", severity="warning")
            return
        pinned = self.ttl_panel.toggle_pin(key)
        self.notify(f"{'Pinned' if pinned else 'Unpinned'} {display(key)}")

    @work(group="edit")
    async def action_find_in_value(self) -> None:
        """Search a collection server-side (xSCAN MATCH), or jump to a list index or a sorted-set score."""
        viewer = self.value_view.viewer
        if not isinstance(viewer, CollectionViewer):
            self.notify("Open a list, hash, set or sorted set first", severity="warning")
            return
        type_ = viewer.type
        prompts = {
            "list": "Jump to index (negative counts from the end; empty: the start)",
            "zset": "Jump to a score (a number), or show members matching a glob (e.g. user:*)",
            "hash": "Show fields matching a glob (HSCAN MATCH, e.g. user:*; empty: all)",
            "set": "Show members matching a glob (SSCAN MATCH, e.g. a*; empty: all)",
        }
        if type_ not in prompts:
            self.notify(
                "A stream is read in ID order: scroll, or XRANGE from the command line", severity="warning"
            )
            return
        answer = await self.push_screen_wait(
            FormDialog(f"Find in {type_} {display(viewer.key)}", [Field("query", prompts[type_])])
        )
        if answer is None:
            return
        query = answer["query"].strip()
        try:
            if not query:
                self.value_view.find()
            elif type_ == "list":
                index = int(query)
                if index < 0:
                    index = max(0, await self.client.length(viewer.key, "list") + index)
                self.value_view.find(start=index)
            elif type_ == "zset" and _is_number(query):
                self.value_view.find(start=await self.client.zset_rank_of_score(viewer.key, float(query)))
            else:
                self.value_view.find(match=query.encode())
        except ValueError:
            self.notify(f"Not an index: {query!r}", severity="error")
        except RedisError as error:
            self.notify(str(error), severity="error")

    @on(CollectionViewer.Opened)
    def _element_opened(self, message: CollectionViewer.Opened) -> None:
        parts = element_parts(message.type, message.item, message.columns)
        self.push_screen(ElementDetail(f"{message.type} {display(message.key)}", parts))

    def action_cycle_format(self) -> None:
        viewer = self.value_view.viewer
        if isinstance(viewer, StringViewer):
            self.notify(f"format: {viewer.cycle_format()}")

    def action_load_more_value(self) -> None:
        viewer = self.value_view.viewer
        if isinstance(viewer, StringViewer):
            viewer.load_more()
        elif isinstance(viewer, CollectionViewer):
            viewer.load_page()

    # -- editors ------------------------------------------------------------------------------------

    async def _apply(self, what: str, call: Awaitable[Any]) -> bool:
        """Await one server call; show errors as notifications. Returns True on success."""
        try:
            await call
        except RedisError as error:
            self.notify(f"{what}: {error}", title="Server error", severity="error", timeout=8)
            if isinstance(error, LOST):
                self.connection_lost(error)
            return False
        return True

    def _changed(self, key: bytes) -> None:
        """After an edit: refresh the row, the value and the countdown (events may be off)."""
        self.browser.key_added(key)
        self.browser.key_touched(key)
        self.value_view.reload()
        self.ttl_panel.resync()

    def _writable(self) -> bool:
        """False (and says why) while a dump file is open read-only or the server is a read-only replica."""
        master = replica_of(self._header.info) if read_only_replica(self._header.info) else None
        if master is not None:
            self.notify(
                f"This server is a read-only replica of {master}: it takes writes only from its master. "
                "Edit on the master; the change reaches this replica by replication.",
                title="Read-only replica",
                severity="warning",
                timeout=8,
            )
            return False
        if self.read_only:
            self.notify(
                "This dump file is open read-only: the file itself is never changed. "
                "Command palette (ctrl+p): 'Allow edits' to edit a copy in memory, then 'Save as…'.",
                title="Read-only",
                severity="warning",
                timeout=8,
            )
            return False
        return True

    def _selected_key(self) -> bytes | None:
        key = self.value_view.key
        if key is None:
            self.notify("Select a key first", severity="warning")
        return key

    async def _confirm(self, question: str, label: str = "Yes") -> bool:
        dialog: Screen[Any] = ConfirmDialog(question, label)  # Textual's screen results are invariant
        return bool(await self.push_screen_wait(dialog))

    @work(group="edit")
    async def action_new_key(self) -> None:
        if not self._writable():
            return
        answer = await self.push_screen_wait(
            FormDialog(
                "New key",
                [
                    Field("type", "Type", "string", choices=KEY_TYPES),
                    Field("key", "Key name", placeholder="e.g. user:42"),
                    Field(
                        "value",
                        "Value · string: the text · list, set: one element per line · "
                        "hash, stream: field=value per line · zset: 'score member' per line",
                        multiline=True,
                    ),
                    Field("ttl", "TTL in seconds (empty: none)", placeholder=""),
                ],
            )
        )
        if answer is None:
            return
        key = answer["key"].encode()
        if not key:
            self.notify("A key needs a name", severity="error")
            return
        try:
            if await self.client.exists(key):
                self.notify(f"{display(key)} already exists", severity="error")
                return
            args = creation_command(answer["type"], key, answer["value"])
        except (ValueError, RedisError) as error:
            self.notify(str(error), severity="error")
            return
        if not await self._apply("create", self.client.execute(*args)):
            return
        if answer["ttl"].strip():
            await self._apply("expire", self.client.expire(key, int(answer["ttl"])))
        self.browser.key_added(key)
        self.browser.select_key(key)
        self.value_view.show(key)
        self.ttl_panel.track(key)
        self.notify(f"Created {answer['type']} {display(key)}")

    @work(group="edit")
    async def action_edit(self) -> None:
        if not self._writable():
            return
        key = self._selected_key()
        viewer = self.value_view.viewer
        if key is None or viewer is None:
            return
        if isinstance(viewer, StringViewer):
            if not viewer.complete:
                self.notify("Load the whole value (m) before editing it", severity="warning")
                return
            if not is_text(viewer.data):
                # In a text field control bytes would reach the terminal, and escaped they would be saved
                # changed: binary values are edited as hex, byte for byte.
                await self._edit_hex(key, viewer.data)
                return
            text = viewer.data.decode("utf-8")
            answer = await self.push_screen_wait(
                FormDialog(f"Set {display(key)}", [Field("value", "Value", text, multiline=True)])
            )
            if answer is not None and await self._apply(
                "SET", self.client.set_string(key, answer["value"].encode("utf-8"))
            ):
                self._changed(key)
            return
        assert isinstance(viewer, CollectionViewer)
        item = viewer.selected()
        if item is None:
            self.notify("Select an element first", severity="warning")
            return
        command = await self._edit_element(key, viewer.type, item)
        if command is not None and await self._apply("edit", command):
            self._changed(key)

    @work(group="edit")
    async def action_edit_hex(self) -> None:
        """Any string value as hex (the palette's 'Edit as hex'; binary values open it with e)."""
        if not self._writable():
            return
        key = self._selected_key()
        viewer = self.value_view.viewer
        if key is None or not isinstance(viewer, StringViewer):
            self.notify("Select a string key first", severity="warning")
            return
        if not viewer.complete:
            self.notify("Load the whole value (m) before editing it", severity="warning")
            return
        await self._edit_hex(key, viewer.data)

    async def _edit_hex(self, key: bytes, data: bytes) -> None:
        """Edit ``data`` in the hex editor and SET the exact bytes back, keeping the key's TTL."""
        if len(data) > HEX_EDIT_LIMIT:
            self.notify(
                f"This value ({len(data):,} bytes) is too big for the hex editor "
                f"(up to {HEX_EDIT_LIMIT:,}): change it from the command line (SETRANGE, APPEND)",
                severity="warning",
            )
            return
        new = await self.push_screen_wait(HexEditor(f"Set {display(key)} (hex)", data))
        if new is not None and await self._apply("SET", self.client.set_string(key, new)):
            self._changed(key)

    async def _edit_element(self, key: bytes, type_: str, item: tuple[Any, ...]) -> Awaitable[Any] | None:
        """Ask for the new value of one element; returns the server call to make, or None."""
        client = self.client
        if type_ in ("list", "hash", "set") and not is_text(item[-1]):
            # The dialog shows binary bytes escaped; writing its text back would change them.
            self.notify(
                "This element is not UTF-8 text (or holds control bytes): edit it from the command line",
                severity="warning",
            )
            return None
        if type_ == "list":
            index, value = item
            answer = await self.push_screen_wait(
                FormDialog(
                    f"LSET {display(key)} [{index}]",
                    [Field("value", "Element", display(value), multiline=True)],
                )
            )
            return None if answer is None else client.execute("LSET", key, index, answer["value"].encode())
        if type_ == "hash":
            field, value = item
            answer = await self.push_screen_wait(
                FormDialog(
                    f"HSET {display(key)} {display(field)}",
                    [Field("value", "Value", display(value), multiline=True)],
                )
            )
            return None if answer is None else client.execute("HSET", key, field, answer["value"].encode())
        if type_ == "zset":
            _, member, score = item
            answer = await self.push_screen_wait(
                FormDialog(f"ZADD {display(key)} {display(member)}", [Field("score", "Score", f"{score:g}")])
            )
            return None if answer is None else client.execute("ZADD", key, answer["score"], member)
        if type_ == "set":
            (member,) = item
            answer = await self.push_screen_wait(
                FormDialog(f"Replace member of {display(key)}", [Field("member", "Member", display(member))])
            )
            if answer is None:
                return None
            return replace_set_member(client, key, member, answer["member"].encode())
        self.notify("Stream entries cannot be edited; add a new entry instead", severity="warning")
        return None

    @work(group="edit")
    async def action_add_element(self) -> None:
        if not self._writable():
            return
        key = self._selected_key()
        type_ = self.value_view.type
        if key is None:
            return
        forms = {
            "list": [
                Field("value", "Element", multiline=True),
                Field("end", "Push to", "tail", choices=("tail", "head")),
            ],
            "hash": [Field("field", "Field"), Field("value", "Value", multiline=True)],
            "set": [Field("member", "Member")],
            "zset": [Field("member", "Member"), Field("score", "Score", "0")],
            "stream": [Field("fields", "field=value, one per line", multiline=True)],
        }
        if type_ not in forms:
            self.notify("Add elements to a list, hash, set, sorted set or stream", severity="warning")
            return
        answer = await self.push_screen_wait(FormDialog(f"Add to {type_} {display(key)}", forms[type_]))
        if answer is None:
            return
        try:
            args = add_command(type_, key, answer)
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        if await self._apply("add", self.client.execute(*args)):
            self._changed(key)

    @work(group="edit")
    async def action_remove_element(self) -> None:
        if not self._writable():
            return
        key = self._selected_key()
        viewer = self.value_view.viewer
        if key is None or not isinstance(viewer, CollectionViewer):
            self.notify("Select an element of a collection first", severity="warning")
            return
        item = viewer.selected()
        if item is None:
            return
        label = display(item[1] if viewer.type in ("list", "zset") else item[0])
        if not await self._confirm(f"Remove {label!r} from {display(key)}?", "Remove"):
            return
        if await self._apply("remove", remove_element(self.client, key, viewer.type, item)):
            self._changed(key)

    @work(group="edit")
    async def action_rename(self) -> None:
        if not self._writable():
            return
        key = self._selected_key()
        if key is None:
            return
        if not is_text(key):
            self.notify(
                "This key name is not UTF-8 text (or holds control bytes): rename it from the command line",
                severity="warning",
            )
            return
        answer = await self.push_screen_wait(
            FormDialog(f"Rename {display(key)}", [Field("name", "New name", display(key))])
        )
        if answer is None or not answer["name"] or answer["name"].encode() == key:
            return
        new = answer["name"].encode()
        try:
            exists = await self.client.exists(new)
        except RedisError as error:
            self.notify(str(error), severity="error")
            return
        if exists and not await self._confirm(f"{display(new)} exists. Overwrite it?", "Overwrite"):
            return
        if await self._apply("rename", self.client.rename(key, new)):
            self.browser.key_removed(key)
            self.browser.key_added(new)
            self.browser.select_key(new)
            self.ttl_panel.pinned.pop(key, None)
            self.value_view.show(new)
            self.ttl_panel.track(new)

    @work(group="edit")
    async def action_delete_key(self) -> None:
        if not self._writable():
            return
        key = self._selected_key()
        if key is None or not await self._confirm(f"Delete {display(key)}?", "Delete"):
            return
        if await self._apply("delete", self.client.delete(key)):
            self.browser.key_removed(key)
            self.value_view.show(None)
            self.ttl_panel.track(None)
            self.notify(f"Deleted {display(key)}")

    @work(group="edit")
    async def action_set_ttl(self) -> None:
        if not self._writable():
            return
        key = self._selected_key()
        if key is None:
            return
        meta = self.ttl_panel.meta if self.ttl_panel.key == key else None
        current = str(max(1, meta.remaining_ms() // 1000)) if meta and meta.pttl >= 0 else ""
        answer = await self.push_screen_wait(
            FormDialog(f"TTL of {display(key)}", [Field("seconds", f"Expires in: {TTL_HINT}", current)])
        )
        if answer is None:
            return
        try:
            seconds = parse_ttl(answer["seconds"])
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        call = self.client.persist(key) if seconds < 0 else self.client.expire(key, seconds)
        if await self._apply("TTL", call):
            self._changed(key)


# -- the commands editors send (pure functions, tested on their own) -----------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{what}: expected field=value, got {line!r}")
        pairs.append((name.strip(), value))
    if not pairs:
        raise ValueError(f"{what}: give at least one field=value line")
    return pairs


def creation_command(type_: str, key: bytes, value: str) -> list[Any]:
    """The command that creates a new key of ``type_`` from the new-key form's text."""
    lines = [line for line in value.splitlines() if line != ""]
    if type_ == "string":
        return ["SET", key, value.encode()]
    if not lines:
        raise ValueError(f"a new {type_} needs at least one element")
    if type_ == "list":
        return ["RPUSH", key, *(line.encode() for line in lines)]
    if type_ == "set":
        return ["SADD", key, *(line.encode() for line in lines)]
    if type_ == "hash":
        return ["HSET", key, *(part.encode() for pair in _pairs(value, "hash") for part in pair)]
    if type_ == "stream":
        return ["XADD", key, "*", *(part.encode() for pair in _pairs(value, "stream") for part in pair)]
    if type_ == "zset":
        args: list[Any] = ["ZADD", key]
        for line in lines:
            score, _, member = line.strip().partition(" ")
            float(score)  # raises ValueError with the offending text
            if not member:
                raise ValueError(f"zset: expected 'score member', got {line!r}")
            args += [score, member.encode()]
        return args
    raise ValueError(f"unknown type {type_!r}")


def add_command(type_: str, key: bytes, answer: dict[str, str]) -> list[Any]:
    """The command that adds the add-element form's element to a collection."""
    if type_ == "list":
        return ["RPUSH" if answer["end"] == "tail" else "LPUSH", key, answer["value"].encode()]
    if type_ == "hash":
        if not answer["field"]:
            raise ValueError("a hash field needs a name")
        return ["HSET", key, answer["field"].encode(), answer["value"].encode()]
    if type_ == "set":
        return ["SADD", key, answer["member"].encode()]
    if type_ == "zset":
        float(answer["score"])
        return ["ZADD", key, answer["score"], answer["member"].encode()]
    if type_ == "stream":
        return [
            "XADD",
            key,
            "*",
            *(part.encode() for pair in _pairs(answer["fields"], "stream") for part in pair),
        ]
    raise ValueError(f"cannot add to a {type_}")


async def replace_set_member(client: ExplorerClient, key: bytes, old: bytes, new: bytes) -> None:
    """SREM old + SADD new in one MULTI."""
    pipe = client.redis.pipeline(transaction=True)
    pipe.srem(key, old)
    pipe.sadd(key, new)
    await pipe.execute()


async def remove_element(client: ExplorerClient, key: bytes, type_: str, item: tuple[Any, ...]) -> None:
    """Remove one element; list elements by index (LSET to a sentinel, then LREM it, in one MULTI)."""
    if type_ == "list":
        pipe = client.redis.pipeline(transaction=True)
        pipe.lset(key, item[0], LIST_SENTINEL)
        pipe.lrem(key, 1, LIST_SENTINEL)
        await pipe.execute()
    elif type_ == "hash":
        await client.execute("HDEL", key, item[0])
    elif type_ == "set":
        await client.execute("SREM", key, item[0])
    elif type_ == "zset":
        await client.execute("ZREM", key, item[1])
    elif type_ == "stream":
        await client.execute("XDEL", key, item[0])
