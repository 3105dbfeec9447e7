"""A hex editor for string values that are not text (or for any string, from the palette).

The value is edited as hex pairs in a text area (spaces and line breaks are free, so bytes can be
inserted and deleted anywhere); below it, a dump of what would be written (offsets, hex, ASCII)
follows every change, or says where the hex is wrong. Saving returns the exact bytes; the app
writes them with SET KEEPTTL, as its other editors do. A text field would show control bytes
escaped, and writing that text back would change them: here no byte is ever re-spelt.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static, TextArea

from redistui.formatting import printable
from redistui.screens.dialogs import SubmitDialog
from redistui.widgets.string_viewer import hex_dump, human_size

HEX_EDIT_LIMIT = 64 * 1024  # bytes the editor takes (a bigger value: the command line)
PER_LINE = 16


def hex_text(data: bytes, per_line: int = PER_LINE) -> str:
    """The bytes as lower-case hex pairs, ``per_line`` to a line: what the editor starts from."""
    return "\n".join(
        " ".join(f"{byte:02x}" for byte in data[start : start + per_line]) for start in range(0, len(data), per_line)
    )


def parse_hex(text: str) -> bytes:
    """The bytes written as hex: words of whole pairs (``ff``, ``00ff``) separated by any whitespace.

    Raises ValueError saying which word is wrong (an odd digit count would shift every later byte).
    """
    out = bytearray()
    for number, word in enumerate(text.split(), 1):
        if len(word) % 2:
            raise ValueError(f"word {number} ({word[:16]!r}) has an odd number of hex digits")
        try:
            out += bytes.fromhex(word)
        except ValueError:
            raise ValueError(f"word {number} ({word[:16]!r}) is not hex") from None
    return bytes(out)


class HexEditor(SubmitDialog[bytes]):
    """Edit bytes as hex; Ctrl+S (or OK) returns them, Escape returns None."""

    DEFAULT_CSS = """
    HexEditor { align: center middle; }
    HexEditor > Vertical {
        width: 90; height: auto; max-height: 95%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    HexEditor #hex-title { text-style: bold; }
    HexEditor #hex-help { color: $text-muted; margin-bottom: 1; width: 100%; }
    HexEditor #hex-input { height: 10; }
    HexEditor #hex-status { height: 1; margin-top: 1; color: $text-muted; }
    HexEditor #hex-status.-error { color: $error; text-style: bold; }
    HexEditor #hex-preview-scroll { height: 10; border: round $primary 50%; }
    """

    SUBMIT_LABEL = "Write"
    BINDINGS = [Binding("ctrl+s", "submit", SUBMIT_LABEL)]

    def __init__(self, title: str, data: bytes) -> None:
        super().__init__()
        self.title_text = title
        self.original = data
        self.value: bytes | None = data  # what the hex says now (None: it does not parse)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(printable(self.title_text)), id="hex-title")
            yield Label(
                "Hex pairs; spaces and line breaks anywhere (insert or delete bytes freely). "
                "Ctrl+S writes these exact bytes with SET (the TTL is kept), Esc cancels.",
                id="hex-help",
            )
            yield TextArea(hex_text(self.original), id="hex-input", soft_wrap=False, show_line_numbers=False)
            yield Static("", id="hex-status")
            with VerticalScroll(id="hex-preview-scroll"):
                yield Static("", id="hex-preview")
            yield from self.buttons()

    def on_mount(self) -> None:
        self._show(self.original)
        self.query_one("#hex-input", TextArea).focus()

    @on(TextArea.Changed, "#hex-input")
    def _edited(self, event: TextArea.Changed) -> None:
        try:
            self.value = parse_hex(event.text_area.text)
        except ValueError as error:
            self.value = None
            status = self.query_one("#hex-status", Static)
            status.update(Text(str(error)), layout=False)
            status.add_class("-error")
            return
        self._show(self.value)

    def _show(self, data: bytes) -> None:
        """The dump of ``data`` (offsets, hex, ASCII) and its size against the original's."""
        status = self.query_one("#hex-status", Static)
        status.remove_class("-error")
        change = len(data) - len(self.original)
        delta = f" ({change:+,} bytes)" if change else ""
        same = " · unchanged" if data == self.original else ""
        status.update(Text(f"{len(data):,} bytes, {human_size(len(data))}{delta}{same}"), layout=False)
        self.query_one("#hex-preview", Static).update(Text(hex_dump(data) or "(empty)"))

    def answer(self) -> bytes | None:
        if self.value is None:
            self.notify("The hex does not parse: see the line under it", severity="error")
        return self.value
