"""The analysis screen: memory by prefix (a tree by delimiter), type, encoding, database and TTL,
and the biggest keys, for an RDB file or a live server (see `redistui.analysis`).

The work runs in an async worker in steps (a few thousand keys of a file, one SCAN batch
of a server), so the screen keeps drawing its progress bar between them and Escape
cancels at the next step; a cancelled analysis shows what it counted, marked partial.
The first line always says where the byte figures come from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from redistui.analysis import (
    BigKey,
    FileAnalysis,
    PrefixNode,
    Report,
    analyse_server,
    human,
    share,
    text,
    ttl_text,
)
from redistui.client import ConnectionSpec

SORTS = ("bytes", "keys", "name")
CHILDREN_SHOWN = 200  # children listed per tree level; the rest are summed in one row


class AnalysisScreen(Screen[None]):
    """Analyse a file (``path``) or a live server (``spec`` with its ``databases``); or show ``report``."""

    BINDINGS = [
        Binding("escape", "cancel_or_close", "Cancel / close"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("r", "restart", "Rerun"),
    ]

    DEFAULT_CSS = """
    AnalysisScreen #analysis-head { height: auto; padding: 0 1; }
    AnalysisScreen #analysis-progress { height: auto; padding: 0 1; }
    AnalysisScreen #analysis-progress.-done { display: none; }
    AnalysisScreen #analysis-tabs { height: 1fr; }
    AnalysisScreen TabPane { height: 1fr; padding: 0; }
    AnalysisScreen Tree { height: 1fr; }
    AnalysisScreen DataTable { height: 1fr; }
    """

    def __init__(
        self,
        path: str | Path | None = None,
        spec: ConnectionSpec | None = None,
        databases: list[int] | None = None,
        delimiter: bytes = b":",
        top: int = 100,
        samples: int = 5,
        label: str | None = None,
        report: Report | None = None,
    ) -> None:
        super().__init__()
        if (path is None) == (spec is None):
            raise ValueError("analyse a file or a server")
        self.path = Path(path) if path is not None else None
        self.spec = spec
        self.databases = databases
        self.delimiter = delimiter
        self.top = top
        self.samples = samples
        self.label = label or (str(path) if path is not None else spec.display_url() if spec else "")
        self.report: Report | None = report  # a finished analysis to show (r reruns it)
        self.sort = "bytes"
        self.cancel_requested = False
        self.running = False

    def compose(self) -> ComposeResult:
        yield Static(id="analysis-head")
        with Vertical(id="analysis-progress"):
            yield Static("starting …", id="analysis-status")
            yield ProgressBar(total=None, show_eta=False, id="analysis-bar")
        with TabbedContent(id="analysis-tabs"):
            with TabPane("Prefixes", id="tab-prefixes"):
                yield Tree("all keys", id="prefix-tree")
            with TabPane("Type · encoding · db · TTL", id="tab-breakdown"):
                yield DataTable(id="breakdown", cursor_type="row", zebra_stripes=True)
            with TabPane("Biggest by bytes", id="tab-biggest"):
                yield DataTable(id="biggest", cursor_type="row", zebra_stripes=True)
            with TabPane("Biggest by elements", id="tab-longest"):
                yield DataTable(id="longest", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#analysis-head", Static).update(self._head())
        if self.report is None:
            self.start()
        else:
            self.show(self.report)

    # -- running --------------------------------------------------------------------------

    def _head(self) -> Text:
        head = Text()
        head.append("Analysis of ", style="bold")
        head.append(self.label)
        head.append("\nbytes: ", style="bold")
        if self.report is not None:
            head.append(self.report.bytes_source)
        elif self.path is not None:
            head.append("serialized bytes of each key's record in the file")
        else:
            head.append("the server's MEMORY USAGE estimate")
        report = self.report
        if report is not None:
            head.append("\n")
            if report.damage is not None:
                head.append(
                    f"DAMAGED at offset {report.damage_offset}: {report.damage}. "
                    f"These figures cover the {report.keys} keys read before it.",
                    style="bold red",
                )
            elif report.cancelled:
                head.append(f"Cancelled: partial figures ({report.keys} keys counted). r reruns.", style="bold yellow")
            else:
                head.append(f"{report.keys} keys, {human(report.size)}", style="bold")
                if report.file_size is not None:
                    head.append(
                        f" · file {human(report.file_size)} · structure {report.structure_bytes} B"
                        f" · {len(report.functions)} function librar{'y' if len(report.functions) == 1 else 'ies'}"
                    )
                head.append(f" · {report.seconds:.1f}s")
        return head

    def _set_progress(self, done: int, total: int, keys: int, unit: str) -> None:
        bar = self.query_one("#analysis-bar", ProgressBar)
        bar.update(total=max(total, 1), progress=min(done, total))
        amount = f"{human(done)} of {human(total)} read" if unit == "bytes" else f"{done} of {total} keys"
        self.query_one("#analysis-status", Static).update(
            f"Analysing … {amount}, {keys} keys counted (escape cancels)"
        )

    def start(self) -> None:
        """(Re)run the analysis; escape cancels it from now on."""
        self.running = True
        self.cancel_requested = False
        self.query_one("#analysis-progress").remove_class("-done")
        self.run_analysis()

    @work(group="analysis", exclusive=True)
    async def run_analysis(self) -> None:
        try:
            if self.path is not None:
                report = await self._analyse_file(self.path)
            else:
                report = await self._analyse_server()
        except Exception as error:  # a server or file error: say it on the screen
            self.running = False
            self.query_one("#analysis-status", Static).update(f"Analysis failed: {error}")
            self.app.notify(f"analysis failed: {error}", severity="error")
            return
        self.running = False
        self.show(report)

    async def _analyse_file(self, path: Path) -> Report:
        analysis = FileAnalysis(path, self.delimiter, self.top)
        while not analysis.step():
            self._set_progress(*analysis.progress, "bytes")
            await asyncio.sleep(0)  # let the screen draw and keys (escape) through
            if self.cancel_requested:
                return analysis.finish(cancelled=True)
        self._set_progress(*analysis.progress, "bytes")
        return analysis.finish()

    async def _analyse_server(self) -> Report:
        spec = self.spec
        assert spec is not None
        databases = self.databases
        if databases is None:
            probe = spec.connect()
            try:
                databases = databases_of(await probe.info("keyspace"))
            finally:
                await probe.aclose()

        def progress(done: int, total: int, keys: int) -> None:
            self._set_progress(done, total, keys, "keys")

        def connect(db: int) -> Any:
            return spec.with_db(db).connect()

        return await analyse_server(
            connect, spec.display_url(), databases, self.delimiter, self.top, self.samples,
            progress=progress, cancelled=lambda: self.cancel_requested,
        )  # fmt: skip

    # -- showing ---------------------------------------------------------------------------

    def show(self, report: Report) -> None:
        self.report = report
        self.query_one("#analysis-progress").add_class("-done")
        self.query_one("#analysis-head", Static).update(self._head())
        self._fill_tree()
        self._fill_breakdown(report)
        self._fill_keys("#biggest", report.biggest, report)
        self._fill_keys("#longest", report.longest, report)

    def _node_label(self, name: str, node: PrefixNode, whole: int, width: int = 34) -> Text:
        label = Text()
        label.append(f"{name:<{width}}")
        label.append(f" {node.keys:>9} {'key ' if node.keys == 1 else 'keys'} {human(node.size):>10} "
                     f"{share(node.size, whole):>6}", style="dim")
        return label

    def _fill_tree(self) -> None:
        report = self.report
        if report is None:
            return
        tree: Tree[PrefixNode] = self.query_one("#prefix-tree", Tree)
        tree.clear()
        root = report.tree
        tree.root.set_label(
            Text(f"all keys · {root.keys} keys · {human(root.size)} · sorted by {self.sort} (s) · "
                 f"delimiter {text(report.delimiter)!r}")
        )
        tree.root.data = root
        self._add_branches(tree.root, root, report.size)
        tree.root.expand()

    def _add_branches(self, parent: TreeNode[PrefixNode], node: PrefixNode, whole: int) -> None:
        children = node.sorted_children(self.sort)
        for child in children[:CHILDREN_SHOWN]:
            if child.children:  # its expand arrow takes two columns: the figures still line up
                parent.add(self._node_label(text(child.name), child, whole, 32), data=child)
            else:
                parent.add_leaf(self._node_label(text(child.name), child, whole), data=child)
        rest = children[CHILDREN_SHOWN:]
        if rest:
            parent.add_leaf(Text(f"… {len(rest)} more namespaces: {sum(c.keys for c in rest)} keys, "
                                 f"{human(sum(c.size for c in rest))}", style="dim italic"))
        own = node.keys - sum(c.keys for c in children)
        if own and parent is not self.query_one("#prefix-tree", Tree).root:
            parent.add_leaf(Text(f"({own} {'key' if own == 1 else 'keys'} directly under this prefix)",
                                 style="dim italic"))

    @on(Tree.NodeExpanded, "#prefix-tree")
    def _expanded(self, event: Tree.NodeExpanded[PrefixNode]) -> None:
        node = event.node
        if node.data is not None and node.data.children and not node.children and self.report is not None:
            self._add_branches(node, node.data, self.report.size)

    def _fill_breakdown(self, report: Report) -> None:
        table: DataTable[Any] = self.query_one("#breakdown", DataTable)
        table.clear(columns=True)
        table.add_columns("by", "name", "keys", "bytes", "share")
        whole = report.size
        sections: list[tuple[str, list[tuple[str, list[int]]]]] = [
            ("type", sorted(report.by_type.items(), key=lambda item: -item[1][1])),
            ("encoding", sorted(report.by_encoding.items(), key=lambda item: -item[1][1])),
            ("database", [(f"db{db}", row) for db, row in sorted(report.by_db.items())]),
            ("ttl", list(report.by_ttl.items())),
        ]
        for section, rows in sections:
            for name, (keys, size) in rows:
                table.add_row(section, name, f"{keys:>10}", f"{human(size):>10}", f"{share(size, whole):>6}")
        if report.file_size is not None:
            table.add_row("file", "structure (header, aux, db selectors, EOF)", "", f"{report.structure_bytes} B", "")
            for library, library_size in report.functions:
                table.add_row("file", f"function library {text(library)}", "", f"{library_size} B", "")

    def _fill_keys(self, selector: str, entries: list[BigKey], report: Report) -> None:
        table: DataTable[Any] = self.query_one(selector, DataTable)
        table.clear(columns=True)
        table.add_columns("#", "key", "db", "type", "encoding", "bytes", "elements", "ttl")
        for rank, entry in enumerate(entries, 1):
            table.add_row(
                rank, text(entry.key), entry.db, entry.type, entry.encoding, f"{entry.size:>10}",
                f"{entry.elements:>9}", ttl_text(entry.expire_ms, report.now_ms),
            )  # fmt: skip

    # -- actions -----------------------------------------------------------------------------

    def action_cancel_or_close(self) -> None:
        if self.running:
            self.cancel_requested = True
        else:
            self.dismiss(None)

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._fill_tree()

    def action_restart(self) -> None:
        if not self.running:
            self.start()


def databases_of(info: dict[str, Any]) -> list[int]:
    """The databases INFO keyspace lists (``db0``, ``db3`` …)."""
    return sorted(int(name[2:]) for name in info if name.startswith("db") and name[2:].isdigit())

