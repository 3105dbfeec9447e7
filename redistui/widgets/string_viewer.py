"""A string value as text, pretty JSON or a hex dump, fetched in GETRANGE chunks.

Nothing fetches a large string whole: the first chunk comes with STRLEN, and
"load more" asks for the next one. The format is chosen automatically (binary →
hex, parsable JSON → JSON, else text) and can be cycled by the user.
"""

from __future__ import annotations

import json

from redis.exceptions import RedisError
from rich.console import RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Static

from redistui.client import client_of
from redistui.formatting import has_controls, printable

CHUNK = 32 * 1024  # bytes per GETRANGE
HEX_LIMIT = 16 * 1024  # bytes shown in a hex dump
FORMATS = ("auto", "text", "json", "hex")


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def decode_text(data: bytes, partial: bool) -> str | None:
    """UTF-8 text without control characters (tabs and newlines allowed), else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if not partial or error.start < len(data) - 3:
            return None
        text = data[: error.start].decode("utf-8")  # a character cut by the chunk boundary
    if has_controls(text.replace("\r\n", "\n")):  # C0 (but tab and line ends), DEL, C1
        return None
    return text.replace("\r\n", "\n")


def hex_dump(data: bytes, offset: int = 0, per_line: int = 16) -> str:
    """``per_line`` bytes per line: offset, hex pairs, printable ASCII."""
    lines = []
    for start in range(0, len(data), per_line):
        row = data[start : start + per_line]
        hex_part = " ".join(f"{b:02x}" for b in row)
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset + start:08x}  {hex_part:<{per_line * 3 - 1}}  {ascii_part}")
    return "\n".join(lines)


def detect_format(data: bytes, complete: bool) -> str:
    text = decode_text(data, partial=not complete)
    if text is None:
        return "hex"
    if complete and text.lstrip()[:1] in ("{", "["):
        try:
            json.loads(text)
            return "json"
        except ValueError:
            pass
    return "text"


class StringViewer(Vertical):
    """One string key: an info line and the value in the chosen format."""

    DEFAULT_CSS = """
    StringViewer {
        #string-info { height: auto; color: $text-muted; }
        #string-scroll { height: 1fr; }
    }
    """

    format: reactive[str] = reactive("auto")

    def __init__(self, key: bytes, encoding: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.encoding = encoding
        self.data = b""
        self.total = 0
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="string-info")
        with VerticalScroll(id="string-scroll"):
            yield Static("", id="string-body")

    def on_mount(self) -> None:
        self.load_more()

    @property
    def complete(self) -> bool:
        return self.loaded and len(self.data) >= self.total

    @property
    def shown_format(self) -> str:
        return detect_format(self.data, self.complete) if self.format == "auto" else self.format

    @work(group="string", exclusive=True)
    async def load_more(self) -> None:
        """Fetch the next chunk (GETRANGE) and redraw."""
        if self.complete:
            return
        try:
            total, chunk = await client_of(self.app).string_slice(self.key, len(self.data), CHUNK)
        except RedisError as error:
            if self.is_attached:
                self.query_one("#string-body", Static).update(Text(printable(f"error: {error}"), style="red"))
            return
        if not self.is_attached:
            return  # another key was opened while this chunk was on its way
        self.total, self.data, self.loaded = total, self.data + chunk, True
        self._render_value()

    def cycle_format(self) -> str:
        self.format = FORMATS[(FORMATS.index(self.format) + 1) % len(FORMATS)]
        return self.format

    def watch_format(self) -> None:
        if self.loaded:
            self._render_value()

    def _render_value(self) -> None:
        shown = self.shown_format
        info = [f"{human_size(self.total)}"]
        if not self.complete:
            info.append(f"first {human_size(len(self.data))} shown, m loads more")
        info.append(f"format: {shown}{' (auto)' if self.format == 'auto' else ''}, f cycles")
        if self.encoding:
            info.append(f"encoding: {self.encoding}")
        try:
            info_line = self.query_one("#string-info", Static)
            body = self.query_one("#string-body", Static)
        except NoMatches:
            return  # being removed: another key was opened
        info_line.update(" · ".join(info))
        body.update(self._renderable(shown))

    def _renderable(self, shown: str) -> RenderableType:
        if shown == "hex":
            per_line = 16 if self.size.width >= 78 else 8  # never wrap a dump line
            dump = hex_dump(self.data[:HEX_LIMIT], per_line=per_line)
            if len(self.data) > HEX_LIMIT:
                dump += f"\n… {human_size(len(self.data) - HEX_LIMIT)} more loaded (switch to text to see it)"
            return Text(dump)
        text = decode_text(self.data, partial=not self.complete)
        if text is None:
            text = printable(self.data, newlines=True)
        if shown == "json":
            try:
                pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                return Text(
                    text + "\n\n(not valid JSON" + ("" if self.complete else " yet: load the rest") + ")"
                )
            theme = "monokai" if self.app.current_theme.dark else "default"
            background = self.background_colors[1].hex  # the pane's own colour, not the theme's block colour
            return Syntax(printable(pretty, newlines=True), "json", theme=theme, word_wrap=True, background_color=background)
        return Text(text)
