"""The explorer on a dump file (``redistui open``): a loading screen, then the explorer, read-only.

`DumpFileApp` is the explorer (`RedisTUI`) pointed at a `PrivateServer`. While that
server loads the file, `LoadingScreen` shows two progress bars: the server's own
(INFO persistence ``loading_loaded_bytes`` of ``loading_total_bytes``, as Redis reports
it while loading) and this process's analysis pass over the same file (bytes read,
keys counted), with the first keys it met, so something is on screen at once. Both run
side by side: the server in its process, the analysis here, between screen updates.
The finished analysis is what the analysis screen (F6) opens on.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, RedisError
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, ProgressBar, Static

from redistui.analysis import FileAnalysis, Report, human, text
from redistui.app import RedisTUI
from redistui.dumpfile import RDB_NAME, PrivateServer, copy_atomically
from redistui.screens.analysis import AnalysisScreen
from redistui.screens.dialogs import Field, FormDialog

FIRST_KEYS = 12  # keys listed on the loading screen as the analysis meets them
STEP_SECONDS = 0.05  # analysis time between two looks at the server


class LoadingScreen(ModalScreen[None]):
    """Progress of the private server's load and of the analysis pass, and the first keys."""

    DEFAULT_CSS = """
    LoadingScreen { align: center middle; }
    LoadingScreen > Vertical { width: 96; height: auto; padding: 1 2; border: thick $accent; background: $surface; }
    LoadingScreen ProgressBar { margin-bottom: 1; }
    LoadingScreen DataTable { height: auto; max-height: 16; }
    """

    def __init__(self, private: PrivateServer) -> None:
        super().__init__()
        self.private = private

    def compose(self) -> ComposeResult:
        source = self.private.source
        kinds = {"rdb": "RDB file", "aof-dir": "AOF directory", "aof-file": "append-only file"}
        with Vertical():
            yield Static(
                Text.assemble(("Opening ", "bold"), str(source.path),
                              f"  ({kinds[source.kind]}, {human(self.private.total_bytes)}, read-only)")
            )
            yield Static("server: starting …", id="server-status")
            yield ProgressBar(total=None, show_eta=False, id="server-bar")
            yield Static("analysis: waiting …", id="scan-status")
            yield ProgressBar(total=None, show_eta=False, id="scan-bar")
            yield Static("First keys in the file:", id="first-title")
            yield DataTable(id="first-keys", cursor_type="none", show_cursor=False)

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one("#first-keys", DataTable)
        table.add_columns("db", "key", "type", "bytes in file")

    def server_progress(self, info: dict[str, Any] | None) -> None:
        status = self.query_one("#server-status", Static)
        bar = self.query_one("#server-bar", ProgressBar)
        if info is None:
            status.update("server: loading (it reports progress once it answers INFO)")
            return
        total = int(info.get("loading_total_bytes", 0) or 0)
        done = int(info.get("loading_loaded_bytes", 0) or 0)
        if total:
            bar.update(total=total, progress=done)
            eta = info.get("loading_eta_seconds", "?")
            status.update(f"server: loading {human(done)} of {human(total)} (eta {eta}s)")
        else:
            status.update("server: loading …")

    def scan_progress(self, done: int, total: int, keys: int) -> None:
        self.query_one("#scan-bar", ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#scan-status", Static).update(
            f"analysis: {human(done)} of {human(total)} read, {keys} keys counted"
        )

    def add_first_key(self, db: int, key: bytes, type_: str, size: int) -> None:
        table: DataTable[Any] = self.query_one("#first-keys", DataTable)
        table.add_row(db, text(key)[:60], type_, size)


class DumpFileApp(RedisTUI):
    """The explorer on a privately loaded dump file, read-only until edits are allowed."""

    file_mode = True
    CSS_PATH = str(Path(__file__).resolve().parent.parent / "app.tcss")  # the explorer's, beside app.py
    CSS = """
    #file-banner { height: 1; padding: 0 1; background: $warning 30%; }
    #file-banner.-editing { background: $error 40%; }
    #file-banner.-damaged { background: $error 60%; }
    """

    def __init__(self, private: PrivateServer) -> None:
        super().__init__(private.spec)
        self.private = private
        self.read_only = private.read_only
        self.open_error: str | None = None
        self.file_report: Report | None = None
        self.loading_seconds = 0.0
        self.first_keys_at: float | None = None  # seconds from start to the first key on screen
        self._started = time.monotonic()
        self._first: list[tuple[int, bytes, str, int]] = []

    def on_mount(self) -> None:
        # Above the key browser, below the docked header row.
        self.main_screen.mount(Static(id="file-banner"), before=self.query_one("#main"))
        self._update_banner()
        super().on_mount()

    def _update_banner(self) -> None:
        banner = self.query_one("#file-banner", Static)
        private = self.private
        damage = private.damage
        if damage is not None:
            banner.add_class("-damaged")
            state = f"DAMAGED at offset {damage.offset} ({damage.reason}): showing the keys read before it"
        elif self.read_only:
            state = "READ-ONLY"
        else:
            banner.add_class("-editing")
            state = "EDITING IN MEMORY (the file is unchanged; Save as… writes a copy)"
        line = Text(f"{state} · {private.source.path} · ctrl+p: Allow edits, Save as…, F6 analysis")
        line.stylize("bold", 0, len(state))
        banner.update(line)

    # -- loading ------------------------------------------------------------------------------

    async def _connect(self) -> None:
        loading = LoadingScreen(self.private)
        await self.push_screen(loading)
        if not await self._load(loading):
            self.exit()
            return
        self.loading_seconds = time.monotonic() - self._started
        loading.dismiss()
        self._update_banner()
        damage = self.private.damage
        if damage is not None:
            self.notify(
                f"{self.private.source.path} is damaged at offset {damage.offset}: {damage.reason}. "
                "The explorer shows the keys read before the damage; the file is unchanged.",
                title="Damaged file",
                severity="error",
                timeout=15,
            )
        await super()._connect()

    async def _load(self, loading: LoadingScreen) -> bool:
        """Wait for the server to load the file, analysing the file meanwhile; False if it cannot."""
        private = self.private
        analysis = None
        if private.source.kind == "rdb":
            analysis = FileAnalysis(private.source.path, on_key=self._met_key)
        # No retries: -LOADING must come back at once (redis-py retries it as a lost connection).
        conn = aioredis.Redis(unix_socket_path=str(private.socket), socket_timeout=5, socket_connect_timeout=1,
                              retry=Retry(NoBackoff(), 0))
        try:
            while True:
                if analysis is not None and not analysis.done:
                    deadline = time.monotonic() + STEP_SECONDS
                    while time.monotonic() < deadline and not analysis.step(2048):
                        pass
                    loading.scan_progress(*analysis.progress)
                    self._show_first_keys(loading)
                    if analysis.done:
                        self.file_report = analysis.finish()
                else:
                    await asyncio.sleep(0.1)
                reason = private.failed()
                if reason is not None:
                    if private.recover():
                        continue
                    self.open_error = reason
                    return False
                if private.socket.exists():
                    try:
                        if await conn.ping():
                            break
                    except BusyLoadingError:  # -LOADING: INFO persistence says how far it is
                        loading.server_progress(await self._loading_info(conn))
                        await asyncio.sleep(0)
                        continue
                    except RedisError:
                        pass  # not listening yet
                loading.server_progress(None)
                await asyncio.sleep(0)
        finally:
            await conn.aclose()
        if analysis is not None and not analysis.done:
            self._finish_analysis_later(analysis)
        return True

    async def _loading_info(self, conn: aioredis.Redis) -> dict[str, Any] | None:
        try:
            return dict(await conn.info("persistence"))
        except RedisError:
            return None

    def _met_key(self, db: int, key: bytes, type_: str, size: int) -> None:
        if len(self._first) < FIRST_KEYS:
            self._first.append((db, key, type_, size))

    def _show_first_keys(self, loading: LoadingScreen) -> None:
        shown = loading.query_one("#first-keys", DataTable).row_count
        for row in self._first[shown:]:
            loading.add_first_key(*row)
            if self.first_keys_at is None:
                self.first_keys_at = time.monotonic() - self._started

    @work(group="file-analysis", exclusive=True)
    async def _finish_analysis_later(self, analysis: FileAnalysis) -> None:
        """The server loaded first: finish the analysis pass between frames of the explorer."""
        while not analysis.step(2048):
            await asyncio.sleep(0)
        self.file_report = analysis.finish()

    # -- file actions ---------------------------------------------------------------------------

    def action_analysis(self) -> None:
        private = self.private
        if private.source.kind == "rdb":
            self.push_screen(AnalysisScreen(path=private.source.path, report=self.file_report))
            return
        self._analyse_aof()

    @work(group="edit")
    async def _analyse_aof(self) -> None:
        """An AOF holds commands, not keys: analyse an RDB snapshot of what it loaded."""
        try:
            await self.client.execute("SAVE")
        except RedisError as error:
            self.notify(f"SAVE failed: {error}", severity="error")
            return
        self.push_screen(
            AnalysisScreen(path=self.private.workdir / RDB_NAME, label=f"{self.private.source.path} "
                           "(an RDB snapshot of the data the AOF holds)")
        )

    @work(group="edit")
    async def action_save_as(self) -> None:
        source = self.private.source.path
        default = Path.cwd() / f"{source.stem if source.suffix else source.name}-copy.rdb"
        answer = await self.push_screen_wait(
            FormDialog("Save as (an RDB file; the opened file stays as it is)",
                       [Field("path", "Write to", str(default))])
        )
        if answer is None or not answer["path"].strip():
            return
        target = Path(answer["path"].strip()).expanduser().resolve()
        if target == source.resolve() or (source.is_dir() and source.resolve() in target.parents):
            self.notify("That would overwrite the opened file: choose another path", severity="error")
            return
        try:
            await self.client.execute("SAVE")
            copy_atomically(self.private.workdir / RDB_NAME, target)
        except (RedisError, OSError) as error:
            self.notify(f"Save as failed: {error}", severity="error")
            return
        self.notify(f"Saved to {target}")

    @work(group="edit")
    async def action_allow_edits(self) -> None:
        if not self.read_only:
            self.notify("Edits are already allowed")
            return
        if not await self._confirm(
            "Allow edits? They change the data in the private server only; the file stays as it is, "
            "and Save as… writes the edited data to a new file.",
            "Allow edits",
        ):
            return
        try:
            await self.client.execute("ACL", "SETUSER", "default", "+@write")
        except RedisError as error:
            self.notify(f"cannot allow edits: {error}", severity="error")
            return
        self.read_only = False
        self._update_banner()
        self.notify("Edits allowed (in memory). Save as… writes them to a new file.")
