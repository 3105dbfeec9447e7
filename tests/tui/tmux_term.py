"""A real terminal for tests: one detached tmux session on a private tmux server.

Tests that must prove what reaches a terminal (titles, cleared screens, pastes,
hang-ups) drive the program here instead of through Textual's Pilot. Each
`Terminal` runs its own tmux server (``tmux -L <unique>``) and kills only that.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable

from tests.servers import require_tool


class Terminal:
    """``command`` running in a ``cols`` x ``rows`` tmux pane."""

    def __init__(
        self, command: str, *, cols: int = 120, rows: int = 40, env: dict[str, str] | None = None
    ) -> None:
        self.tmux = require_tool("tmux")  # `make test` installs it: missing means a failed test
        self.socket = f"redistui-test-{uuid.uuid4().hex[:12]}"
        self.session = "t"
        exports = " ".join(f"{k}={_quote(v)}" for k, v in (env or {}).items())
        self._tmux(
            "-f", "/dev/null", "new-session", "-d", "-s", self.session, "-x", str(cols), "-y", str(rows),
            f"unset COLUMNS LINES; {'export ' + exports + '; ' if exports else ''}{command}",
        )  # fmt: skip
        self._tmux("set-option", "-t", self.session, "remain-on-exit", "on")
        self._tmux("set-option", "-g", "set-titles", "on")

    def _tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, timeout=20)
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode(errors="replace")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def title(self) -> str:
        """The pane title: an OSC 0/2 sequence that reached the terminal would have changed it."""
        return self._tmux("display-message", "-p", "-t", self.session, "#{pane_title}").strip()

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())

    def dead(self) -> bool:
        return self._tmux("display-message", "-p", "-t", self.session, "#{pane_dead}").strip() == "1"

    def wait_for(self, predicate: str | Callable[[str], bool], timeout: float = 30.0) -> str:
        """The screen once ``predicate`` (text on screen, or a test of the screen) holds."""
        test = (lambda screen: predicate in screen) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {predicate!r}; the screen:\n{screen}")
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        """tmux key names (``Enter``, ``C-q``, ``F2``)."""
        self._tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.session, "-l", text)

    def paste(self, text: str, bracketed: bool = True) -> None:
        """Paste ``text`` as a terminal does (bracketed when the program asked for it)."""
        subprocess.run([self.tmux, "-L", self.socket, "load-buffer", "-"], input=text.encode(), check=True)
        self._tmux("paste-buffer", "-d", *(["-p"] if bracketed else []), "-t", self.session)

    def hang_up(self) -> None:
        """Close the terminal: tmux sends SIGHUP to the program, as a closed terminal window does."""
        self._tmux("kill-server", check=False)

    def close(self) -> None:
        self._tmux("kill-server", check=False)
        path = f"/tmp/tmux-{os.getuid()}/{self.socket}"
        if os.path.exists(path):
            os.unlink(path)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
