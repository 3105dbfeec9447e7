"""Modal dialogs: a yes/no confirmation and a small form, both returning their answer.

Use them from a worker with ``await app.push_screen_wait(...)``: `ConfirmDialog`
returns a bool, `FormDialog` a ``{field name: text}`` dict or None when cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from redistui.formatting import printable


class ConfirmDialog(ModalScreen[bool]):
    """Ask before something destructive; Enter/y confirms, Escape/n cancels."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $error; background: $surface;
    }
    ConfirmDialog #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmDialog Button { margin-left: 1; }
    """

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Confirm"),
    ]

    def __init__(self, question: str, confirm_label: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(printable(self.question, newlines=True)))
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


@dataclass(frozen=True)
class Field:
    """One form field: a one-line input, a multi-line text area, or a choice."""

    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    multiline: bool = False
    choices: tuple[str, ...] = ()


class FormDialog(ModalScreen[dict[str, str] | None]):
    """A titled form; Ctrl+S or the OK button submits, Escape cancels."""

    DEFAULT_CSS = """
    FormDialog { align: center middle; }
    FormDialog > Vertical {
        width: 80; height: auto; max-height: 90%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    FormDialog #title { text-style: bold; margin-bottom: 1; }
    FormDialog Label { margin-top: 1; color: $text-muted; width: 100%; }
    FormDialog TextArea { height: 8; }
    FormDialog #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    FormDialog Button { margin-left: 1; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "OK"),
    ]

    def __init__(self, title: str, fields: list[Field]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(printable(self.title_text)), id="title")
            for field in self.fields:
                yield Label(Text(printable(field.label)))
                if field.choices:
                    yield Select(
                        [(choice, choice) for choice in field.choices],
                        value=field.value or field.choices[0],
                        allow_blank=False,
                        id=f"field-{field.name}",
                    )
                elif field.multiline:
                    yield TextArea(field.value, id=f"field-{field.name}", soft_wrap=True)
                else:
                    yield Input(field.value, placeholder=field.placeholder, id=f"field-{field.name}")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("OK (ctrl+s)", id="ok", variant="primary")

    def values(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}")
            if isinstance(widget, TextArea):
                result[field.name] = widget.text
            elif isinstance(widget, Select):
                result[field.name] = str(widget.value)
            else:
                assert isinstance(widget, Input)
                result[field.name] = widget.value
        return result

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)
