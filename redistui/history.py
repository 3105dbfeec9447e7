"""Command history shared by `redistui shell` and the TUI command line.

One file (prompt_toolkit's `FileHistory` format) under the user's data directory, or
`$REDISTUI_HISTORY`. Lines that carry a password — `AUTH ...`, `HELLO ... AUTH ...`,
`ACL SETUSER ... >pass`, `CONFIG SET requirepass/masterauth ...`, `MIGRATE ... AUTH` —
are never written, not even to the in-memory list.
"""

from __future__ import annotations

import os
from pathlib import Path

from prompt_toolkit.history import FileHistory

__all__ = ["SafeFileHistory", "default_history_path", "is_sensitive"]


def default_history_path() -> Path:
    """`$REDISTUI_HISTORY`, else `$XDG_DATA_HOME/redistui/history` (~/.local/share/...)."""
    explicit = os.environ.get("REDISTUI_HISTORY")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "redistui" / "history"


def is_sensitive(line: str) -> bool:
    """True when a command line contains a credential."""
    words = line.upper().split()
    if not words:
        return False
    head = words[0]
    if head == "AUTH":
        return True
    if head in ("HELLO", "MIGRATE") and ("AUTH" in words or "AUTH2" in words):
        return True
    if head == "ACL" and len(words) > 1 and words[1] == "SETUSER":
        return any(word.startswith((">", "#")) for word in line.split()[2:])
    if head == "CONFIG" and len(words) > 2 and words[1] == "SET":
        return any(word in ("REQUIREPASS", "MASTERAUTH", "MASTERUSER") for word in words[2:])
    return False


class SafeFileHistory(FileHistory):
    """A `FileHistory` that skips credential-bearing lines and consecutive duplicates."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        target = Path(path) if path is not None else default_history_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(str(target))
        self.path = target

    def append_string(self, string: str) -> None:
        if not string.strip() or is_sensitive(string):
            return
        recent = self.entries()
        if recent and recent[-1] == string:
            return
        super().append_string(string)

    def store_string(self, string: str) -> None:
        if is_sensitive(string):
            return
        super().store_string(string)

    def entries(self) -> list[str]:
        """All stored lines, oldest first (loads the file on first use)."""
        if not self._loaded:
            self._loaded_strings = list(self.load_history_strings())
            self._loaded = True
        return list(reversed(self._loaded_strings))
