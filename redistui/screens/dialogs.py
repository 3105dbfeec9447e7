"""Modal dialogs: a yes/no confirmation and a small form, both returning their answer.

Use them from a worker with ``await app.push_screen_wait(...)``: `ConfirmDialog`
returns a bool, `FormDialog` a ``{field name: text}`` dict or None when cancelled.
`SubmitDialog` is the OK/Cancel part the form and the hex editor share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from redistui.formatting import printable

ResultT = TypeVar("ResultT")


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


class SubmitDialog(ModalScreen[ResultT | None], Generic[ResultT]):
    """A modal that submits with Ctrl+S or its OK button and cancels with Escape or Cancel.

    A subclass yields `buttons()` last in its layout and says in `answer()` what OK returns
    (None when the input cannot be submitted yet: the dialog then stays open).
    """

    DEFAULT_CSS = """
    SubmitDialog #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    SubmitDialog Button { margin-left: 1; }
    """

    SUBMIT_LABEL = "OK"  # the OK button's word; the Ctrl+S binding's description says the same

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", SUBMIT_LABEL),
    ]

    def buttons(self) -> ComposeResult:
        with Horizontal(id="buttons"):
            yield Button("Cancel", id="cancel")
            yield Button(f"{self.SUBMIT_LABEL} (ctrl+s)", id="ok", variant="primary")

    def answer(self) -> ResultT | None:
        raise NotImplementedError

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        answer = self.answer()
        if answer is not None:
            self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Field:
    """One form field: a one-line input, a multi-line text area, or a choice."""

    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    multiline: bool = False
    choices: tuple[str, ...] = ()


class FormDialog(SubmitDialog[dict[str, str]]):
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
    """

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
            yield from self.buttons()

    def answer(self) -> dict[str, str]:
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
