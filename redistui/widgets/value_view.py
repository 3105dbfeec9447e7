"""The right-hand pane: the selected key's name and type above the viewer for its type."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.widget import Widget
from textual.widgets import Static

from redistui.client import client_of
from redistui.widgets.collection_viewer import PAGERS, CollectionViewer
from redistui.widgets.key_list import BADGES, display
from redistui.widgets.string_viewer import StringViewer


class ValueView(Vertical):
    """Shows one key with the viewer that fits its type."""

    DEFAULT_CSS = """
    ValueView {
        #value-title { height: 1; text-style: bold; }
        #value-body { height: 1fr; }
        #value-empty { color: $text-muted; padding: 1 2; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.key: bytes | None = None
        self.type: str | None = None
        self._title = Static("", id="value-title")
        self._body = Container(id="value-body")
        self._acting: tuple[bool, type[Widget] | None] | None = None  # what the footer's keys were refreshed for

    def compose(self) -> ComposeResult:
        yield self._title
        with self._body:
            yield Static("Select a key on the left.", id="value-empty")

    @property
    def viewer(self) -> Widget | None:
        body = self._body
        return body.children[0] if body.children and not isinstance(body.children[0], Static) else None

    def show(self, key: bytes | None) -> None:
        self.key = key
        self._load(key)

    def reload(self) -> None:
        """Show the key again (after an edit): a collection keeps its search and its cursor's element."""
        viewer = self.viewer
        if isinstance(viewer, CollectionViewer) and viewer.key == self.key:
            self._load(self.key, start=viewer.start, match=viewer.match, restore=viewer.position())
        else:
            self._load(self.key)

    def find(self, start: int = 0, match: bytes | None = None) -> None:
        """Show the collection from index/rank ``start``, or only its elements matching ``match``."""
        self._load(self.key, start=start, match=match)

    @work(group="value", exclusive=True)
    async def _load(
        self,
        key: bytes | None,
        *,
        start: int = 0,
        match: bytes | None = None,
        restore: tuple[Any, int] | None = None,
    ) -> None:
        try:
            await self._show(key, start, match, restore)
        finally:
            # Which editing keys act depends on the key and its viewer. Refreshing the bindings rebuilds the
            # footer (a layout pass of the whole screen): only when that changed, not for every key shown.
            viewer = self.viewer
            acting = (self.key is not None, type(viewer) if viewer is not None else None)
            if self.is_attached and acting != self._acting:
                self._acting = acting
                self.app.refresh_bindings()

    async def _show(
        self, key: bytes | None, start: int, match: bytes | None, restore: tuple[Any, int] | None
    ) -> None:
        body, title = self._body, self._title
        if key is None:
            self.type = None
            title.update("", layout=False)
            await body.remove_children()
            await body.mount(Static("Select a key on the left.", id="value-empty"))
            return
        client = client_of(self.app)
        try:
            meta = (await client.key_meta([key])).get(key)
            encoding = await client.object_encoding(key) if meta and meta.type != "none" else None
        except RedisError as error:
            await body.remove_children()
            await body.mount(Static(Text(display(f"error: {error}".encode()), style="red"), id="value-empty"))
            return
        self.type = meta.type if meta else "none"
        badge, style = BADGES.get(self.type, (self.type.upper(), "bold"))
        heading = Text.assemble(
            (f" {badge.strip()} ", f"reverse {style}"), " ", display(key), no_wrap=True, overflow="ellipsis"
        )
        title.update(heading, layout=False)  # one fixed line
        await body.remove_children()
        if self.type == "string":
            await body.mount(StringViewer(key, encoding))
        elif self.type in PAGERS:
            await body.mount(
                CollectionViewer(key, self.type, encoding, start=start, match=match, restore=restore)
            )
        elif self.type == "none":
            await body.mount(Static("This key does not exist (deleted or expired).", id="value-empty"))
        else:
            await body.mount(Static(f"No viewer for type {self.type!r}.", id="value-empty"))
