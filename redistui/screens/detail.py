"""One collection element whole: Enter on a row of a list, hash, set, sorted set or stream.

Table cells are cut at a few hundred characters; this screen shows every part of the element
in full, JSON pretty-printed, binary as a hex dump, control bytes escaped. Escape closes it.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from redistui.formatting import printable
from redistui.widgets.string_viewer import HEX_LIMIT, decode_text, hex_dump, human_size

DETAIL_LIMIT = 1024 * 1024  # characters of one part shown (an element may be as big as a string)


def part_renderable(value: Any, dark: bool) -> RenderableType:
    """One part of an element: pretty JSON, text, or a hex dump when it is not text."""
    if isinstance(value, float):
        return Text(f"{value:g}")
    if not isinstance(value, bytes):
        return Text(printable(str(value)))
    text = decode_text(value, partial=False)
    if text is None:
        dump = hex_dump(value[:HEX_LIMIT])
        if len(value) > HEX_LIMIT:
            dump += f"\n… {human_size(len(value) - HEX_LIMIT)} more"
        return Text(dump)
    if text.lstrip()[:1] in ("{", "["):
        try:
            pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        else:
            theme = "monokai" if dark else "default"
            return Syntax(
                printable(pretty[:DETAIL_LIMIT], newlines=True), "json", theme=theme, word_wrap=True
            )
    shown = text[:DETAIL_LIMIT]
    suffix = f"\n… {len(text) - DETAIL_LIMIT:,} more characters" if len(text) > DETAIL_LIMIT else ""
    return Text(printable(shown, newlines=True) + suffix)


class ElementDetail(ModalScreen[None]):
    """The whole of one element, part by part (field and value, member and score, entry fields)."""

    DEFAULT_CSS = """
    ElementDetail { align: center middle; }
    ElementDetail > Vertical {
        width: 90%; height: 85%; padding: 0 1;
        border: thick $accent; background: $surface;
    }
    ElementDetail #detail-title { height: 1; text-style: bold; }
    ElementDetail #detail-body { height: 1fr; }
    ElementDetail .detail-label { color: $text-accent; text-style: bold; margin-top: 1; }
    """

    BINDINGS = [Binding("escape,enter,q", "app.pop_screen", "Close")]

    def __init__(self, title: str, parts: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.title_text = title
        self.parts = parts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(printable(self.title_text)), id="detail-title")
            with VerticalScroll(id="detail-body"):
                for label, value in self.parts:
                    size = f" ({human_size(len(value))})" if isinstance(value, bytes) else ""
                    yield Static(Text(printable(label) + size), classes="detail-label")
                    yield Static(
                        Group(part_renderable(value, self.app.current_theme.dark)), classes="detail-part"
                    )

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()


def element_parts(type_: str, item: tuple[Any, ...], columns: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The labelled parts of an element as its pager stores it (a stream entry: one part per field)."""
    if type_ == "stream":
        entry_id, fields = item
        return [("id", entry_id), *((printable(name), value) for name, value in fields.items())]
    return [(name, value) for name, value in zip(columns, item, strict=False) if value is not None]
