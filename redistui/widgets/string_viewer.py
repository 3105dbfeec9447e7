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


def decode_piece(piece: bytes, final: bool) -> tuple[str | None, bytes]:
    """One chunk as text, and the bytes cut at its end (a split character, a CR) kept for the next.

    None when the chunk is not text (invalid UTF-8, or control bytes but tab and line ends).
    """
    carry = b""
    if not final:
        for back in range(1, min(4, len(piece)) + 1):
            byte = piece[-back]
            if byte & 0xC0 != 0x80:  # not a continuation byte: where the last character starts
                need = 1 if byte < 0xC0 else 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
                if need > back:  # cut short: keep it for the next chunk
                    piece, carry = piece[:-back], piece[-back:]
                break
        if piece.endswith(b"\r"):
            piece, carry = piece[:-1], b"\r" + carry
    text = decode_text(piece, partial=False)
    return text, carry


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
        self._chunks: list[bytes] = []
        self._data: bytes | None = b""
        self.total = 0
        self.loaded = False
        # Text shown page by page: each further chunk is appended as a widget of its own, so reading
        # a 10 MB string costs one chunk per press; _carry holds bytes cut at a chunk's end.
        self._paged_text = False
        self._carry = b""

    @property
    def data(self) -> bytes:
        """The bytes loaded so far (joined once per chunk, when asked for)."""
        if self._data is None:
            self._data = b"".join(self._chunks)
        return self._data

    @property
    def loaded_size(self) -> int:
        return sum(len(chunk) for chunk in self._chunks)

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="string-info")
        with VerticalScroll(id="string-scroll"):
            yield Static("", id="string-body")

    def on_mount(self) -> None:
        self.load_more()

    @property
    def complete(self) -> bool:
        return self.loaded and self.loaded_size >= self.total

    @property
    def shown_format(self) -> str:
        return detect_format(self.data, self.complete) if self.format == "auto" else self.format

    @work(group="string", exclusive=True)
    async def load_more(self) -> None:
        """Fetch the next chunk (GETRANGE) and redraw."""
        if self.complete:
            return
        try:
            total, chunk = await client_of(self.app).string_slice(self.key, self.loaded_size, CHUNK)
        except RedisError as error:
            if self.is_attached:
                self.query_one("#string-body", Static).update(Text(printable(f"error: {error}"), style="red"))
            return
        if not self.is_attached:
            return  # another key was opened while this chunk was on its way
        first = not self._chunks
        self.total, self.loaded = total, True
        self._chunks.append(chunk)
        self._data = None
        if not first and self._paged_text and await self._append_page(chunk):
            return
        self._render_value()

    async def _append_page(self, chunk: bytes) -> bool:
        """Show one more chunk of text below the others; False when it must all be drawn again instead."""
        complete = self.complete
        if complete and self.format == "auto" and self._chunks[0].lstrip()[:1] in (b"{", b"["):
            return False  # the whole value may be JSON now: auto shows it pretty-printed
        text, carry = decode_piece(self._carry + chunk, final=complete)
        if text is None:
            return False  # not text after all: auto switches to hex, text shows it escaped
        self._carry = carry
        try:
            scroll = self.query_one("#string-scroll", VerticalScroll)
            info_line = self.query_one("#string-info", Static)
        except NoMatches:
            return True  # being removed
        await scroll.mount(Static(Text(text), classes="string-page"))
        info_line.update(self._info_text("text"))
        return True

    def cycle_format(self) -> str:
        self.format = FORMATS[(FORMATS.index(self.format) + 1) % len(FORMATS)]
        return self.format

    def watch_format(self) -> None:
        if self.loaded:
            self._render_value()

    def _info_text(self, shown: str) -> str:
        info = [f"{human_size(self.total)}"]
        if not self.complete:
            info.append(f"first {human_size(self.loaded_size)} shown, m loads more")
        info.append(f"format: {shown}{' (auto)' if self.format == 'auto' else ''}, f cycles")
        if self.encoding:
            info.append(f"encoding: {self.encoding}")
        return " · ".join(info)

    def _render_value(self) -> None:
        """Draw everything loaded in the shown format (first chunk, format change, or no longer text)."""
        shown = self.shown_format
        try:
            info_line = self.query_one("#string-info", Static)
            body = self.query_one("#string-body", Static)
        except NoMatches:
            return  # being removed: another key was opened
        self.query(".string-page").remove()
        info_line.update(self._info_text(shown))
        body.update(self._renderable(shown))
        self._paged_text = False
        if shown == "text" and not self.complete:
            text, carry = decode_piece(self.data, final=False)
            if text is not None:  # further chunks are appended page by page
                self._paged_text, self._carry = True, carry

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
