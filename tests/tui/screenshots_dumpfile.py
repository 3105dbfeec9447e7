"""Screenshots of ``redistui open`` (issue 20): the seeded dataset saved as an RDB file, opened
read-only, and its analysis screen. Called by ``tests.tui.screenshots`` (``make screenshots``)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from textual.widgets import TabbedContent, Tree

from redistui.dumpfile import PrivateServer
from redistui.screens.analysis import AnalysisScreen
from redistui.screens.opening import DumpFileApp
from tests.servers import ServerProcess
from tests.tui.screenshots import OUT, ROOT, SIZE, open_key, wait


async def shots(path: Path) -> None:
    private = PrivateServer(path)
    private.start()
    app = DumpFileApp(private)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot, lambda: app.connected and app.browser.scan_done, timeout=60)
            app.browser.index.toggle(b"user:")
            app.browser.key_list.rows_changed()
            await open_key(pilot, app, b"user:3")
            app.browser.key_list.focus()
            await wait(pilot, lambda: app.file_report is not None)
            await pilot.pause(0.5)
            save(app, "16-dump-file-read-only")
            await pilot.press("f6")
            await wait(pilot, lambda: isinstance(app.screen, AnalysisScreen) and app.screen.report is not None)
            screen = app.screen
            tree = screen.query_one("#prefix-tree", Tree)
            for node in [node for node in tree.root.children if node.allow_expand][:2]:
                node.expand()
            await pilot.pause(0.5)
            save(app, "17-analysis-prefixes")
            screen.query_one(TabbedContent).active = "tab-biggest"
            await pilot.pause(0.5)
            save(app, "18-analysis-biggest-keys")
    finally:
        private.stop()


def save(app: DumpFileApp, name: str) -> None:
    path = app.save_screenshot(f"{name}.svg", path=str(OUT))
    print(f"wrote {Path(path).relative_to(ROOT)}")


def shoot(server: ServerProcess) -> None:
    """SAVE the seeded server and take the dump-file shots from a copy named ``demo.rdb``."""
    with server.connect() as conn:
        conn.save()
    folder = Path(tempfile.mkdtemp(prefix="redistui-demo-"))
    try:
        shutil.copyfile(server.workdir / "dump.rdb", folder / "demo.rdb")
        asyncio.run(shots(folder / "demo.rdb"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
